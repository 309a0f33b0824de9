"""Build and run one ``model_write.lua`` call: saves, updates and deletes of rows (of any
models) with their index deltas, write checks and relation changes, all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple

from ..calls import Call, call, send
from ..steps import drive
from .indexes import row_entries, unique_checks

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model

__all__ = ["Nested", "State", "Writer", "reply_text", "run_model", "run_sync"]

State = dict[str, bytes | None] | None
"""A row's believed indexed values: None = unknown, {} = the row does not exist."""


class Nested(NamedTuple):
    """A step that is a whole call of its own: a sync driver calls ``sync()`` (the sync
    function, looked up when it runs, so a subclass or a test may replace it), an asyncio
    driver awaits the steps ``steps()`` returns. No Redis work of its own: it costs the
    round trips of that call."""

    sync: Callable[[], Any]
    steps: Callable[[], Generator[Any, Any, Any]]


def reply_text(value: Any) -> str:
    """A script reply item as text. No Redis work."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class Writer:
    """Accumulates the KEYS and ARGV of one ``model_write.lua`` call (no round trip until
    ``run``)."""

    def __init__(self, database: Any) -> None:
        self.database = database
        self.keys: list[bytes] = []
        self._pos: dict[bytes, int] = {}
        self.args: list[Any] = []
        self.n_ops = 0
        self.ops: list[tuple[type[Model], bytes]] = []
        self.member_guards: list[tuple[bytes, list[bytes]]] = []
        self.srems: list[tuple[bytes, bytes]] = []
        self.drops: list[bytes] = []
        self.reply: Any = None  # the script's last reply ({1, key} when it allocated one)

    def pos(self, key: bytes) -> int:
        """The 1-based KEYS position of ``key`` (added on first use). No Redis work."""
        if key not in self._pos:
            self.keys.append(key)
            self._pos[key] = len(self.keys)
        return self._pos[key]

    def _op(
        self,
        model: type[Model],
        action: str,
        key: bytes,
        state: State,
        new_raw: dict[str, bytes | None] | None,
        seq: tuple[str, bytes, str] = ("", b"", ""),
        keep_containers: bool = False,
        hdel: tuple[str, ...] = (),
    ) -> None:
        self.n_ops += 1
        self.ops.append((model, key))
        seq_mode, seq_expected, seq_value = seq
        seq_pos = self.pos(model._make_key(model._primary_key, "_sequence")) if seq_mode else 0
        args: list[Any] = [
            action,
            self.pos(key),
            self.pos(model._make_key("all")),
            seq_pos,
            seq_mode,
            seq_expected,
            seq_value,
        ]
        exists = state is not None and bool(state)
        guard = state or {}
        args.append("1" if exists or action == "update" else "0")
        # A key the script allocates never holds a row: "must not exist" is the whole guard.
        guarded = () if seq_mode == "next" else model._indexed
        args.append(len(guarded))
        for name in guarded:
            value = guard.get(name)
            args.extend((name, "0" if value is None else "1", value if value is not None else ""))
        old = row_entries(model, guard, key) if exists else set()
        if action == "update":
            after = dict(guard)
            after.update(new_raw or {})
            for name in hdel:
                after[name] = None
            new = row_entries(model, after, key)
            checks: list[Any] = []
        else:
            new = row_entries(model, new_raw, key) if new_raw is not None else set()
            checks = unique_checks(model, new_raw) if new_raw is not None else []
        args.append(len(checks))
        for kind, ckeys, low, high, label in checks:
            if kind == "I":
                args.extend(
                    (
                        kind,
                        self.pos(ckeys[0]),
                        " ".join(str(self.pos(k)) for k in ckeys),
                        b"",
                        label,
                    )
                )
            else:
                args.extend((kind, self.pos(ckeys[0]), low, high, label))
        removed = sorted(old - new)
        args.append(len(removed))
        for kind, ekey, member, _score in removed:
            args.extend((kind, self.pos(ekey), member))
        added = sorted(new - old)
        args.append(len(added))
        for kind, ekey, member, score in added:
            args.extend((kind, self.pos(ekey), member, score))
        fields = [(n, v) for n, v in (new_raw or {}).items() if v is not None]
        args.append(len(fields))
        for name, value in fields:
            args.extend((name, value))
        args.append(len(hdel))
        args.extend(hdel)
        if seq_mode == "next":
            # Index scores are sent as text: restore the placeholder's exact bytes.
            placeholder = seq_expected.decode("ascii", "replace")
            args = [seq_expected if a == placeholder else a for a in args]
        containers = (
            [model._container_key(n, key) for n in model._containers]
            if action == "delete" and not keep_containers
            else []
        )
        args.append(len(containers))
        args.extend(self.pos(c) for c in containers)
        self.args.extend(args)

    def save_op(
        self,
        model: type[Model],
        key: bytes,
        raw: dict[str, bytes | None],
        state: State,
        seq_mode: str = "",
        seq_expected: bytes = b"",
        seq_value: str = "",
    ) -> None:
        """Replace the row ``key`` with the stored values ``raw`` (``state``: what the
        client believes is stored now). No Redis work until ``run``."""
        self._op(model, "save", key, state, raw, (seq_mode, seq_expected, seq_value))

    def update_op(
        self, model: type[Model], key: bytes, state: dict[str, bytes | None], hdel: tuple[str, ...]
    ) -> None:
        """Remove fields ``hdel`` of an existing row (and their index entries). No Redis work
        until ``run``."""
        self._op(model, "update", key, state, None, hdel=hdel)

    def delete_op(
        self, model: type[Model], key: bytes, state: State, keep_containers: bool = False
    ) -> None:
        """Delete the row ``key``, its index entries and (unless ``keep_containers``) its
        container fields. No Redis work until ``run``."""
        self._op(model, "delete", key, state, None, keep_containers=keep_containers)

    def guard_members(self, key: bytes, members: list[bytes]) -> None:
        """Refuse the whole write unless the (sorted) set ``key`` holds exactly ``members``.
        No Redis work until ``run``."""
        self.member_guards.append((key, members))

    def srem(self, key: bytes, member: bytes) -> None:
        """Remove ``member`` from the set ``key`` with the write. No Redis work until ``run``."""
        self.srems.append((key, member))

    def drop(self, key: bytes) -> None:
        """Delete ``key`` with the write. No Redis work until ``run``."""
        self.drops.append(key)

    def build(self, strict: bool = False) -> tuple[list[bytes], list[Any]]:
        """KEYS and ARGV of the call (``strict``: a refusal raises, for queued calls). No
        Redis work."""
        args: list[Any] = ["1" if strict else "0", self.n_ops, *self.args, len(self.member_guards)]
        for key, members in self.member_guards:
            args.extend((self.pos(key), len(members), *members))
        args.append(len(self.srems))
        for key, member in self.srems:
            args.extend((self.pos(key), member))
        args.append(len(self.drops))
        args.extend(self.pos(k) for k in self.drops)
        return self.keys, args

    def step(self, client: Any = None, queue: bool = False) -> Nested:
        """``run`` as one step of a model call (``Writer.run`` on a sync client). No Redis
        work until sent: then 1 round trip (one script call); none when queued."""
        return Nested(
            lambda: self.run(client=client, queue=queue),
            lambda: self.run_steps(client=client, queue=queue),
        )

    def run_steps(
        self, client: Any = None, queue: bool = False
    ) -> Generator[Call, Any, list[Any] | None]:
        """``run`` as steps (one ``run_script`` call; ``client`` is passed only when given,
        so the steps run on an asyncio client too). 1 round trip; none when queued."""
        keys, args = self.build(strict=queue)
        options = {} if client is None else {"client": client}
        reply = yield call.run_script("model_write", keys=keys, args=args, **options)
        self.reply = reply
        if queue:
            return None
        return None if int(reply[0]) == 1 else list(reply)

    def run(self, client: Any = None, queue: bool = False) -> list[Any] | None:
        """Run the script on ``client`` (default: the database): None when written, else
        the refusal reply (see the script). ``queue=True``: ``client`` is a pipeline that
        queues the call (strict mode: a refusal makes its ``execute`` raise); returns None.
        1 round trip (one script call); none when queued."""
        reply: list[Any] | None = run_sync(self.database, self.run_steps(client, queue))
        return reply


def run_sync(database: Any, steps: Generator[Any, Any, Any]) -> Any:
    """Run model steps on a sync ``database`` (``walrus.steps.drive`` with ``send``; a
    ``Nested`` step runs its sync call). Cost: one round trip per step sent."""
    return drive(steps, lambda step: _send(lambda: database, step))


def run_model(model: type[Model], steps: Generator[Any, Any, Any]) -> Any:
    """``run_sync`` on ``model``'s database, looked up as each step is sent (a missing
    ``__database__`` is reported after the input was checked). Cost: one round trip per
    step sent."""
    return drive(steps, lambda step: _send(model._db, step))


def _send(database: Callable[[], Any], step: Any) -> Any:
    if isinstance(step, Nested):
        return step.sync()
    return send(database(), step)
