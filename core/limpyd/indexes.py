"""Indexes of limpyd fields (redis-limpyd 2.x): how a field's values are found by collections.

A field declared ``indexable=True`` gets the indexes of ``indexes=[...]`` (classes), else the
``default_indexes`` of its field class, model or database, else ``[EqualIndex]``.

* :class:`EqualIndex`: one set of pks per value, ``<model>:<field>[:<hash key>][:<prefix>]
  [:<key>]:<value>``; filters ``field=v`` / ``field__eq=v``.
* :class:`TextRangeIndex`: one sorted set per field, ``...:text-range``, members
  ``<value>:TEXT-RANGE-SEPARATOR:<pk>`` (score 0); filters ``eq``, ``gt``, ``gte``, ``lt``,
  ``lte``, ``startswith`` (byte-wise comparisons).
* :class:`NumberRangeIndex`: one sorted set per field, ``...:number-range``, member pk,
  score the value as a float; filters ``eq``, ``gt``, ``gte``, ``lt``, ``lte``.

``Index.configure(prefix=..., transform=..., handle_uniqueness=..., key=..., name=...)`` makes
a configured subclass: ``prefix`` adds a key part and a filter suffix (``name__prefix=v``,
``name__prefix__gt=v``); ``transform`` (``f(value)`` or ``f(index, value)``) changes the
value before it is stored and before it is looked for.

Index maintenance is done by limpyd's write scripts, in the same atomic script as the write
itself; the index classes only describe the operations (sets and sorted sets to update, unique
checks) and the filters (what the filter script reads).
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar

from .exceptions import ImplementationError
from .utils import make_key, normalize

if TYPE_CHECKING:  # pragma: no cover
    from .fields.base import RedisField
    from .model import RedisModel

__all__ = [
    "INDEX_CONTEXT",
    "BaseIndex",
    "BaseRangeIndex",
    "EqualIndex",
    "NumberRangeIndex",
    "TextRangeIndex",
]

# Entries of the other fields an index depends on, set by ``ops.index_ops`` while it asks the
# indexes for their operations (``{field name: entries}``).
INDEX_CONTEXT: ContextVar[dict[str, list[str]] | None] = ContextVar(
    "limpyd_index_context", default=None
)
"""While ``ops.index_ops`` collects index operations: the entries of the other fields an index
depends on (``{field name: entries}``), else None."""

# An operation sent to the write scripts: (name, key, a, b); see limpyd_ops_write.lua.
Op = tuple[str, str, str, str]
# A filter source for limpyd_ops_filter.lua: (key, kind, a, b, c).
Source = tuple[str, str, str, str, str]

_CONFIGURABLE = ("prefix", "transform", "handle_uniqueness", "key")


class BaseIndex:
    """Base of limpyd indexes; subclasses describe their keys, operations and filters."""

    handled_suffixes: ClassVar[frozenset[str | None]] = frozenset()
    handle_uniqueness: ClassVar[bool] = True
    prefix: ClassVar[str | None] = None
    transform: ClassVar[Any] = None
    key: ClassVar[str | None] = None
    configurable_attrs: ClassVar[tuple[str, ...]] = _CONFIGURABLE

    def __init__(self, field: RedisField) -> None:
        self.field = field

    def __repr__(self) -> str:
        return f"<{type(self).__name__} on {self.field!r}>"

    @classmethod
    def configure(cls, **kwargs: Any) -> type[BaseIndex]:
        """A subclass with the given ``prefix``, ``transform``, ``handle_uniqueness``, ``key``
        (and class ``name``); unknown arguments raise ``TypeError``. No Redis work."""
        name = kwargs.pop("name", None) or cls.__name__
        unknown = set(kwargs) - set(cls.configurable_attrs)
        if unknown:
            raise TypeError(f"{cls.__name__}.configure: unknown arguments {sorted(unknown)}")
        attrs: dict[str, Any] = {}
        for attr, value in kwargs.items():
            if attr == "transform" and value is not None:
                if not callable(value):
                    raise TypeError("transform must be callable")
                value = staticmethod(value)
            elif attr in ("prefix", "key") and value is not None and not isinstance(value, str):
                raise TypeError(f"{attr} must be a str")
            attrs[attr] = value
        return type(str(name), (cls,), attrs)

    # -- shortcuts --------------------------------------------------------------------

    @property
    def model(self) -> type[RedisModel]:
        model = self.field._model
        assert model is not None
        return model

    @property
    def connection(self) -> Any:
        return self.model.database.connection

    # -- values and suffixes ----------------------------------------------------------

    @classmethod
    def remove_prefix(cls, suffix: str | None) -> tuple[bool, str | None]:
        """``(matches, rest)``: whether ``suffix`` starts with this index's prefix, and what
        follows it. No Redis work."""
        if not cls.prefix:
            return True, suffix
        if suffix == cls.prefix:
            return True, None
        if suffix and suffix.startswith(cls.prefix + "__"):
            return True, suffix[len(cls.prefix) + 2 :]
        return False, None

    def filter_rest(self, suffix: str | None) -> str | None:
        """The filter type left once this index's prefix is removed from ``suffix``
        (``None``, ``"eq"``, ``"in"``, ``"gt"``...). No Redis work."""
        return self.remove_prefix(suffix)[1]

    def can_handle_suffix(self, suffix: str | None) -> bool:
        """True when a filter ``<field>__<suffix>`` is answered by this index. No Redis work."""
        matches, rest = self.remove_prefix(suffix)
        return matches and rest in self.handled_suffixes

    def transform_value(self, value: Any) -> Any:
        """The stored form of ``value`` after the index's ``transform`` (the value itself without
        one). No Redis work."""
        transform = None
        for klass in type(self).__mro__:
            if "transform" in klass.__dict__:
                transform = klass.__dict__["transform"]
                break
        if transform is None:
            return value
        func: Callable[..., Any] = (
            transform.__func__ if isinstance(transform, staticmethod) else transform
        )
        try:
            count = len(inspect.signature(func).parameters)
        except (TypeError, ValueError):  # pragma: no cover - builtins
            count = 1
        return func(self, value) if count >= 2 else func(value)

    def normalize_value(self, value: Any, transform: bool = True) -> Any:
        """The text stored for ``value`` (after ``transform``). No Redis work."""
        if transform:
            value = self.transform_value(value)
        if not isinstance(value, (str, bytes, int, float)):
            return self.field._normalize_value(value)  # e.g. an instance for a related field
        return normalize(value, f"{self.field._what()} (index value)")

    def _key_parts(self, args: tuple[Any, ...]) -> list[Any]:
        parts: list[Any] = [self.model._key_prefix(), self.field.name, *args]
        if self.prefix:
            parts.append(self.prefix)
        if self.key:
            parts.append(self.key)
        return parts

    # -- what subclasses describe ------------------------------------------------------

    def context_fields(self) -> list[Any]:
        """Other fields of the instance whose entries this index's operations depend on. No Redis
        work."""
        return []

    def get_storage_key(self, *args: Any) -> str:
        """The key of the index entry for ``args`` (each index class defines it). No Redis work."""
        raise NotImplementedError

    def store_ops(self, pk: str, *args: Any) -> list[Op]:
        """Operations indexing ``pk`` for ``args`` (``(value,)`` or ``(hash key, value)``). No
        Redis work: the write scripts apply the returned operations."""
        raise NotImplementedError

    def unstore_ops(self, pk: str, *args: Any) -> list[Op]:
        """Operations removing ``pk``'s entry for ``args`` (each index class defines them). No
        Redis work: the write scripts apply the returned operations."""
        raise NotImplementedError

    def unique_ops(self, pk: str, *args: Any) -> list[Op]:
        """Checks run before storing: no other pk may hold the value. No Redis work: the write
        scripts apply the returned operations."""
        return []

    def filter_source(self, suffix: str | None, *args: Any) -> Source:
        """The key and bounds a filter reads (each index class defines it). No Redis work."""
        raise NotImplementedError

    def get_filtered_keys(self, suffix: str | None, *args: Any, **kwargs: Any) -> list[Any]:
        """``[(key, key_type, is_tmp)]`` holding the pks matching the filter (a temporary set,
        filled on the server by one script, for range filters).
        No Redis work for one equality value on a set index; otherwise 1 round trip (one script
        fills the temporary set), and 3 more when a sorted set is asked for."""
        rest = self.filter_rest(suffix)
        accepted = kwargs.get("accepted_key_types")
        as_zset = False
        if accepted is not None and "set" not in accepted:
            as_zset = "zset" in accepted and isinstance(self, BaseRangeIndex)
            if not as_zset:
                raise ImplementationError(
                    f"{type(self).__name__} gives sets of pks, not {sorted(accepted)}"
                )
        if not self.can_handle_suffix(suffix):
            raise ImplementationError(f"{type(self).__name__} cannot handle the filter {suffix!r}")
        values = list(args[-1]) if rest == "in" else [args[-1]]
        sources = [self.filter_source(suffix, *args[:-1], value) for value in values]
        if rest != "in" and sources[0][1] == "set":
            return [(sources[0][0], "set", False)]
        tmp = self.model._temp_key()
        self.model.database.run_script(
            "limpyd_ops_filter",
            [tmp, *(source[0] for source in sources)],
            [300, len(sources), *(item for source in sources for item in source[1:])],
        )
        if as_zset:
            return [(self._ranked(tmp, sources[0][0]), "zset", True)]
        return [(tmp, "set", True)]

    def _ranked(self, pks_key: str, index_key: str) -> str:
        """A temporary sorted set of the pks in ``pks_key`` scored by their rank in the index
        (a few round trips: an introspection tool, not a collection path)."""
        connection: Any = self.model.database.direct_connection
        wanted = set(connection.smembers(pks_key))
        ordered = [self._member_pk(m) for m in connection.zrange(index_key, 0, -1)]
        ranked = [pk for pk in ordered if pk in wanted]
        target = self.model._temp_key()
        pipe = connection.pipeline(transaction=True)
        if ranked:
            pipe.zadd(target, {pk: rank for rank, pk in enumerate(ranked)})
            pipe.expire(target, 300)
        pipe.delete(pks_key)
        pipe.execute()
        return target

    def _member_pk(self, member: str) -> str:
        return member

    # -- maintenance (not atomic: run them when nothing writes the field) ---------------

    def _pattern(self) -> str:
        """The glob pattern of this index's keys."""
        parts: list[str] = [_glob_escape(self.model._key_prefix()), _glob_escape(self.field.name)]
        if self.field.kind == "hashfield":
            parts.append("*")
        parts += [_glob_escape(p) for p in (self.prefix, self.key) if p]
        return ":".join(parts) + self._pattern_tail

    _pattern_tail: ClassVar[str] = ":*"

    def get_all_storage_keys(self) -> set[str]:
        """Every key holding entries of this index (SCAN; not those of the field's other,
        more specific indexes). 1 round trip per SCAN page."""
        mine = self._pattern()
        others = [
            index._pattern()
            for index in self.field._indexes
            if index is not self and len(index._pattern()) > len(mine)
        ]
        found = set(self.model.database.scan_keys(mine))
        return {k for k in found if not any(fnmatch.fnmatchcase(k, o) for o in others)}

    def clear(self, chunk_size: int = 1000, aggressive: bool = False) -> None:
        """Delete every key of this index (UNLINK in batches of ``chunk_size``). Cost: the SCAN of
        ``get_all_storage_keys``, then 1 UNLINK per ``chunk_size`` keys."""
        keys = sorted(self.get_all_storage_keys())
        connection = self.model.database.direct_connection
        for start in range(0, len(keys), chunk_size):
            connection.unlink(*keys[start : start + chunk_size])

    def rebuild(self, chunk_size: int = 1000, aggressive_clear: bool = False) -> None:
        """Clear this index, then index every instance again from the stored values (one
        read and one write round trip per ``chunk_size`` instances)."""
        self.clear(chunk_size)
        field, model = self.field, self.model
        connection = model.database.direct_connection
        members: Any = connection.smembers(model._collection_key())
        pks: list[str] = sorted(members)
        for start in range(0, len(pks), chunk_size):
            chunk = pks[start : start + chunk_size]
            read = connection.pipeline(transaction=False)
            for pk in chunk:
                _queue_read(read, field, field._key_for(pk))
            write = connection.pipeline(transaction=False)
            for pk, reply in zip(chunk, read.execute(), strict=True):
                for entry in _entries(field, reply):
                    for op, key, a, b in self.store_ops(pk, *field._index_args(entry)):
                        if op == "sadd":
                            write.sadd(key, a)
                        elif op == "zadd":
                            write.zadd(key, {b: float(a)})
            write.execute()

    def check_uniqueness(self, pk: str, *args: Any) -> None:
        """Raise ``UniquenessError`` when another instance holds ``args`` (one round trip)."""
        from .exceptions import UniquenessError

        for _op, key, a, _b in self.unique_ops(pk, *args):
            other = _taken(self.model, _op, key, a, pk)
            if other is not None:
                raise UniquenessError(f"Key {key} already exists (for instance {other})")


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _queue_read(pipe: Any, field: Any, key: str) -> None:
    kind = field.kind
    if kind == "string":
        pipe.get(key)
    elif kind == "hash":
        pipe.hget(key, field.name)
    elif kind == "set":
        pipe.smembers(key)
    elif kind == "list":
        pipe.lrange(key, 0, -1)
    elif kind == "zset":
        pipe.zrange(key, 0, -1)
    else:
        pipe.hgetall(key)


def _entries(field: RedisField, reply: Any) -> list[str]:
    """Indexed entries of a field from its read reply (see ``_queue_read``)."""
    if reply is None:
        return []
    if isinstance(reply, str):
        return [reply]
    if isinstance(reply, dict):
        items = [item for pair in reply.items() for item in pair]
        return field._creation_entries(items)
    return list(dict.fromkeys(reply))


def _taken(model: type[RedisModel], op: str, key: str, a: str, pk: str) -> str | None:
    connection: Any = model.database.direct_connection
    members: list[Any]
    if op == "uset":
        members = list(connection.srandmember(key, 2))
    elif op == "uzscore":
        members = list(connection.zrangebyscore(key, a, a, 0, 2))
    else:
        found = connection.zrangebylex(key, "[" + a, "+", 0, 2)
        members = [m[len(a) :] for m in found if m.startswith(a)]
    for member in members:
        if member != pk:
            return str(member)
    return None


class EqualIndex(BaseIndex):
    """One set of pks per (transformed) value: filters ``field=v`` and ``field__eq=v``."""

    handled_suffixes = frozenset({None, "eq", "in"})

    def get_storage_key(self, *args: Any, **kwargs: Any) -> str:
        """The set of the pks holding the value in ``args``. No Redis work."""
        *parts, value = args
        text = self.normalize_value(value, kwargs.get("transform_value", True))
        return make_key(*self._key_parts(tuple(parts)), text)

    def store_ops(self, pk: str, *args: Any) -> list[Op]:
        """SADD of ``pk`` to the value's set. No Redis work: the write scripts apply the returned
        operations."""
        return [("sadd", self.get_storage_key(*args), pk, "")]

    def unstore_ops(self, pk: str, *args: Any) -> list[Op]:
        """SREM of ``pk`` from the value's set. No Redis work: the write scripts apply the returned
        operations."""
        return [("srem", self.get_storage_key(*args), pk, "")]

    def unique_ops(self, pk: str, *args: Any) -> list[Op]:
        """Refuse the write when another pk holds the value. No Redis work: the write scripts apply
        the returned operations."""
        return [("uset", self.get_storage_key(*args), "", "")]

    def filter_source(self, suffix: str | None, *args: Any) -> Source:
        # filter values are looked for as given: the transform applies to stored values only
        """The value's set (filter values are read as given: the transform applies to stored values
        only). No Redis work."""
        return (self.get_storage_key(*args, transform_value=False), "set", "", "", "")


class BaseRangeIndex(BaseIndex):
    """One sorted set per field (``...:<key>``) answering range filters."""

    _pattern_tail = ""

    handled_suffixes = frozenset({None, "eq", "gt", "gte", "lt", "lte", "in"})

    def get_storage_key(self, *args: Any, **kwargs: Any) -> str:
        """The sorted set holding this index's entries. No Redis work."""
        return make_key(*self._key_parts(tuple(args[:-1])))

    def _member(self, pk: str, value: Any) -> tuple[str, str]:
        raise NotImplementedError

    def store_ops(self, pk: str, *args: Any) -> list[Op]:
        """ZADD of ``pk``'s entry. No Redis work: the write scripts apply the returned
        operations."""
        member, score = self._member(pk, args[-1])
        return [("zadd", self.get_storage_key(*args), score, member)]

    def unstore_ops(self, pk: str, *args: Any) -> list[Op]:
        """ZREM of ``pk``'s entry. No Redis work: the write scripts apply the returned
        operations."""
        member, _ = self._member(pk, args[-1])
        return [("zrem", self.get_storage_key(*args), member, "")]


class TextRangeIndex(BaseRangeIndex):
    """Values in one sorted set, ordered byte-wise: ``eq``, ``gt``, ``gte``, ``lt``, ``lte``,
    ``startswith`` filters."""

    key = "text-range"
    separator: ClassVar[str] = ":TEXT-RANGE-SEPARATOR:"
    handled_suffixes = frozenset({None, "eq", "gt", "gte", "lt", "lte", "startswith", "in"})

    def _member(self, pk: str, value: Any) -> tuple[str, str]:
        return self.normalize_value(value) + self.separator + pk, "0"

    def _member_pk(self, member: str) -> str:
        return member.rpartition(self.separator)[2]

    def unique_ops(self, pk: str, *args: Any) -> list[Op]:
        """Refuse the write when another pk holds the value. No Redis work: the write scripts apply
        the returned operations."""
        prefix = self.normalize_value(args[-1]) + self.separator
        return [("uzlex", self.get_storage_key(*args), prefix, "")]

    def filter_source(self, suffix: str | None, *args: Any) -> Source:
        """The lexical bounds of a filter (eq, in, gt, gte, lt, lte, startswith). No Redis work."""
        _, rest = self.remove_prefix(suffix)
        value = self.normalize_value(args[-1], transform=False)
        op = "eq" if rest in (None, "in") else rest
        return (self.get_storage_key(*args), "zlex", op, value, self.separator)


class NumberRangeIndex(BaseRangeIndex):
    """Pks scored by the value as a number: ``eq``, ``gt``, ``gte``, ``lt``, ``lte`` filters.

    Values that are not numbers are indexed as 0 (``raise_if_not_float = True`` refuses them
    with ``ValueError`` instead, before anything is written).
    """

    key = "number-range"
    raise_if_not_float: ClassVar[bool] = False
    configurable_attrs = (*_CONFIGURABLE, "raise_if_not_float")

    def normalize_value(self, value: Any, transform: bool = True) -> Any:
        """The value as a float (0.0, or ValueError with ``raise_if_not_float``, when it is not a
        number). No Redis work."""
        if transform:
            value = self.transform_value(value)
        try:
            return float(value)
        except (TypeError, ValueError):
            if self.raise_if_not_float:
                raise ValueError(
                    f"Invalid value {value!r} for field {self.field._what()}: expected a number"
                ) from None
            return 0.0

    def _member(self, pk: str, value: Any) -> tuple[str, str]:
        return pk, repr(self.normalize_value(value))

    def unique_ops(self, pk: str, *args: Any) -> list[Op]:
        """Refuse the write when another pk holds the score. No Redis work: the write scripts apply
        the returned operations."""
        score = repr(self.normalize_value(args[-1]))
        return [("uzscore", self.get_storage_key(*args), score, "")]

    def filter_source(self, suffix: str | None, *args: Any) -> Source:
        """The score bounds of a filter (eq, in, gt, gte, lt, lte). No Redis work."""
        _, rest = self.remove_prefix(suffix)
        value = repr(self.normalize_value(args[-1], transform=False))
        low, high = "-inf", "+inf"
        if rest in (None, "eq", "in"):
            low = high = value
        elif rest == "gt":
            low = "(" + value
        elif rest == "gte":
            low = value
        elif rest == "lt":
            high = "(" + value
        elif rest == "lte":
            high = value
        return (self.get_storage_key(*args), "zscore", low, high, "")


def is_plain(indexes: list[BaseIndex]) -> bool:
    """True for the default ``[EqualIndex]`` without configuration: its keys are
    ``<index prefix><value>``, maintained by the walrus ``limpyd_*`` scripts."""
    if len(indexes) != 1 or type(indexes[0]) is not EqualIndex:
        return False
    return True


def check_index_classes(what: str, indexes: Any) -> list[type[BaseIndex]]:
    if not isinstance(indexes, (list, tuple)) or not all(
        isinstance(i, type) and issubclass(i, BaseIndex) for i in indexes
    ):
        raise ImplementationError(f"{what}: indexes must be a list of index classes")
    return list(indexes)
