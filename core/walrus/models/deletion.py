"""Deleting rows atomically, following relations (``on_delete``).

Rows without relations are deleted by one guarded ``model_write.lua`` call (retried with
the state the script reports when the client's view was stale). When a model is the target
of a foreign key or takes part in a many-to-many relation, the delete is planned first:
one pipelined read per level of the relation graph (the rows to delete or update, the
referring rows, the links), then one script applies every delete, ``set_null`` update and
unlink, guarded on everything that was read (the referring rows and links included, so a
row created meanwhile cannot be left dangling). A ``protect`` rule with referring rows
raises ``ProtectedError`` before anything is written.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, cast

from ..calls import Batch, Call, call
from .errors import ModelError, PipelineError, ProtectedError, WriteConflictError
from .fields import ABSOLUTE
from .relations import ForeignKeyField, ManyToManyField
from .writer import State, Writer, reply_text, run_model

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model

__all__ = [
    "check_deletable",
    "check_deletable_steps",
    "delete_rows_steps",
    "has_relations",
    "state_from_reply",
]

MAX_ATTEMPTS = 100
Steps = Generator[Any, Any, Any]


def has_relations(model: type[Model]) -> bool:
    """Whether deleting a row of ``model`` must look at other rows. No Redis work."""
    return bool(model._reverse) or any(
        isinstance(model._fields[n], ManyToManyField) for n in model._containers
    )


def state_from_reply(model: type[Model], reply: list[Any]) -> dict[str, bytes | None]:
    """The guarded values a refused ``model_write`` reported (after exists). No Redis
    work."""
    values = reply[4:]
    return {
        name: (None if v is None else bytes(v))
        for name, v in zip(model._indexed, values, strict=False)
    }


def delete_rows_steps(
    model: type[Model],
    states: dict[bytes, State],
    keep_containers: bool = False,
    pipeline: Any = None,
    queue: bool = False,
    exempt: frozenset[bytes] = frozenset(),
) -> Steps:
    """Delete rows (row key -> believed indexed values, None when unknown) with their index
    entries, containers and relations, as steps (``walrus.steps``) for either client.
    Returns how many existed (with ``queue``, how many were believed to exist), counting
    rows of ``exempt`` that a cascade deleted.

    Cost: without relations, 1 round trip (one script call; 1 more per retry when a row
    changed or its state was unknown), none with ``queue`` (the call waits in ``pipeline``);
    with relations, 1 round trip per level of the relation graph plus 1 for the script,
    all repeated when something read changed before the script ran.

    ``exempt``: rows about to be deleted by a later call (``query_delete`` batches): they
    do not protect a row (``on_delete="protect"``) deleted now."""
    if not has_relations(model):
        return (yield from _delete_plain(model, states, keep_containers, pipeline, queue))
    if queue:
        raise PipelineError(
            f"deleting a {model.__name__} follows its relations, which needs reads first: "
            "delete it outside the pipeline"
        )
    for _ in range(MAX_ATTEMPTS):
        planner = _Planner(model, list(states), keep_containers, exempt)
        writer, existed = yield from planner.run(list(states))
        reply = yield writer.step(client=pipeline)
        if reply is None:
            return existed
        if reply_text(reply[2]) not in ("state", "members"):
            raise ModelError(f"unexpected reply from model_write: {reply!r}")
    raise WriteConflictError(f"{model.__name__} rows kept changing during {MAX_ATTEMPTS} attempts")


def _delete_plain(
    model: type[Model],
    states: dict[bytes, State],
    keep_containers: bool,
    pipeline: Any,
    queue: bool,
) -> Steps:
    states = dict(states)
    if queue:
        unknown = [key for key, state in states.items() if state is None]
        if unknown:
            raise PipelineError(
                f"the stored state of {model.__name__} row {unknown[0]!r} is unknown (it was "
                "not loaded or saved by this instance): load it before deleting it in a pipeline"
            )
    for _ in range(MAX_ATTEMPTS):
        writer = Writer(model._db())
        order = list(states)
        for key in order:
            writer.delete_op(model, key, states[key], keep_containers)
        reply = yield writer.step(client=pipeline, queue=queue)
        if reply is None:
            return sum(1 for s in states.values() if s)
        if reply_text(reply[2]) != "state":
            raise ModelError(f"unexpected reply from model_write: {reply!r}")
        key = order[int(reply[1]) - 1]
        states[key] = state_from_reply(model, reply) if int(reply[3]) else {}
    raise WriteConflictError(f"{model.__name__} rows kept changing during {MAX_ATTEMPTS} attempts")


def _pk_raw(model: type[Model], key: bytes) -> bytes:
    return key[len(model._make_key("id", b"")) :]


def check_deletable(model: type[Model], keys: list[bytes]) -> None:
    """Raise ProtectedError, writing nothing, when deleting all these rows together would
    be refused by an ``on_delete="protect"`` rule (rows among ``keys`` do not protect each
    other). 1 round trip (a pipelined read) per level of the relation graph; no Redis work
    when ``model`` takes part in no relation or ``keys`` is empty."""
    run_model(model, check_deletable_steps(model, keys))


def check_deletable_steps(model: type[Model], keys: list[bytes]) -> Steps:
    """``check_deletable`` as steps, for either client. Cost: that of ``check_deletable``."""
    if has_relations(model) and keys:
        yield from _Planner(model, keys, False, frozenset()).run(keys)


# A row the plan reaches: (model, row key, the foreign key field to clear; "" = delete it).
_Row = tuple["type[Model]", bytes, str]
_Relation = ForeignKeyField | ManyToManyField
# A set read for a deleted row: (relation, set key, its members, sorted).
_Links = tuple[_Relation, bytes, list[bytes]]


def _source(rel: _Relation) -> type[Model]:
    """The model declaring ``rel`` (bound by ModelMeta before any row can be deleted)."""
    return cast("type[Model]", rel.model)


def _referring_set(model: type[Model], key: bytes, rel: _Relation) -> bytes:
    """The set of rows referring to row ``key`` through ``rel``: the foreign key's equality
    set of this row's primary key, or the many-to-many reverse set of this row."""
    if isinstance(rel, ForeignKeyField):
        return _source(rel)._make_key(rel.name, ABSOLUTE, rel.index_value(_pk_raw(model, key)))
    return model._container_key(rel.reverse_name, key)


def _row_state(model: type[Model], values: list[Any]) -> dict[str, bytes | None]:
    """The indexed values of an existing row from its HMGET reply."""
    return dict(zip(model._indexed, (None if v is None else bytes(v) for v in values), strict=True))


def _is_own_links(rel: _Relation, model: type[Model], key: bytes, set_key: bytes) -> bool:
    """Whether ``set_key`` is row ``key``'s own links of its many-to-many field ``rel``."""
    return (
        isinstance(rel, ManyToManyField)
        and rel.model is model
        and set_key == model._container_key(rel.name, key)
    )


def _refuse_protected(
    model: type[Model], key: bytes, rel: _Relation, others: list[bytes], exempt: frozenset[bytes]
) -> None:
    """ProtectedError when ``rel`` protects row ``key`` and rows outside the delete refer
    to it (rows of ``exempt`` are deleted by a later call: they do not protect it)."""
    protecting = [m for m in others if m not in exempt]
    if rel.on_delete == "protect" and protecting:
        source = _source(rel).__name__
        raise ProtectedError(
            f"cannot delete {model.__name__} {key!r}: {len(protecting)} {source} row(s) "
            f"refer to it through {source}.{rel.name} (on_delete='protect')",
            [(source, rel.name, m) for m in protecting],
        )


class _Planner:
    """One delete plan: walks the relation graph a level at a time (one pipelined read per
    level) and collects the deletes, ``set_null`` updates, unlinks and guards of the write."""

    def __init__(
        self,
        root: type[Model],
        keys: list[bytes],
        keep_containers: bool,
        exempt: frozenset[bytes],
    ) -> None:
        self.root = root
        self.db = root._db()
        self.writer = Writer(self.db)
        self.keep_containers = keep_containers
        self.exempt = exempt
        self.roots = set(keys)
        self.queued: set[bytes] = set(keys)  # rows already on their way to deletion
        self.deleting: dict[bytes, tuple[type[Model], dict[str, bytes | None]]] = {}
        self.updating: dict[bytes, tuple[type[Model], dict[str, bytes | None], set[str]]] = {}
        self.existed = 0

    def run(self, keys: list[bytes]) -> Generator[Batch, Any, tuple[Writer, int]]:
        """The guarded write deleting ``keys`` with everything their relations reach, and
        how many of them existed, as steps. 1 round trip per level of the relation graph."""
        frontier: list[_Row] = [(self.root, key, "") for key in keys]
        while frontier:
            frontier = yield from self._level(frontier)
        self._add_operations()
        return self.writer, self.existed

    def _level(self, frontier: list[_Row]) -> Generator[Batch, Any, list[_Row]]:
        """Read the rows of one level (one pipeline) and plan them; the next level's rows."""
        calls: list[Call] = []
        reads = [self._queue_reads(calls, model, key, clear) for model, key, clear in frontier]
        replies = iter((yield Batch(calls, transaction=False)))
        following: list[_Row] = []
        for (model, key, clear), sets in zip(frontier, reads, strict=True):
            exists = bool(next(replies))
            values = next(replies)
            state = _row_state(model, values) if exists else {}
            if clear:
                self._clear_field(model, key, clear, exists, state)
                continue
            links = [
                (rel, set_key, sorted(bytes(m) for m in next(replies))) for rel, set_key in sets
            ]
            following.extend(self._delete_row(model, key, exists, state, links))
        return following

    def _queue_reads(
        self, calls: list[Call], model: type[Model], key: bytes, clear: str
    ) -> list[tuple[_Relation, bytes]]:
        """Queue the reads of one row: whether it exists and its indexed values, and for a
        row to delete the sets of rows referring to it and its own many-to-many links."""
        calls.append(call.exists(key))
        calls.append(call.hmget(key, list(model._indexed)))
        if clear:
            return []
        sets: list[tuple[_Relation, bytes]] = [
            (rel, _referring_set(model, key, rel)) for rel in model._reverse
        ]
        if not (self.keep_containers and key in self.roots):
            for name in model._containers:
                field = model._fields[name]
                if isinstance(field, ManyToManyField):
                    sets.append((field, model._container_key(name, key)))
        calls.extend(call.smembers(set_key) for _rel, set_key in sets)
        return sets

    def _clear_field(
        self,
        model: type[Model],
        key: bytes,
        name: str,
        exists: bool,
        state: dict[str, bytes | None],
    ) -> None:
        """Plan clearing foreign key ``name`` of a referring row (``set_null``)."""
        if exists and key not in self.deleting:
            entry = self.updating.setdefault(key, (model, state, set()))
            entry[2].add(name)

    def _delete_row(
        self,
        model: type[Model],
        key: bytes,
        exists: bool,
        state: dict[str, bytes | None],
        links: list[_Links],
    ) -> list[_Row]:
        """Plan deleting one row, guarded on every set read for it; the rows it leads to."""
        self.deleting[key] = (model, state)
        if exists and (key in self.roots or (key in self.exempt and model is self.root)):
            self.existed += 1
        following: list[_Row] = []
        for rel, set_key, members in links:
            self.writer.guard_members(set_key, members)
            if _is_own_links(rel, model, key, set_key):
                # This row's own links: unlink it from each related row's reverse set.
                for member in members:
                    self.writer.srem(rel.rel_model._container_key(rel.reverse_name, member), key)
                continue
            following.extend(self._follow(model, key, rel, set_key, members))
        return following

    def _follow(
        self, model: type[Model], key: bytes, rel: _Relation, set_key: bytes, members: list[bytes]
    ) -> list[_Row]:
        """Apply ``rel.on_delete`` to the rows referring to row ``key``: refuse (protect),
        unlink (many-to-many), or the rows to delete (cascade) or to clear (set_null)."""
        others = [m for m in members if m not in self.queued]
        _refuse_protected(model, key, rel, others, self.exempt)
        if isinstance(rel, ManyToManyField):
            for member in members:
                self.writer.srem(_source(rel)._container_key(rel.name, member), key)
            self.writer.drop(set_key)
            return []
        if rel.on_delete == "cascade":
            self.queued.update(others)
            return [(_source(rel), member, "") for member in others]
        return [(_source(rel), member, rel.name) for member in others]  # set_null

    def _add_operations(self) -> None:
        """Add the planned deletes, then the updates of rows that are not deleted."""
        for key, (model, state) in self.deleting.items():
            self.writer.delete_op(model, key, state, self.keep_containers and key in self.roots)
        for key, (model, state, names) in self.updating.items():
            if key not in self.deleting:
                self.writer.update_op(model, key, state, tuple(sorted(names)))
