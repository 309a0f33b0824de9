"""Single-value fields: ``StringField``, ``InstanceHashField`` (``HashableField``), ``PKField``
and ``AutoPKField``."""

from __future__ import annotations

import builtins
from typing import Any, ClassVar

from ..exceptions import ImplementationError
from ..utils import make_key, normalize
from ._args import as_bool, as_float, as_int, as_ok, float_arg, int_arg
from .base import KeyTTLMixin, RedisField

__all__ = [
    "AutoPKField",
    "HashableField",
    "InstanceHashField",
    "PKField",
    "StringField",
]


class _SingleValueField(RedisField):
    def _creation_items(self, value: Any) -> list[str]:
        return [self._normalize_value(value)]


class StringField(KeyTTLMixin, _SingleValueField):
    """A Redis string at ``<namespace>:<model>:<pk>:<field>``.

    Getters: get, getbit, getrange, getset, strlen. Modifiers: append, decr, decrby, getset,
    incr, incrby, incrbyfloat, set, setbit, setnx, setrange (and delete). Each costs one round
    trip (getters: none when cached).
    """

    kind = "string"
    available_getters = ("get", "getbit", "getrange", "getset", "strlen")
    available_modifiers = (
        "append", "decr", "decrby", "delete", "getset", "incr", "incrby", "incrbyfloat",
        "psetex", "set", "setbit", "setex", "setnx", "setrange",
    )  # fmt: skip

    # -- getters --

    def get(self) -> str | None:
        """GET: the value, or None. 1 round trip (none when the instance's cache has the answer, or
        before it is saved)."""
        return self._read("get", lambda c, k: c.get(k))

    def getbit(self, offset: int) -> int:
        """GETBIT: the bit at ``offset``. 1 round trip (none when the instance's cache has the
        answer, or before it is saved)."""
        offset = int_arg(offset, "getbit offset")
        return self._read("getbit", lambda c, k: c.getbit(k, offset), (offset,), empty=0)

    def getrange(self, start: int, end: int) -> str:
        """GETRANGE: the substring between ``start`` and ``end`` (inclusive). 1 round trip (none
        when the instance's cache has the answer, or before it is saved)."""
        start, end = int_arg(start, "getrange start"), int_arg(end, "getrange end")
        return self._read("getrange", lambda c, k: c.getrange(k, start, end), (start, end), "")

    def strlen(self) -> int:
        """STRLEN: the length of the value. 1 round trip (none when the instance's cache has the
        answer, or before it is saved)."""
        return self._read("strlen", lambda c, k: c.strlen(k), empty=0)

    # -- modifiers --

    def set(
        self, value: Any, ex: Any = None, px: Any = None, nx: bool = False, xx: bool = False
    ) -> bool | None:
        """SET: store ``value``; True, or None when ``nx``/``xx`` prevented it. ``ex`` (s) and
        ``px`` (ms) make it expire: not for indexable fields (``ImplementationError``).
        1 round trip (2 with range or configured indexes)."""
        v = self._normalize_value(value)
        extra: list[Any] = []
        if ex is not None or px is not None:
            self._deny_if_indexable("set with ex/px")
            if ex is not None:
                extra += ["EX", int_arg(ex, "set ex")]
            if px is not None:
                extra += ["PX", int_arg(px, "set px")]
        if nx:
            extra.append("NX")
        if xx:
            extra.append("XX")
        return self._modify("SET", [v, *extra], lambda c, k: c.set(k, v, ex, px, nx, xx), as_ok)

    def setex(self, seconds: Any, value: Any) -> bool | None:
        """SETEX: store ``value`` expiring in ``seconds`` (not for indexable fields). 1 round trip
        (2 with range or configured indexes)."""
        self._deny_if_indexable("setex")
        s, v = int_arg(seconds, "setex seconds"), self._normalize_value(value)
        return self._modify("SETEX", [s, v], lambda c, k: c.setex(k, s, v), as_ok)

    def psetex(self, milliseconds: Any, value: Any) -> bool | None:
        """PSETEX: store ``value`` expiring in ``milliseconds`` (not for indexable fields). 1 round
        trip (2 with range or configured indexes)."""
        self._deny_if_indexable("psetex")
        ms, v = int_arg(milliseconds, "psetex milliseconds"), self._normalize_value(value)
        return self._modify("PSETEX", [ms, v], lambda c, k: c.psetex(k, ms, v), as_ok)

    def getset(self, value: Any) -> str | None:
        """GETSET: store ``value``, return the previous one. 1 round trip (2 with range or
        configured indexes)."""
        v = self._normalize_value(value)
        return self._modify("GETSET", [v], lambda c, k: c.getset(k, v))

    def setnx(self, value: Any) -> bool:
        """SETNX: store ``value`` only when there is none; True when stored. 1 round trip (2 with
        range or configured indexes)."""
        v = self._normalize_value(value)
        return self._modify("SETNX", [v], lambda c, k: c.setnx(k, v), as_bool)

    def append(self, value: Any) -> int:
        """APPEND: add ``value`` at the end; returns the new length. 1 round trip (2 with range
        or configured indexes)."""
        v = self._normalize_value(value)
        return self._modify("APPEND", [v], lambda c, k: c.append(k, v), as_int)

    def incr(self, amount: int = 1) -> int:
        """INCRBY ``amount`` (default 1); returns the new value. 1 round trip (2 with range or
        configured indexes)."""
        a = int_arg(amount, "incr amount")
        return self._modify("INCRBY", [a], lambda c, k: c.incrby(k, a), as_int)

    def incrby(self, amount: int = 1) -> int:
        """INCRBY ``amount``; returns the new value. 1 round trip (2 with range or configured
        indexes)."""
        a = int_arg(amount, "incrby amount")
        return self._modify("INCRBY", [a], lambda c, k: c.incrby(k, a), as_int)

    def decr(self, amount: int = 1) -> int:
        """DECRBY ``amount`` (default 1); returns the new value. 1 round trip (2 with range or
        configured indexes)."""
        a = int_arg(amount, "decr amount")
        return self._modify("DECRBY", [a], lambda c, k: c.decrby(k, a), as_int)

    def decrby(self, amount: int = 1) -> int:
        """DECRBY ``amount``; returns the new value. 1 round trip (2 with range or configured
        indexes)."""
        a = int_arg(amount, "decrby amount")
        return self._modify("DECRBY", [a], lambda c, k: c.decrby(k, a), as_int)

    def incrbyfloat(self, amount: float = 1.0) -> float:
        """INCRBYFLOAT ``amount``; returns the new value. 1 round trip (2 with range or configured
        indexes)."""
        a = float_arg(amount, "incrbyfloat amount")
        return self._modify("INCRBYFLOAT", [a], lambda c, k: c.incrbyfloat(k, float(a)), as_float)

    def setbit(self, offset: int, value: int) -> int:
        """SETBIT: set the bit at ``offset`` to ``value`` (0 or 1); returns the old bit. 1 round
        trip (2 with range or configured indexes)."""
        o = int_arg(offset, "setbit offset")
        if value not in (0, 1) or isinstance(value, bool):
            raise TypeError(f"setbit value must be 0 or 1, got {value!r}")
        return self._modify("SETBIT", [o, value], lambda c, k: c.setbit(k, o, value), as_int)

    def setrange(self, offset: int, value: Any) -> int:
        """SETRANGE: overwrite from ``offset`` with ``value``; returns the new length. 1 round trip
        (2 with range or configured indexes)."""
        o = int_arg(offset, "setrange offset")
        v = self._normalize_value(value)
        return self._modify("SETRANGE", [o, v], lambda c, k: c.setrange(k, o, v), as_int)

    def proxy_get(self) -> Any:
        """The value (``get()``): 1 round trip (none when the instance's cache has the answer, or
        before it is saved)."""
        return self.get()

    def proxy_set(self, value: Any) -> Any:
        """Store ``value`` (``set``): 1 round trip (2 with range or configured indexes)."""
        return self.set(value)


class InstanceHashField(_SingleValueField):
    """A value stored with the instance's other hash fields in ``<prefix>:<pk>:hash``.

    Getter: hget. Modifiers: hdel, hincrby, hincrbyfloat, hset, hsetnx (and delete, an alias
    of hdel). Several fields at once: ``instance.hmget(...)`` / ``instance.hmset(...)``.
    """

    kind = "hash"
    proxy_setter = "hset"
    available_getters = ("hget", "hexists")
    available_modifiers = ("delete", "hdel", "hincrby", "hincrbyfloat", "hset", "hsetnx")

    def _key_for(self, pk: str) -> str:
        assert self._model is not None
        return self._model._hash_key(pk)

    @property
    def sort_wildcard(self) -> str:
        assert self._model is not None
        return f"{self._model._hash_key('*')}->{self.name}"

    def _exists(self, connection: Any, key: str) -> Any:
        return connection.hexists(key, self.name)

    def hexists(self) -> bool:
        """HEXISTS: True when this field has a value in the instance hash. 1 round trip (none
        before the instance is saved)."""
        return self.exists()

    def hget(self) -> str | None:
        """HGET: the value, or None. 1 round trip (none when the instance's cache has the answer,
        or before it is saved)."""
        return self._read("hget", lambda c, k: c.hget(k, self.name))

    def hset(self, value: Any) -> int:
        """HSET: store ``value``; returns 1 when the hash field was created, else 0. 1 round trip
        (2 with range or configured indexes)."""
        v = self._normalize_value(value)
        return self._modify("HSET", [v], lambda c, k: c.hset(k, self.name, v), as_int)

    def hsetnx(self, value: Any) -> int:
        """HSETNX: store ``value`` only when there is none; 1 when stored. 1 round trip (2 with
        range or configured indexes)."""
        v = self._normalize_value(value)
        return self._modify("HSETNX", [v], lambda c, k: c.hsetnx(k, self.name, v), as_int)

    def hincrby(self, amount: int = 1) -> int:
        """HINCRBY ``amount``; returns the new value. 1 round trip (2 with range or configured
        indexes)."""
        a = int_arg(amount, "hincrby amount")
        return self._modify("HINCRBY", [a], lambda c, k: c.hincrby(k, self.name, a), as_int)

    def hincrbyfloat(self, amount: float = 1.0) -> float:
        """HINCRBYFLOAT ``amount``; returns the new value. 1 round trip (2 with range or configured
        indexes)."""
        a = float_arg(amount, "hincrbyfloat amount")
        return self._modify(
            "HINCRBYFLOAT", [a], lambda c, k: c.hincrbyfloat(k, self.name, float(a)), as_float
        )

    def hdel(self) -> int:
        """HDEL: remove the value; returns 1 when there was one. 1 round trip (2 with range or
        configured indexes)."""
        return self._modify("HDEL", [], lambda c, k: c.hdel(k, self.name), as_int)

    def delete(self) -> int:
        """Remove the value (HDEL on the instance hash). 1 round trip (2 with range or configured
        indexes)."""
        return self.hdel()

    def proxy_get(self) -> Any:
        """The value (``hget()``): 1 round trip (none when the instance's cache has the answer, or
        before it is saved)."""
        return self.hget()

    def proxy_set(self, value: Any) -> Any:
        """Store ``value`` (``hset``): 1 round trip (2 with range or configured indexes)."""
        return self.hset(value)


HashableField = InstanceHashField
"""The seed README's name for `InstanceHashField` (redis-limpyd 2.x's name)."""


class PKField(RedisField):
    """The primary key: a string chosen by the caller at creation, never updated.

    It is not stored as a field: the model's pks live in the set ``<prefix>:collection``.
    Whatever its name, it is also reachable as ``instance.pk`` and ``instance.get_pk()``.
    """

    kind = "pk"
    auto_increment: ClassVar[bool] = False
    available_getters = ("get",)
    available_modifiers = ("set",)

    def __init__(self, **kwargs: Any) -> None:
        if "default" in kwargs:
            raise ImplementationError("a PKField cannot have a default value")
        kwargs.setdefault("unique", True)
        super().__init__(**kwargs)
        self.indexable = False  # pks live in the collection set, not in index sets

    def normalize(self, value: Any) -> str:
        """The text form of a pk value (``ValueError`` when empty). No Redis work."""
        text = normalize(value, f"{self._what()} (pk)")
        if text == "":
            raise ValueError(f"{self._what()}: a pk cannot be empty")
        return text

    @property
    def collection_key(self) -> str:
        assert self._model is not None
        return self._model._collection_key()

    def _key_for(self, pk: str) -> str:
        assert self._model is not None
        return make_key(self._model._key_prefix(), pk, self.name)

    def get(self) -> str:
        """The pk of the bound instance (allocated first for an unsaved auto-pk instance). No Redis
        work, except for an unsaved auto-pk instance, saved first (1 round trip)."""
        _, instance = self._bound()
        return instance.get_pk()

    def set(self, value: Any) -> int:
        """Give an unsaved instance its pk, which saves it with its defaults.

        Raises ``ValueError`` when the instance already has a pk (pks never change) or for an
        auto-increment pk; ``UniquenessError`` when the pk is taken.
        1 round trip (the save).
        """
        _, instance = self._bound()
        instance._set_pk_value(value)
        return 1

    def exists(self, value: Any = None) -> bool:
        """True when ``value`` (default: the bound instance's pk) is a pk of the model. 1 round
        trip (none for an unsaved or deleted instance)."""
        model = self._model
        assert model is not None
        if value is None:
            instance = self._instance
            if instance is None or instance._deleted or instance._pk is None:
                return False
            value = instance._pk
        return bool(
            model.database.direct_connection.sismember(
                model._collection_key(), self.normalize(value)
            )
        )

    def collection(self) -> builtins.set[str]:
        """Every pk of the model (SMEMBERS of the collection set). 1 round trip."""
        assert self._model is not None
        members: Any = self._model.database.direct_connection.smembers(self.collection_key)
        return set(members)

    def delete(self) -> Any:
        """Always raises ``ImplementationError``: a pk is removed by deleting its instance. No
        Redis work."""
        raise ImplementationError("PKField cannot be deleted directly.")

    def _creation_items(self, value: Any) -> list[str]:
        return [self.normalize(value)]

    def proxy_get(self) -> Any:
        """The pk (``get()``): no Redis work, except for an unsaved auto-pk instance, saved first
        (1 round trip)."""
        return self.get()

    def proxy_set(self, value: Any) -> Any:
        """Give an unsaved instance its pk (``set``): 1 round trip (the save)."""
        return self.set(value)


class AutoPKField(PKField):
    """A pk filled with auto-incremented integers (from 1), from ``<prefix>:max_pk``.

    Passing a value for it at creation raises ``ValueError``.
    """

    auto_increment = True
