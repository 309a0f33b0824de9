"""Client side of the ``limpyd_ops_*`` scripts (``core/limpyd/scripts``): writes, creations and
deletions of models whose index entries are computed in Python (range indexes, configured
indexes, HashField entries).

Each call is atomic (one script). Writes and deletions take two round trips: the first run
reports the entries the field holds before and after the command (and changes nothing); the
client computes the index operations and the second run applies everything, provided the
entries did not change in between (else it reports them again and the client retries).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .exceptions import DoesNotExist, LimpydException, UniquenessError
from .indexes import INDEX_CONTEXT
from .scripting import _unique_error, refusal

if TYPE_CHECKING:  # pragma: no cover
    from .fields.base import RedisField
    from .indexes import Op
    from .model import RedisModel

__all__ = ["create_instance_ops", "delete_instance_ops", "first_write", "index_ops", "write_ops"]

MAX_ATTEMPTS = 500


def index_ops(
    field: RedisField,
    pk: str,
    removed: Iterable[str],
    added: Iterable[str],
    context: dict[str, list[str]] | None = None,
) -> list[Op]:
    """The operations moving ``pk`` from the ``removed`` entries to the ``added`` ones in
    every index of ``field`` (unique checks first when the field is unique). ``context`` holds
    the entries of the other fields the indexes depend on (``field._context_fields()``).
    No Redis work."""
    token = INDEX_CONTEXT.set(context or {})
    try:
        return _index_ops(field, pk, list(removed), list(added))
    finally:
        INDEX_CONTEXT.reset(token)


def _index_ops(field: RedisField, pk: str, removed: list[str], added: list[str]) -> list[Op]:
    ops: list[Op] = []
    for index in field._indexes:
        for entry in removed:
            ops += index.unstore_ops(pk, *field._index_args(entry))
        # EqualIndexWith (and its related index): the combination of fields is unique
        if (field.unique and index.handle_uniqueness) or getattr(index, "unique_together", False):
            for entry in added:
                ops += index.unique_ops(pk, *field._index_args(entry))
        for entry in added:
            ops += index.store_ops(pk, *field._index_args(entry))
    return ops


def _encode_ops(ops: Sequence[Op], keys: list[str], base: int) -> list[Any]:
    """Flatten ``ops`` for a script; their keys are appended to ``keys`` (numbered from 1
    after the first ``base`` keys)."""
    positions: dict[str, int] = {}
    args: list[Any] = [len(ops)]
    for name, key, a, b in ops:
        if key not in positions:
            keys.append(key)
            positions[key] = len(keys) - base
        args += [name, positions[key], a, b]
    return args


def write_ops(field: RedisField, command: str, raw_args: Sequence[Any]) -> Any:
    """Run ``command`` on ``field`` of a saved instance with its index operations
    (``limpyd_ops_write``). Cost: 1 round trip per attempt of the script; an attempt is
    repeated when the stored entries differ from those expected (at most ``MAX_ATTEMPTS``)."""
    model, instance = field._model, field._instance
    assert model is not None and instance is not None
    collection = model._collection_key()
    context_fields = field._context_fields() if field.indexable else []
    expected: tuple[list[str], list[str], list[list[str]]] | None = None
    pk = instance.get_pk()
    for _ in range(MAX_ATTEMPTS):
        keys = [collection, field._key_for(pk)]
        keys += [other._key_for(pk) for other in context_fields]
        if not field.indexable:
            check: list[Any] = ["2", *_context_args(context_fields, None), 0, 0, 0]
        elif expected is None:
            check = ["0", *_context_args(context_fields, None), 0, 0, 0]
        else:
            before, after, context = expected
            ops = index_ops(
                field,
                pk,
                [e for e in before if e not in after],
                [e for e in after if e not in before],
                {f.name: entries for f, entries in zip(context_fields, context, strict=True)},
            )
            check = [
                "1",
                *_context_args(context_fields, context),
                len(before), *before, len(after), *after,
                *_encode_ops(ops, keys, 2 + len(context_fields)),
            ]  # fmt: skip
        hfield = field.name if field.kind == "hash" else ""
        args = [pk, field.kind, hfield, *check, command, *raw_args]
        reply = model.database.run_script("limpyd_ops_write", keys, args)
        if reply[0] == 1:
            return reply[1]
        reason = reply[1]
        if reason == "values":
            nb, na = int(reply[2]), int(reply[3])
            flat = list(reply[4:])
            before, after = flat[:nb], flat[nb : nb + na]
            expected = (before, after, _counted_lists(flat[nb + na :]))
        else:
            raise refusal(model, pk, reply)
    raise LimpydException(f"{command} on {field._what()}: gave up after {MAX_ATTEMPTS} attempts")


def _context_args(fields: list[RedisField], context: list[list[str]] | None) -> list[Any]:
    args: list[Any] = [len(fields)]
    for position, other in enumerate(fields):
        entries = [] if context is None else context[position]
        args += [other.kind, other.name if other.kind == "hash" else "", len(entries), *entries]
    return args


def create_instance_ops(
    model: type[RedisModel],
    pk: str | None,
    hash_items: Sequence[tuple[str, str]],
    standalone: Sequence[tuple[RedisField, list[str]]],
    indexed: Sequence[tuple[RedisField, list[str]]],
) -> str:
    """Create an instance (``limpyd_ops_create``); ``indexed`` lists each indexable field
    with the entries it is created with. One round trip (+1 per counter move)."""
    collection = model._collection_key()
    for _ in range(MAX_ATTEMPTS):
        if pk is None:
            counter_value = model._max_pk_hint
            new_pk, mode, counter = str(int(counter_value or 0) + 1), "auto", model._max_pk_key()
        else:
            counter_value, new_pk, mode, counter = "", pk, "given", collection
        ops: list[Op] = []
        context = {field.name: entries for field, entries in indexed}
        for field, entries in indexed:
            ops += index_ops(field, new_pk, [], entries, context)
        keys = [collection, counter, model._hash_key(new_pk)]
        keys += [field._key_for(new_pk) for field, _ in standalone]
        args: list[Any] = [mode, new_pk, counter_value, len(standalone), len(hash_items)]
        for name, value in hash_items:
            args += [name, value]
        for field, items in standalone:
            args += [field.kind, len(items), *items]
        args += _encode_ops(ops, keys, 3 + len(standalone))
        reply = model.database.run_script("limpyd_ops_create", keys, args)
        if reply[0] == 1:
            if mode == "auto":
                model._max_pk_hint = new_pk
            return str(reply[1])
        if reply[1] == "retry":
            model._max_pk_hint = reply[2] or ""
            continue
        if reply[1] == "pk":
            raise UniquenessError(f"PKField {new_pk} already exists for model {model.__name__}")
        raise _unique_error(reply[2], reply[3])
    raise LimpydException(f"creating a {model.__name__}: gave up after {MAX_ATTEMPTS} attempts")


def first_write(
    instance: RedisModel,
    field: RedisField,
    hash_items: Sequence[tuple[str, str]],
    standalone: Sequence[tuple[RedisField, list[str]]],
    command: str,
    raw_args: Sequence[Any],
) -> Any:
    """The first write of an unsaved auto-pk ``instance`` (script ``limpyd_first_write``): the
    instance is created with ``hash_items`` and ``standalone`` (its defaults, laid out as for
    a creation), ``command`` runs on ``field``, and every indexable field gets the index
    entries and unique checks of a creation with the resulting values, all in one script; a
    refusal writes nothing. Returns the raw reply of the command.

    Cost: 1 round trip (+1 per auto-pk counter move); 2 when the model's index entries are
    computed by the client (range or configured indexes, HashField) and the written field is
    indexed or one an index depends on (the first run reports the resulting entries).
    """
    model = type(instance)
    plain = not model._uses_ops()
    indexed = [f for f in model._redis_fields.values() if f.indexable and f.kind != "pk"]
    layout = _first_write_layout(field, hash_items, standalone, indexed, plain)
    expected: list[list[str]] | None = None
    if not plain and not _changes_entries(field, indexed):
        # the command cannot change an indexed entry: they are the defaults' (checked there)
        defaults = {name: [value] for name, value in hash_items}
        defaults.update((declared.name, items) for declared, items in standalone)
        expected = [f._creation_entries(defaults.get(f.name, [])) for f in indexed]
    collection, counter = model._collection_key(), model._max_pk_key()
    for _ in range(MAX_ATTEMPTS):
        counter_value = model._max_pk_hint
        pk = str(int(counter_value or 0) + 1)
        keys = [collection, counter, model._hash_key(pk)]
        keys += [declared._key_for(pk) for declared, _ in standalone]
        if plain:
            mode: list[Any] = ["plain"]
        elif expected is None:
            mode = ["report"]
        else:
            mode = _first_write_check(pk, indexed, expected, keys, 3 + len(standalone))
        args = [pk, counter_value, *layout, *mode]
        reply = model.database.run_script("limpyd_first_write", keys, [*args, command, *raw_args])
        if reply[0] == 1:
            model._max_pk_hint = pk
            instance._set_created_pk(pk)
            return reply[1]
        reason = reply[1]
        if reason == "values":
            expected = _counted_lists(list(reply[2:]))
        elif reason == "retry":
            model._max_pk_hint = reply[2] or ""
        else:
            raise refusal(model, pk, reply)
    raise LimpydException(f"{command} on {field._what()}: gave up after {MAX_ATTEMPTS} attempts")


def _first_write_layout(
    field: RedisField,
    hash_items: Sequence[tuple[str, str]],
    standalone: Sequence[tuple[RedisField, list[str]]],
    indexed: list[RedisField],
    plain: bool,
) -> list[Any]:
    """The arguments of ``limpyd_first_write`` from its third on, up to the mode: the default
    values, the written field's position, the indexable fields."""
    positions = {declared.name: i for i, (declared, _) in enumerate(standalone, 1)}
    args: list[Any] = [len(standalone), len(hash_items)]
    for name, value in hash_items:
        args += [name, value]
    for declared, items in standalone:
        args += [declared.kind, len(items), *items]
    args += [positions.get(field.name, 0), field.name if field.kind == "hash" else ""]
    args.append(len(indexed))
    for declared in indexed:
        args += [
            positions.get(declared.name, 0),
            declared.kind,
            declared.name if declared.kind == "hash" else "",
            declared.index_prefix if plain else "",
            "1" if declared.unique else "0",
        ]
    return args


def _first_write_check(
    pk: str, indexed: list[RedisField], expected: list[list[str]], keys: list[str], base: int
) -> list[Any]:
    """The "check" mode of ``limpyd_first_write``: the ``expected`` entries of the ``indexed``
    fields and the index operations of a creation holding them (their keys are appended to
    ``keys``)."""
    context = {f.name: entries for f, entries in zip(indexed, expected, strict=True)}
    ops: list[Op] = []
    args: list[Any] = ["check"]
    for declared, entries in zip(indexed, expected, strict=True):
        args += [len(entries), *entries]
        ops += index_ops(declared, pk, [], entries, context)
    return args + _encode_ops(ops, keys, base)


def _changes_entries(field: RedisField, indexed: list[RedisField]) -> bool:
    """True when a write to ``field`` can change what an index of the model stores: the field
    is indexed, or an index of another field depends on it."""
    return any(
        declared.name == field.name
        or any(other.name == field.name for other in declared._context_fields())
        for declared in indexed
    )


def delete_instance_ops(instance: RedisModel) -> None:
    """Delete an instance and its index entries (``limpyd_ops_delete``): two round trips."""
    model = type(instance)
    pk = instance.get_pk()
    standalone = model._standalone_fields()
    sources: list[tuple[RedisField, int]] = []
    for position, field in enumerate(standalone, 1):
        if field.indexable:
            sources.append((field, position))
    for field in model._hash_fields():
        if field.indexable:
            sources.append((field, 0))
    head: list[Any] = [pk, len(standalone)]
    described: list[Any] = [len(sources)]
    for field, position in sources:
        described += [position, field.kind, field.name if field.kind == "hash" else ""]
    expected: list[list[str]] | None = None
    for _ in range(MAX_ATTEMPTS):
        keys = [model._collection_key(), model._hash_key(pk)]
        keys += [field._key_for(pk) for field in standalone]
        if expected is None:
            args = [*head, "0", *described]
        else:
            check: list[Any] = []
            ops: list[Op] = []
            context = {
                field.name: entries for (field, _), entries in zip(sources, expected, strict=True)
            }
            for (field, _), entries in zip(sources, expected, strict=True):
                check += [len(entries), *entries]
                ops += index_ops(field, pk, entries, [], context)
            args = [*head, "1", *described, *check, *_encode_ops(ops, keys, 2 + len(standalone))]
        reply = model.database.run_script("limpyd_ops_delete", keys, args)
        if reply[0] == 1:
            return
        if reply[1] == "missing":
            raise DoesNotExist(f"No {model.__name__} found with pk {pk}")
        expected = _counted_lists(list(reply[2:]))
    raise LimpydException(f"deleting a {model.__name__}: gave up after {MAX_ATTEMPTS} attempts")


def _counted_lists(flat: list[Any]) -> list[list[Any]]:
    """Split a script's "values" reply (a count, then that many entries, repeated) into the
    lists it holds. No Redis work."""
    lists: list[list[Any]] = []
    while flat:
        count = int(flat[0])
        lists.append(flat[1 : 1 + count])
        flat = flat[1 + count :]
    return lists
