"""``RedisField``: the base of every limpyd field (declaration, binding, cache, command routing).

A field declared on a model is copied for each concrete model class (its keys use that class'
name) and bound to each instance on first access (``instance.field``). Getters read Redis (or
the instance's local cache); modifiers write Redis through one Lua script (existence check,
index sets and unique checks included, atomically) and clear that cache.
"""

from __future__ import annotations

import copy
import datetime
import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from ..exceptions import ImplementationError
from ..indexes import BaseIndex, EqualIndex, check_index_classes, is_plain
from ..ops import write_ops
from ..scripting import write_field
from ..utils import make_key, normalize
from ._args import as_bool, int_arg

if TYPE_CHECKING:  # pragma: no cover
    from ..model import RedisModel

__all__ = ["NO_DEFAULT", "KeyTTLMixin", "RedisField"]

_creation_counter = itertools.count()

# The result of a field command: its method's declared return type (see ``RedisField._read``).
_R = TypeVar("_R")


class _NoDefault:
    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()
"""Marker for a field declared without a default (None is a valid default)."""


def _same(value: Any) -> Any:
    return value


class RedisField:
    """Base of all fields.

    Arguments (keyword only): ``default`` (stored when an instance is created without a value
    for the field), ``indexable`` (filterable in collections), ``unique`` (indexable, and no
    two instances may share a value; cannot have a default), ``cacheable`` (``False`` turns
    the instance's local cache off for this field). Unknown arguments raise ``TypeError``.
    """

    kind: ClassVar[str] = ""
    available_getters: ClassVar[tuple[str, ...]] = ()
    available_modifiers: ClassVar[tuple[str, ...]] = ()
    available_commands: ClassVar[frozenset[str]] = frozenset()
    # getters whose result is never cached (random results)
    no_cache_getters: ClassVar[frozenset[str]] = frozenset()
    # the modifier that stores a value (named in error messages)
    proxy_setter: ClassVar[str] = "set"

    name: str = ""
    _model: type[RedisModel] | None = None
    _instance: RedisModel | None = None

    def __init__(
        self,
        *,
        default: Any = NO_DEFAULT,
        indexable: bool = False,
        unique: bool = False,
        cacheable: bool = True,
        lockable: bool = True,
        indexes: Any = None,
    ) -> None:
        if unique and default is not NO_DEFAULT:
            raise ImplementationError('Cannot set "default" and "unique" together!')
        self.default = default
        self.indexable = bool(indexable or unique)
        self.unique = bool(unique)
        self.cacheable = bool(cacheable)
        if indexes is not None:
            if not self.indexable:
                raise ImplementationError(
                    "indexes can only be given to an indexable field (indexable=True)"
                )
            indexes = check_index_classes("field", indexes)
        self._index_classes: list[type[BaseIndex]] | None = indexes
        self._index_objects: list[BaseIndex] | None = None
        self.lockable = lockable  # accepted for redis-limpyd compatibility; writes are atomic
        self._creation_order = next(_creation_counter)
        if default is not NO_DEFAULT:
            self._creation_items(default)  # validate early, at declaration

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.available_commands = frozenset(cls.available_getters) | frozenset(
            cls.available_modifiers
        )

    # -- declaration and binding --------------------------------------------------------

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance._bound_field(self.name)

    def __set__(self, instance: Any, value: Any) -> None:
        raise AttributeError(
            f"{type(instance).__name__}.{self.name} is a Redis field: use its commands "
            f"(e.g. .{self.proxy_setter}(...)) to change it"
        )

    def _for_model(self, model: type[RedisModel], name: str) -> RedisField:
        clone = copy.copy(self)
        clone.name = name
        clone._model = model
        clone._instance = None
        clone._index_objects = None
        return clone

    def _bind(self, instance: RedisModel) -> RedisField:
        clone = copy.copy(self)
        clone._instance = instance
        return clone

    def _bound(self) -> tuple[type[RedisModel], RedisModel]:
        if self._model is None or self._instance is None:
            raise ImplementationError(
                f"field {self.name!r} is not bound to an instance: use it from a model instance"
            )
        return self._model, self._instance

    def __repr__(self) -> str:
        model = self._model.__name__ if self._model is not None else "?"
        return f"<{type(self).__name__} {model}.{self.name}>"

    # -- indexes ------------------------------------------------------------------------

    # index classes used when neither the field nor its model or database name some
    default_indexes: ClassVar[list[type[BaseIndex]] | None] = None

    def get_default_indexes(self) -> list[type[BaseIndex]]:
        """The index classes of an indexable field declared without ``indexes``: the field
        class' ``default_indexes``, else the model's, else the database's, else EqualIndex.
        No Redis work."""
        for owner in (self, self._model, getattr(self._model, "database", None)):
            found = getattr(owner, "default_indexes", None) if owner is not None else None
            if found:
                return list(found)
        return [EqualIndex]

    @property
    def _indexes(self) -> list[BaseIndex]:
        """The index objects of this field (empty when not indexable)."""
        model = self._model
        if model is None or not self.indexable:
            return []
        declared = model._redis_fields.get(self.name, self)
        if declared._index_objects is None:
            classes = declared._index_classes or declared.get_default_indexes()
            declared._index_objects = [cls(declared) for cls in classes]
        return declared._index_objects

    def get_index(
        self, index_class: Any = NO_DEFAULT, key: Any = NO_DEFAULT, prefix: Any = NO_DEFAULT
    ) -> BaseIndex:
        """The only index of this field that is an ``index_class`` with this ``key`` and
        ``prefix`` (each criterion applies only when given; ``ValueError`` when none or several
        match, or when the field is not indexable). No Redis work."""
        if not self.indexable:
            raise ValueError(f"Field {self._what()} is not indexable")
        found = [
            index
            for index in self._indexes
            if (index_class is NO_DEFAULT or isinstance(index, index_class))
            and (key is NO_DEFAULT or index.key == key)
            and (prefix is NO_DEFAULT or index.prefix == prefix)
        ]
        if len(found) != 1:
            raise ValueError(
                f"{len(found)} indexes of {self._what()} match the given class, key and "
                "prefix: expected exactly one"
            )
        return found[0]

    def clear_indexes(self, chunk_size: int = 1000, aggressive: bool = False) -> None:
        """Delete every index entry of this field (on the model's field, not an instance's). Cost:
        a SCAN of the index keys (1 round trip per page), then 1 UNLINK per ``chunk_size`` keys,
        per index."""
        assert self._instance is None, "clear_indexes is called on the model's field"
        for index in self._indexes:
            index.clear(chunk_size, aggressive)

    def rebuild_indexes(self, chunk_size: int = 1000, aggressive_clear: bool = False) -> None:
        """Rebuild every index of this field from the stored values (model's field only). Cost per
        index: its clear, 1 SMEMBERS, then 2 round trips (a read and a write) per ``chunk_size``
        instances."""
        assert self._instance is None, "rebuild_indexes is called on the model's field"
        for index in self._indexes:
            index.rebuild(chunk_size, aggressive_clear)

    @property
    def index_classes(self) -> list[type[BaseIndex]]:
        """The index classes of this field (empty when not indexable)."""
        if not self.indexable:
            return []
        model = self._model
        declared = self if model is None else model._redis_fields.get(self.name, self)
        if declared._index_classes is None:
            declared._index_classes = declared.get_default_indexes()
        return declared._index_classes

    def _context_fields(self) -> list[RedisField]:
        """Other fields of the model whose entries this field's indexes depend on."""
        found: list[RedisField] = []
        for index in self._indexes:
            for other in index.context_fields():
                if other not in found:
                    found.append(other)
        return found

    @property
    def _uses_ops(self) -> bool:
        """True when index maintenance is computed by the client (``limpyd_ops_*`` scripts):
        anything but the plain EqualIndex, and every indexable HashField."""
        return self.indexable and (self.kind == "hashfield" or not is_plain(self._indexes))

    def _index_args(self, entry: str) -> tuple[str, ...]:
        """The index arguments of one stored entry (``(value,)``; HashField: ``(key, value)``)."""
        return (entry,)

    def _creation_entries(self, items: list[str]) -> list[str]:
        """Indexed entries of the items stored at creation."""
        return self._index_values(items)

    # -- keys ---------------------------------------------------------------------------

    def _key_for(self, pk: str) -> str:
        assert self._model is not None
        return make_key(self._model._key_prefix(), pk, self.name)

    @property
    def key(self) -> str:
        """The Redis key of this field for the bound instance (allocates an auto pk if none)."""
        _, instance = self._bound()
        return self._key_for(instance.get_pk())

    @property
    def index_prefix(self) -> str:
        """``<namespace>:<model>:<field>:``; the index set of a value is this plus the value."""
        if self._model is None:
            raise ImplementationError(f"field {self.name!r} is not attached to a model")
        return make_key(self._model._key_prefix(), self.name) + ":"

    def index_key(self, value: Any) -> str:
        """The index set holding the pks of instances having ``value`` (redis-limpyd layout). No
        Redis work."""
        if not self.indexable:
            raise ValueError(f"Field {self.name} is not indexable, cannot ask its index_key")
        return self.index_prefix + self._normalize_value(value)

    @property
    def sort_wildcard(self) -> str:
        """The pattern SORT uses to sort instances by this field."""
        assert self._model is not None
        return make_key(self._model._key_prefix(), "*", self.name)

    @property
    def database(self) -> Any:
        if self._model is None:
            raise TypeError("A field cannot use a database if not linked to a model")
        return self._model.database

    @property
    def connection(self) -> Any:
        """The client commands go to (a pipeline inside ``PipelineDatabase.pipeline()``)."""
        return self.database.connection

    # -- values -------------------------------------------------------------------------

    def _what(self) -> str:
        model = self._model.__name__ if self._model is not None else "field"
        return f"{model}.{self.name}"

    def _normalize_value(self, value: Any) -> str:
        """The text stored for one value (related fields also accept instances)."""
        return normalize(value, self._what())

    def _creation_items(self, value: Any) -> list[str]:
        """Items the creation script stores for ``value`` (validated, normalised)."""
        raise NotImplementedError

    def _index_values(self, items: list[str]) -> list[str]:
        """Distinct values to index for stored ``items``."""
        return list(dict.fromkeys(items))

    def _use_cache(self) -> bool:
        model, instance = self._bound()
        return self.cacheable and instance.cacheable and model.cacheable

    # -- command routing ----------------------------------------------------------------

    def _read(
        self,
        command: str,
        call: Callable[[Any, str], Any],
        cache_args: tuple[Any, ...] = (),
        empty: Any = None,
        post: Callable[[Any], _R] = _same,
    ) -> _R:
        """Run a getter: 0 round trips from the cache or for an unsaved instance, else 1 (an
        unsaved auto-pk instance whose model has defaults is saved first: 1 more).

        Typing: the result is ``post``'s (checked against the getter's declared return type);
        without ``post`` it is the getter's declared type, taken on trust from the command's
        reply. Inside a pipeline it is the pipeline, as redis-py's queued commands return, and
        ``post_command`` may replace it: those are left out of the declared types."""
        model, instance = self._bound()
        if not instance._saved_for_read():
            return cast(_R, copy.copy(empty))
        database = model.database
        if database.has_pipeline():
            return cast(_R, call(database.connection, self.key))
        use_cache = (
            self._use_cache()
            and command not in self.no_cache_getters
            and command not in ("ttl", "pttl")
        )
        if use_cache:
            found, value = instance._cache_get(self.name, (command, cache_args))
            if found:
                return cast(_R, instance._post_command(self, command, copy.copy(value), cache_args))
        result = post(call(database.direct_connection, self.key))
        if use_cache:
            instance._cache_set(self.name, (command, cache_args), result)
            result = copy.copy(result)
        return cast(_R, instance._post_command(self, command, result, cache_args))

    def _modify(
        self,
        command: str,
        raw_args: Sequence[Any],
        call: Callable[[Any, str], Any],
        conv: Callable[[Any], _R] = _same,
    ) -> _R:
        """Run a modifier: one round trip.

        Outside pipelines every write of a saved instance goes through a write script
        (``limpyd_write``, ``limpyd_write_plain`` or ``limpyd_ops_write``): it checks the
        instance still exists (no orphan keys under a deleted pk) and keeps index sets and
        unique checks atomic. The first write of an unsaved auto-pk instance runs
        ``limpyd_first_write`` instead, which saves the instance, its defaults and the write
        in one script. Inside a pipeline the redis-py
        command is queued (non-indexable fields of saved instances only).

        Typing: the result is ``conv``'s, as ``_read``'s is ``post``'s.
        """
        model, instance = self._bound()
        database = model.database
        try:
            if database.has_pipeline():
                if not instance._has_pk():
                    raise ImplementationError(
                        f"{self._what()}: the instance has no pk yet and cannot be created "
                        "inside a pipeline; create it before the pipeline"
                    )
                if self.indexable:
                    raise ImplementationError(
                        f"{self._what()} is indexable: it cannot be updated inside a pipeline "
                        "or transaction (its index sets depend on the stored value); update it "
                        "outside the pipeline"
                    )
                return cast(_R, call(database.connection, self.key))
            if not instance._has_pk():
                result = conv(instance._first_write(self, command, raw_args))
            elif self._uses_ops:
                result = conv(write_ops(self, command, raw_args))
            else:
                result = conv(write_field(self, command, raw_args))
            instance._connected = True
        finally:
            instance._cache_clear(self.name)
        return cast(_R, instance._post_command(self, command.lower(), result, tuple(raw_args)))

    def exists(self) -> bool:
        """True when the field holds a value (one round trip; False for a deleted instance, and
        for an unsaved one, which a model with defaults saves first, as reads do)."""
        model, instance = self._bound()
        if instance._deleted or not instance._saved_for_read():
            return False
        return bool(self._exists(model.database.direct_connection, self.key))

    def _exists(self, connection: Any, key: str) -> Any:
        return connection.exists(key)

    def delete(self) -> Any:
        """Delete the field's value (and its index entries). Redis cost: 1 round trip."""
        return self._modify("DEL", [], lambda c, k: c.delete(k), int)

    # redis-limpyd 2.x name for the value setter/getter used by generic code
    def proxy_get(self) -> Any:
        """The value the instance attribute reads: each field class implements it and states
        its cost (no Redis work here)."""
        raise NotImplementedError

    def proxy_set(self, value: Any) -> Any:
        """Store what the instance attribute is given: each field class implements it and states
        its cost (no Redis work here)."""
        raise NotImplementedError


def _timestamp(when: Any, what: str, milliseconds: bool) -> int:
    """A unix timestamp (seconds or ms) from a datetime or a number."""
    if isinstance(when, datetime.datetime):
        stamp = when.timestamp()
        return int(stamp * 1000) if milliseconds else int(stamp)
    return int_arg(when, what)


class KeyTTLMixin(RedisField):
    """Expiry commands of fields stored in their own key (redis-limpyd 2.x): getters ttl,
    pttl; modifiers expire, pexpire, expireat, pexpireat, persist. An indexable field cannot
    expire (its index entries would outlive it): ``ImplementationError``, nothing sent."""

    ttl_getters: ClassVar[tuple[str, ...]] = ("ttl", "pttl")
    ttl_modifiers: ClassVar[tuple[str, ...]] = (
        "expire", "pexpire", "expireat", "pexpireat", "persist",
    )  # fmt: skip

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for attr, extra in (
            ("available_getters", cls.ttl_getters),
            ("available_modifiers", cls.ttl_modifiers),
        ):
            current = getattr(cls, attr)
            setattr(cls, attr, (*current, *(name for name in extra if name not in current)))
        cls.available_commands = frozenset(cls.available_getters) | frozenset(
            cls.available_modifiers
        )

    def _deny_if_indexable(self, command: str) -> None:
        if self.indexable:
            raise ImplementationError(
                f"{self._what()} is indexable: {command} is not possible (the index entries "
                "would outlive the value)"
            )

    def ttl(self) -> int:
        """TTL: seconds before the value expires (-1: never, -2: no value). Never cached. 1 round
        trip (none before the instance is saved)."""
        return self._read("ttl", lambda c, k: c.ttl(k), empty=-2, post=int)

    def pttl(self) -> int:
        """PTTL: milliseconds before the value expires (-1: never, -2: no value). 1 round trip
        (none before the instance is saved)."""
        return self._read("pttl", lambda c, k: c.pttl(k), empty=-2, post=int)

    def expire(self, seconds: Any) -> bool:
        """EXPIRE the value in ``seconds``; True when it exists. 1 round trip (2 with range or
        configured indexes)."""
        self._deny_if_indexable("expire")
        s = int_arg(seconds, "expire seconds")
        return self._modify("EXPIRE", [s], lambda c, k: c.expire(k, s), as_bool)

    def pexpire(self, milliseconds: Any) -> bool:
        """PEXPIRE the value in ``milliseconds``; True when it exists. 1 round trip (2 with range
        or configured indexes)."""
        self._deny_if_indexable("pexpire")
        ms = int_arg(milliseconds, "pexpire milliseconds")
        return self._modify("PEXPIRE", [ms], lambda c, k: c.pexpire(k, ms), as_bool)

    def expireat(self, when: Any) -> bool:
        """EXPIREAT ``when`` (a datetime or a unix timestamp in seconds). 1 round trip (2 with
        range or configured indexes)."""
        self._deny_if_indexable("expireat")
        at = _timestamp(when, "expireat when", False)
        return self._modify("EXPIREAT", [at], lambda c, k: c.expireat(k, at), as_bool)

    def pexpireat(self, when: Any) -> bool:
        """PEXPIREAT ``when`` (a datetime or a unix timestamp in milliseconds). 1 round trip (2
        with range or configured indexes)."""
        self._deny_if_indexable("pexpireat")
        at = _timestamp(when, "pexpireat when", True)
        return self._modify("PEXPIREAT", [at], lambda c, k: c.pexpireat(k, at), as_bool)

    def persist(self) -> bool:
        """PERSIST: remove the expiry; True when there was one. 1 round trip (2 with range or
        configured indexes)."""
        return self._modify("PERSIST", [], lambda c, k: c.persist(k), as_bool)
