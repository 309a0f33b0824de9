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

from typing import TYPE_CHECKING, Any

from .errors import ModelError, PipelineError, ProtectedError, WriteConflictError
from .fields import ABSOLUTE
from .relations import ForeignKeyField, ManyToManyField
from .writer import State, Writer, reply_text

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model

__all__ = ["check_deletable", "delete_rows", "has_relations", "state_from_reply"]

MAX_ATTEMPTS = 100


def has_relations(model: type[Model]) -> bool:
    """Whether deleting a row of ``model`` must look at other rows."""
    return bool(model._reverse) or any(
        isinstance(model._fields[n], ManyToManyField) for n in model._containers
    )


def state_from_reply(model: type[Model], reply: list[Any]) -> dict[str, bytes | None]:
    """The guarded values a refused ``model_write`` reported (after exists)."""
    values = reply[4:]
    return {
        name: (None if v is None else bytes(v))
        for name, v in zip(model._indexed, values, strict=False)
    }


def delete_rows(
    model: type[Model],
    states: dict[bytes, State],
    keep_containers: bool = False,
    pipeline: Any = None,
    queue: bool = False,
    exempt: frozenset[bytes] = frozenset(),
) -> int:
    """Delete rows (row key -> believed indexed values, None when unknown) with their index
    entries, containers and relations. Returns how many existed (with ``queue``, how many
    were believed to exist), counting rows of ``exempt`` that a cascade deleted. See the
    module docstring for the cost.

    ``exempt``: rows about to be deleted by a later call (``query_delete`` batches): they
    do not protect a row (``on_delete="protect"``) deleted now."""
    if not has_relations(model):
        return _delete_plain(model, states, keep_containers, pipeline, queue)
    if queue:
        raise PipelineError(
            f"deleting a {model.__name__} follows its relations, which needs reads first: "
            "delete it outside the pipeline"
        )
    for _ in range(MAX_ATTEMPTS):
        writer, existed = _plan(model, list(states), keep_containers, exempt)
        reply = writer.run(client=pipeline)
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
) -> int:
    states = dict(states)
    if queue:
        unknown = [key for key, state in states.items() if state is None]
        if unknown:
            raise PipelineError(
                f"the stored state of {model.__name__} row {unknown[0]!r} is unknown (it was not loaded "
                "or saved by this instance): load it before deleting it in a pipeline"
            )
    for _ in range(MAX_ATTEMPTS):
        writer = Writer(model._db())
        order = list(states)
        for key in order:
            writer.delete_op(model, key, states[key], keep_containers)
        reply = writer.run(client=pipeline, queue=queue)
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
    other). One pipelined read per level of the relation graph; nothing when ``model``
    takes part in no relation."""
    if has_relations(model) and keys:
        _plan(model, keys, False)


def _plan(
    root: type[Model],
    keys: list[bytes],
    keep_containers: bool,
    exempt: frozenset[bytes] = frozenset(),
) -> tuple[Writer, int]:
    db = root._db()
    writer = Writer(db)
    deleting: dict[bytes, tuple[type[Model], dict[str, bytes | None]]] = {}
    updating: dict[bytes, tuple[type[Model], dict[str, bytes | None], set[str]]] = {}
    queued: set[bytes] = set(keys)
    frontier: list[tuple[type[Model], bytes, str]] = [(root, key, "") for key in keys]
    roots = set(keys)
    existed = 0
    while frontier:
        pipe = db.pipeline(transaction=False)
        handlers: list[Any] = []
        for model, key, clear in frontier:
            pipe.exists(key)
            pipe.hmget(key, list(model._indexed))
            if clear:
                handlers.append((model, key, clear, []))
                continue
            reads: list[tuple[Any, bytes]] = []
            for rel in model._reverse:
                if isinstance(rel, ForeignKeyField):
                    source: type[Model] = rel.model  # type: ignore[assignment]
                    rkey = source._make_key(
                        rel.name, ABSOLUTE, rel.index_value(_pk_raw(model, key))
                    )
                else:
                    rkey = model._container_key(rel.reverse_name, key)  # type: ignore[attr-defined]
                reads.append((rel, rkey))
                pipe.smembers(rkey)
            if not (keep_containers and key in roots):
                for name in model._containers:
                    field = model._fields[name]
                    if isinstance(field, ManyToManyField):
                        fkey = model._container_key(name, key)
                        reads.append((field, fkey))
                        pipe.smembers(fkey)
            handlers.append((model, key, clear, reads))
        replies = iter(pipe.execute())
        following: list[tuple[type[Model], bytes, str]] = []
        for model, key, clear, reads in handlers:
            exists = bool(next(replies))
            values = next(replies)
            state = (
                dict(
                    zip(
                        model._indexed,
                        (None if v is None else bytes(v) for v in values),
                        strict=True,
                    )
                )
                if exists
                else {}
            )
            if clear:
                if exists and key not in deleting:
                    entry = updating.setdefault(key, (model, state, set()))
                    entry[2].add(clear)
                for _ in reads:
                    next(replies)
                continue
            deleting[key] = (model, state)
            if exists and (key in roots or (key in exempt and model is root)):
                existed += 1
            for rel, rkey in reads:
                members = sorted(bytes(m) for m in next(replies))
                writer.guard_members(rkey, members)
                if (
                    isinstance(rel, ManyToManyField)
                    and rel.model is model
                    and rkey == model._container_key(rel.name, key)
                ):
                    # This row's own links: unlink it from each related row's reverse set.
                    for member in members:
                        writer.srem(rel.rel_model._container_key(rel.reverse_name, member), key)
                    continue
                others = [m for m in members if m not in queued]
                protecting = [m for m in others if m not in exempt]
                if rel.on_delete == "protect" and protecting:
                    source_model: type[Model] = rel.model
                    raise ProtectedError(
                        f"cannot delete {model.__name__} {key!r}: {len(protecting)} {source_model.__name__} row(s) "
                        f"refer to it through {source_model.__name__}.{rel.name} (on_delete='protect')",
                        [(source_model.__name__, rel.name, m) for m in protecting],
                    )
                if isinstance(rel, ManyToManyField):
                    for member in members:
                        writer.srem(rel.model._container_key(rel.name, member), key)  # type: ignore[union-attr]
                    writer.drop(rkey)
                elif rel.on_delete == "cascade":
                    for member in others:
                        queued.add(member)
                        following.append((rel.model, member, ""))  # type: ignore[arg-type]
                else:  # set_null
                    for member in others:
                        following.append((rel.model, member, rel.name))  # type: ignore[arg-type]
        frontier = following
    for key, (model, state) in deleting.items():
        writer.delete_op(model, key, state, keep_containers and key in roots)
    for key, (model, state, names) in updating.items():
        if key not in deleting:
            writer.update_op(model, key, state, tuple(sorted(names)))
    return writer, existed
