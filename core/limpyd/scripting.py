"""Client side of limpyd's Lua scripts (``core/walrus/scripts/limpyd_*.lua``).

Each public function is one atomic operation and one round trip (plus one per auto-pk counter
move). The index sets a write touches depend on values only the server knows (the stored value
before an update, the result of INCR or SPOP), so the scripts build those key names themselves
from the index prefix; on a cluster they share the model's hash tag, hence its slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from .exceptions import DoesNotExist, LimpydException, UniquenessError

if TYPE_CHECKING:  # pragma: no cover
    from .fields.base import RedisField
    from .model import RedisModel

__all__ = ["MAX_ATTEMPTS", "create_instance", "delete_instance", "hmset", "refusal", "write_field"]

# Optimistic retries (the auto-pk counter moved) before giving up.
MAX_ATTEMPTS = 500
"""How many times an optimistic write is retried (the auto-pk counter moved) before it gives
up."""


def _unique_error(index_key: str, other_pk: str) -> UniquenessError:
    return UniquenessError(f"Key {index_key} already exists (for instance {other_pk})")


def refusal(model: Any, pk: Any, reply: Sequence[Any]) -> Exception:
    """The error of a write script's refusal ``reply`` (``[0, reason, ...]``) for reasons
    ``missing``, ``pk`` and ``unique``; a ResponseError carrying any other reason's text.
    No Redis work."""
    reason = reply[1]
    if reason == "missing":
        return DoesNotExist(f"No {model.__name__} found with pk {pk}")
    if reason == "pk":
        return UniquenessError(f"PKField {pk} already exists for model {model.__name__}")
    if reason == "unique":
        return _unique_error(reply[2], reply[3])
    return ResponseError(reply[2])


def _contention(what: str) -> LimpydException:
    return LimpydException(f"{what}: gave up after {MAX_ATTEMPTS} attempts (concurrent changes)")


def _next_auto_pk(model: type[RedisModel]) -> tuple[str, str]:
    expected = model._max_pk_hint
    return expected, str(int(expected or 0) + 1)


def create_instance(
    model: type[RedisModel],
    pk: str | None,
    hash_items: Sequence[tuple[str, str]],
    standalone: Sequence[tuple[RedisField, list[str]]],
    index_entries: Sequence[tuple[str, bool]],
) -> str:
    """Create one instance (script ``limpyd_create``): one round trip, plus one per counter move.

    ``pk`` None means auto-increment. ``standalone`` lists every standalone field of the model
    with the items to store (possibly none). Returns the pk; raises ``UniquenessError`` with
    nothing written when the pk or a unique value is taken.
    """
    collection = model._collection_key()
    for _ in range(MAX_ATTEMPTS):
        if pk is None:
            expected, new_pk = _next_auto_pk(model)
            mode, counter = "auto", model._max_pk_key()
        else:
            expected, new_pk, mode, counter = "", pk, "given", collection
        keys = [collection, counter, model._hash_key(new_pk)]
        keys += [field._key_for(new_pk) for field, _ in standalone]
        keys += [key for key, _ in index_entries]
        args: list[Any] = [mode, new_pk, expected, len(standalone), len(hash_items)]
        for name, value in hash_items:
            args += [name, value]
        for field, items in standalone:
            args += [field.kind, len(items), *items]
        args += ["1" if unique else "0" for _, unique in index_entries]
        reply = model.database.run_script("limpyd_create", keys, args)
        if reply[0] == 1:
            if mode == "auto":
                model._max_pk_hint = new_pk
            return str(reply[1])
        reason = reply[1]
        if reason == "retry":
            model._max_pk_hint = reply[2] or ""
            continue
        if reason == "pk":
            raise UniquenessError(f"PKField {new_pk} already exists for model {model.__name__}")
        raise _unique_error(reply[2], reply[3])
    raise _contention(f"creating a {model.__name__}")


def write_field(field: RedisField, command: str, raw_args: Sequence[Any]) -> Any:
    """Run ``command`` on one field of a saved instance with its index sets kept consistent
    (``limpyd_write``; ``limpyd_write_plain`` for a field without index).

    Returns the raw reply of the command. 1 round trip. (The first write of an unsaved
    instance is :func:`limpyd.ops.first_write`.)
    """
    model, instance = field._model, field._instance
    assert model is not None and instance is not None
    pk = instance.get_pk()
    collection = model._collection_key()
    hfield = field.name if field.kind == "hash" else ""
    if not field.indexable:
        # the commonest write, on a field without index: limpyd_write_plain, which takes 3
        # arguments besides the command's where limpyd_write takes 6 (each costs on both ends)
        keys = [collection, field._key_for(pk)]
        reply = model.database.run_script(
            "limpyd_write_plain", keys, [pk, hfield, command, *raw_args]
        )
    else:
        keys = [collection, field._key_for(pk)]
        args = [pk, field.kind, hfield, field.index_prefix, "1" if field.unique else "0"]
        reply = model.database.run_script("limpyd_write", keys, [*args, command, *raw_args])
    if reply[0] != 1:
        raise refusal(model, pk, reply)
    return reply[1]


def hmset(instance: RedisModel, values: dict[str, str]) -> None:
    """Set several hash fields of an existing instance at once (``limpyd_hmset``). 1 round
    trip."""
    model = type(instance)
    pk = instance.get_pk()
    args: list[Any] = [pk, len(values)]
    for name, value in values.items():
        field = model._redis_fields[name]
        prefix = field.index_prefix if field.indexable else ""
        args += [name, value, prefix, "1" if field.unique else "0"]
    keys = [model._collection_key(), model._hash_key(pk)]
    reply = model.database.run_script("limpyd_hmset", keys, args)
    if reply[0] != 1:
        raise refusal(model, pk, reply)


def delete_instance(instance: RedisModel) -> None:
    """Delete an instance with its index entries (``limpyd_delete``). 1 round trip."""
    model = type(instance)
    pk = instance.get_pk()
    standalone = model._standalone_fields()
    args: list[Any] = [pk, len(standalone)]
    for field in standalone:
        args += [field.kind, field.index_prefix if field.indexable else ""]
    hashed = [f for f in model._hash_fields() if f.indexable]
    args.append(len(hashed))
    for field in hashed:
        args += [field.name, field.index_prefix]
    keys = [model._collection_key(), model._hash_key(pk)]
    keys += [field._key_for(pk) for field in standalone]
    reply = model.database.run_script("limpyd_delete", keys, args)
    if reply[0] != 1:
        raise refusal(model, pk, reply)
