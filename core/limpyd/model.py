"""``RedisModel``: a class of objects whose fields are stored in Redis, one key per field.

Keys (redis-limpyd's layout), with ``P`` = ``<namespace>:<model name lowercased>`` (so
``:bike`` without a namespace): standalone fields ``P:<pk>:<field>``, instance-hash fields in
``P:<pk>:hash``, pks in the set ``P:collection``, the auto-pk counter ``P:max_pk``, index sets
``P:<field>:<value>``.

On a Redis Cluster ``P`` carries a hash tag so that every key of a model lives in one slot:
``{<namespace>:<name>}`` by default (``{:bike}``), or ``{<cluster_tag>}<namespace>:<name>``
(``{shop}:bike``) when the model sets ``cluster_tag``. Single-server keys are unchanged.

For the README's ``from limpyd import model; model.RedisDatabase(...); model.StringField()``,
this module also re-exports the database and field classes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from types import FrameType
from typing import Any, ClassVar

from redis.exceptions import DataError, ResponseError

from .collection import Collection
from .database import RedisDatabase
from .exceptions import DoesNotExist, ImplementationError
from .fields import (
    AutoPKField,
    HashableField,
    InstanceHashField,
    ListField,
    PKField,
    PKStringField,
    RedisField,
    SetField,
    SortedSetField,
    StringField,
)
from .fields.base import NO_DEFAULT
from .ops import create_instance_ops, delete_instance_ops, first_write
from .scripting import create_instance, delete_instance
from .scripting import hmset as _hmset_script
from .utils import make_key


class EmptyCommandError(DataError, ValueError):
    """A command called without its arguments (``hmset()``): redis-py's ``DataError``, and a
    ``ValueError`` as older limpyd raised."""


_TAG_FORBIDDEN = "{}"

__all__ = [
    "AutoPKField",
    "DoesNotExist",
    "HashableField",
    "InstanceHashField",
    "ListField",
    "PKField",
    "PKStringField",
    "RedisDatabase",
    "RedisField",
    "RedisModel",
    "SetField",
    "SortedSetField",
    "StringField",
]

_CACHE_KEYS = {
    "string": ("get", ()),
    "hash": ("hget", ()),
    "set": ("smembers", ()),
    "list": ("lrange", (0, -1)),
    "zset": ("zrange", (0, -1, False, False)),
}


class _class_or_instance_method:  # noqa: N801 - used as a decorator
    """A method receiving the class when called on it, the instance when called on one."""

    def __init__(self, func: Any) -> None:
        self.func = func

    def __get__(self, instance: Any, owner: type) -> Any:
        target = owner if instance is None else instance
        return lambda *args, **kwargs: self.func(target, *args, **kwargs)


class MetaRedisModel(type):
    """The metaclass of limpyd models (redis-limpyd 2.x name; models are built by
    ``RedisModel.__init_subclass__``, a custom metaclass may derive from this one)."""


class RedisModel(metaclass=MetaRedisModel):
    """Base class of limpyd models.

    Class attributes: ``database`` (a :class:`RedisDatabase`, mandatory unless abstract),
    ``namespace`` (default ``""``), ``abstract`` (not inherited; abstract models hold shared
    fields only), ``cacheable`` (local per-instance cache of getter results, default True).

    ``Model(field=value, ...)`` creates and saves an instance in one atomic script (pk, values,
    defaults, index entries, unique checks; nothing is written when refused).
    ``Model(pk)`` loads one (one round trip; :class:`DoesNotExist` when missing).
    ``Model()`` is an unsaved instance (no Redis work): its first write saves it with its
    defaults, in the write's own script (nothing is stored when the write is refused);
    ``get_pk()`` or a read saves an auto-pk instance whose model has defaults (1 round trip);
    reads of one without defaults return empty values.
    """

    database: ClassVar[RedisDatabase]
    namespace: ClassVar[str | None] = None
    abstract: ClassVar[bool] = True
    cacheable: bool = True
    lockable: ClassVar[bool] = True
    cluster_tag: ClassVar[str | None] = None
    DoesNotExist: ClassVar[type[DoesNotExist]] = DoesNotExist
    collection_manager: ClassVar[type[Collection]] = Collection

    _name: ClassVar[str] = ""
    _redis_fields: ClassVar[dict[str, RedisField]] = {}
    _fields: ClassVar[list[str]] = []
    _instancehash_fields: ClassVar[list[str]] = []
    _hashable_fields: ClassVar[list[str]] = []
    _pk_field_name: ClassVar[str] = "pk"
    _max_pk_hint: ClassVar[str] = ""
    _creation_source: ClassVar[tuple[str, int]] = ("", 0)

    # -- class construction -------------------------------------------------------------

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._creation_source = _declaration_site(sys._getframe(1))
        cls.abstract = bool(cls.__dict__.get("abstract", False))
        merged = _merged_fields(cls)
        pk_name = next(n for n, f in merged.items() if isinstance(f, PKField))
        fields = _install_fields(cls, merged, pk_name)
        cls._redis_fields = fields
        cls._pk_field_name = pk_name
        cls._fields = list(fields)
        cls._instancehash_fields = [n for n, f in fields.items() if f.kind == "hash"]
        cls._hashable_fields = cls._instancehash_fields
        _check_cluster_tag(cls)
        if cls.abstract:
            return
        _register_concrete(cls, fields)

    # -- keys -----------------------------------------------------------------------------

    @classmethod
    def _key_prefix(cls) -> str:
        """The first part of every key of the model: ``<namespace>:<name>`` on one server,
        with a hash tag on a cluster (``{:bike}``, or ``{<cluster_tag>}:bike``)."""
        if not cls.database.is_cluster:
            return cls._name
        if cls.cluster_tag:
            return "{" + cls.cluster_tag + "}" + cls._name
        # A fixed leading "{...}" gives every key the same tag, whatever the name holds.
        return "{" + cls._name + "}"

    @classmethod
    def _temp_key(cls) -> str:
        """A fresh temporary key in the model's slot (``temp.<uuid>`` on one server)."""
        connection = cls.database.direct_connection
        if not cls.database.is_cluster:
            return connection.get_temp_key()
        return make_key(cls._key_prefix(), connection.get_temp_key())

    @classmethod
    def _collection_key(cls) -> str:
        return make_key(cls._key_prefix(), "collection")

    @classmethod
    def _max_pk_key(cls) -> str:
        return make_key(cls._key_prefix(), "max_pk")

    @classmethod
    def _hash_key(cls, pk: str) -> str:
        return make_key(cls._key_prefix(), pk, "hash")

    @classmethod
    def sort_wildcard(cls) -> str:
        """The SORT pattern of instance hashes: ``<prefix>:*:hash``. No Redis work."""
        return cls._hash_key("*")

    @classmethod
    def _pk_field(cls) -> PKField:
        field = cls._redis_fields[cls._pk_field_name]
        assert isinstance(field, PKField)
        return field

    @classmethod
    def _standalone_fields(cls) -> list[RedisField]:
        return [f for f in cls._redis_fields.values() if f.kind not in ("pk", "hash")]

    @classmethod
    def _hash_fields(cls) -> list[RedisField]:
        return [f for f in cls._redis_fields.values() if f.kind == "hash"]

    @classmethod
    def use_database(cls, database: RedisDatabase) -> list[type[RedisModel]]:
        """Move this model, and its subclasses that share its database, to ``database``
        (registered there, forgotten by the old one). Returns the moved models. No Redis work."""
        if not isinstance(database, RedisDatabase):
            raise ImplementationError("use_database needs a RedisDatabase")

        def collect(model: type[RedisModel]) -> list[type[RedisModel]]:
            current = model.__dict__.get("database", getattr(model, "database", None))
            if current is database:
                return []
            found = [model]
            for sub in model.__subclasses__():
                if getattr(sub, "database", None) is current:
                    found += collect(sub)
            return found

        moved = collect(cls)
        olds = [getattr(model, "database", None) for model in moved]
        for model, old in zip(moved, olds, strict=True):
            if not model.abstract:
                database._add_model(model)
                if isinstance(old, RedisDatabase):
                    old._remove_model(model)
            model.database = database
        for model in moved:
            hook = getattr(model, "_database_changed", None)
            if hook is not None and not model.abstract:
                hook()  # related models relink (limpyd.contrib.related)
        return moved

    @property
    def connection(self) -> Any:
        """The client of the model's database (a pipeline while one is open)."""
        return type(self).database.connection

    @classmethod
    def get_connection(cls) -> Any:
        """The client of the model's database. No Redis work."""
        return cls.database.connection

    @classmethod
    def scan_model_keys(cls) -> Any:
        """Every key of this model (SCAN ``<prefix>:*``; a key may come more than once). 1 round
        trip per SCAN page, as the iterator is consumed."""
        return cls.database.scan_keys(cls._key_prefix() + ":*")

    def scan_keys(self) -> Any:
        """Every key of this instance (SCAN ``<prefix>:<pk>:*``). 1 round trip per SCAN page, as
        the iterator is consumed."""
        return type(self).database.scan_keys(
            make_key(type(self)._key_prefix(), self.get_pk()) + ":*"
        )

    @classmethod
    def _uses_ops(cls) -> bool:
        """True when creations and deletions go through the ``limpyd_ops_*`` scripts (a field
        has other indexes than the plain EqualIndex, or the model has a HashField)."""
        return any(f._uses_ops or f.kind == "hashfield" for f in cls._redis_fields.values())

    @classmethod
    def has_field(cls, field_name: str) -> bool:
        """True when ``field_name`` is a field of this model (``pk`` included). No Redis work."""
        return field_name == "pk" or field_name in cls._redis_fields

    @_class_or_instance_method
    def get_field(self_or_cls: Any, field_name: str) -> RedisField:  # noqa: N805
        """The field ``field_name`` (``pk`` means the primary key): the model's field when
        called on the class, the instance's bound field when called on an instance.
        No Redis work."""
        cls: type[RedisModel] = self_or_cls if isinstance(self_or_cls, type) else type(self_or_cls)
        if field_name == "pk":
            field_name = cls._pk_field_name
        if field_name not in cls._redis_fields:
            raise AttributeError(f'"{field_name}" is not a field for the model "{cls.__name__}"')
        if isinstance(self_or_cls, type):
            return cls._redis_fields[field_name]
        instance: RedisModel = self_or_cls
        return instance._bound_field(field_name)

    def post_command(self, sender: Any, name: str, result: Any, args: Any, kwargs: Any) -> Any:
        """Hook called after each field command with its result; what it returns is the
        command's result (redis-limpyd 2.x). Override it to react to commands. No Redis work."""
        return result

    def _post_command(self, sender: Any, name: str, result: Any, args: tuple[Any, ...]) -> Any:
        if type(self).post_command is RedisModel.post_command:
            return result
        return self.post_command(sender, name, result, args, {})

    @property
    def key(self) -> str:
        """The key of the instance hash (``<prefix>:<pk>:hash``)."""
        return type(self)._hash_key(self.get_pk())

    # -- instances ----------------------------------------------------------------------

    def _init_state(self) -> None:
        cls = type(self)
        if cls.abstract or cls is RedisModel:
            raise ImplementationError(f"{cls.__name__} is abstract: it cannot be instantiated")
        self._pk: str | None = None
        self._deleted = False
        self._connected = False
        self._bound_fields: dict[str, RedisField] = {}
        self._cache: dict[str, dict[Any, Any]] = {}
        self.cacheable = cls.cacheable

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._init_state()
        cls = type(self)
        if args and kwargs:
            raise ValueError("Cannot use args and kwargs to instanciate.")
        if len(args) > 1:
            raise ValueError(f"{cls.__name__}() takes the pk as its only positional argument")
        if args:
            pk = cls._pk_field().normalize(args[0])
            if not cls.database.direct_connection.sismember(cls._collection_key(), pk):
                raise DoesNotExist(f"No {cls.__name__} found with pk {pk}")
            self._pk, self._connected = pk, True
        elif kwargs:
            self._create(kwargs)

    @classmethod
    def lazy_connect(cls, pk: Any) -> RedisModel:
        """An instance for ``pk`` without checking that it exists (no round trip)."""
        instance = cls.__new__(cls)
        instance._init_state()
        instance._pk = cls._pk_field().normalize(pk)
        return instance

    def _bound_field(self, name: str) -> RedisField:
        field = self._bound_fields.get(name)
        if field is None:
            field = type(self)._redis_fields[name]._bind(self)
            self._bound_fields[name] = field
        return field

    def _create(self, values: dict[str, Any]) -> None:
        cls = type(self)
        if cls.database.has_pipeline():
            raise ImplementationError(
                f"{cls.__name__}: instances cannot be created inside a pipeline (the pk is "
                "needed at once); create them before the pipeline"
            )
        pk, data = _creation_pk_and_data(cls, values)
        hash_items, standalone, entries = _creation_layout(self, data)
        if cls._uses_ops():
            indexed = [
                (field, field._creation_entries(items))
                for field, items in [
                    *standalone,
                    *((cls._redis_fields[n], [v]) for n, v in hash_items),
                ]
                if field.indexable
            ]
            new_pk = create_instance_ops(cls, pk, hash_items, standalone, indexed)
        else:
            new_pk = create_instance(cls, pk, hash_items, standalone, list(entries.items()))
        self._set_created_pk(new_pk)

    def _first_write(self, field: RedisField, command: str, raw_args: Sequence[Any]) -> Any:
        """Run the first write of an unsaved auto-pk instance: it saves the instance with its
        defaults, the command's result and every index entry, atomically (see
        :func:`limpyd.ops.first_write`). Returns the command's raw reply. 1 round trip (2 when
        the model's index entries are computed by the client and the write can change one)."""
        self._require_auto_pk()
        hash_items, standalone, _ = _creation_layout(self, {})
        return first_write(self, field, hash_items, standalone, command, raw_args)

    @classmethod
    def _has_defaults(cls) -> bool:
        """True when a field of the model declares a default. No Redis work."""
        return any(f.default is not NO_DEFAULT for f in cls._redis_fields.values())

    def _saved_for_read(self) -> bool:
        """Before a read: True when the instance has a pk, after saving an unsaved auto-pk
        instance whose model has defaults (they are what there is to read: 1 round trip, as
        ``get_pk()``); False for an unsaved instance with nothing stored yet (its reads return
        empty values without a round trip)."""
        if self._has_pk():
            return True
        cls = type(self)
        if not (cls._pk_field().auto_increment and cls._has_defaults()):
            return False
        self.get_pk()
        return True

    def _set_created_pk(self, pk: str) -> None:
        self._pk, self._connected = pk, True

    def _set_pk_value(self, value: Any) -> None:
        cls = type(self)
        if self._pk is not None:
            raise ValueError("A primary key cannot be updated")
        if cls._pk_field().auto_increment:
            raise ValueError(f'The pk for {cls.__name__} is "auto-increment", you must not fill it')
        self._create({cls._pk_field_name: value})

    def _require_auto_pk(self) -> None:
        cls = type(self)
        if not cls._pk_field().auto_increment:
            raise ValueError(f'The pk for {cls.__name__} is not "auto-increment", you must fill it')

    def _has_pk(self) -> bool:
        if self._deleted:
            raise DoesNotExist("The current object doesn't exists anymore")
        return self._pk is not None

    def get_pk(self) -> str:
        """The pk. An unsaved auto-pk instance is saved first (one round trip)."""
        if not self._has_pk():
            self._require_auto_pk()
            self._create({})
        assert self._pk is not None
        return self._pk

    @property
    def connected(self) -> bool:
        """True when the pk is known to exist (created here or loaded with ``Model(pk)``)."""
        return self._connected

    def connect(self) -> None:
        """Check that the pk exists (one round trip); :class:`DoesNotExist` otherwise."""
        if self._connected:
            return
        cls = type(self)
        if self._pk is None or not cls.database.direct_connection.sismember(
            cls._collection_key(), self._pk
        ):
            raise DoesNotExist(f"No {cls.__name__} found with pk {self._pk}")
        self._connected = True

    # -- local cache ----------------------------------------------------------------------

    def _cache_get(self, field: str, key: Any) -> tuple[bool, Any]:
        entries = self._cache.get(field)
        if entries is not None and key in entries:
            return True, entries[key]
        return False, None

    def _cache_set(self, field: str, key: Any, value: Any) -> None:
        if self.cacheable and type(self).cacheable:
            self._cache.setdefault(field, {})[key] = value

    def _cache_clear(self, field: str | None = None) -> None:
        if field is None:
            self._cache.clear()
        else:
            self._cache.pop(field, None)

    def _known_values(self, field: RedisField) -> list[str]:
        """Values of ``field`` known from the local cache (hints for index updates)."""
        found, value = self._cache_get(field.name, _CACHE_KEYS.get(field.kind))
        if not found or value is None:
            return []
        if isinstance(value, str):
            return [value]
        return [v for v in value if isinstance(v, str)]

    # -- hash fields ----------------------------------------------------------------------

    def _check_hash_names(self, names: tuple[str, ...] | list[str]) -> None:
        cls = type(self)
        for name in names:
            if name not in cls._instancehash_fields:
                raise ValueError(
                    f"{cls.__name__}.{name} is not a HashableField (InstanceHashField): hmget "
                    "and hmset only take those"
                )

    def hmget(self, *names: str) -> Any:
        """Values of several hash fields (all of them when no name is given), in order.

        One round trip (none when every value is in the local cache).
        """
        cls = type(self)
        wanted = list(names) or list(cls._instancehash_fields)
        self._check_hash_names(wanted)
        if not self._saved_for_read():
            return [None] * len(wanted)
        database = cls.database
        key = cls._hash_key(self.get_pk())
        if database.has_pipeline():
            return database.connection.hmget(key, wanted)
        cached = [self._cache_get(n, ("hget", ())) for n in wanted]
        if all(found for found, _ in cached):
            return [value for _, value in cached]
        values = database.direct_connection.hmget(key, wanted)
        for name, value in zip(wanted, values, strict=True):
            if cls._redis_fields[name].cacheable:
                self._cache_set(name, ("hget", ()), value)
        return list(values)

    def hgetall(self) -> dict[str, str]:
        """Every InstanceHashField holding a value, as ``{name: value}`` (one round trip)."""
        names = list(type(self)._instancehash_fields)
        if not names:
            return {}
        return {n: v for n, v in zip(names, self.hmget(*names), strict=True) if v is not None}

    def hkeys(self) -> list[str]:
        """Names of the InstanceHashFields holding a value. 1 round trip (``hgetall``)."""
        return list(self.hgetall())

    def hvals(self) -> list[str]:
        """Values of the InstanceHashFields holding one. 1 round trip (``hgetall``)."""
        return list(self.hgetall().values())

    def hlen(self) -> int:
        """How many InstanceHashFields hold a value. 1 round trip (``hgetall``)."""
        return len(self.hgetall())

    def hdel(self, *names: str) -> int:
        """Remove several InstanceHashField values (and their index entries); returns how
        many existed. One atomic write per field.
        1 round trip per field (2 with range or configured indexes)."""
        if not names:
            raise ResponseError("wrong number of arguments for 'hdel' command")
        self._check_hash_names(list(names))
        removed = 0
        for name in names:
            bound: Any = self._bound_field(name)
            removed += bound.hdel()
        return removed

    def hmset(self, **values: Any) -> Any:
        """Set several hash fields at once: one round trip (with range or configured indexes: two
        per field, one field after the other).

        One script: the instance must exist, indexable fields keep their indexes and unique
        checks atomic. On an unsaved instance this creates it with these values.
        """
        cls = type(self)
        if not values:
            raise EmptyCommandError(f"{cls.__name__}.hmset() needs at least one field=value")
        self._check_hash_names(list(values))
        if not self._has_pk():
            self._create(values)
            return True
        texts: dict[Any, Any] = {
            name: self._bound_field(name)._normalize_value(value) for name, value in values.items()
        }
        indexed = [n for n in texts if cls._redis_fields[n].indexable]
        database = cls.database
        try:
            if database.has_pipeline():
                if indexed:
                    raise ImplementationError(
                        f"{cls.__name__}.{indexed[0]} is indexable: it cannot be updated inside "
                        "a pipeline or transaction"
                    )
                return database.connection.hset(cls._hash_key(self.get_pk()), mapping=texts)
            if any(cls._redis_fields[n]._uses_ops for n in texts):
                # One atomic write per field, the ones a unique check may refuse first: a
                # refusal then leaves the other fields untouched.
                ordered = sorted(
                    texts.items(), key=lambda item: not cls._redis_fields[item[0]].unique
                )
                for name, text in ordered:
                    bound: Any = self._bound_field(name)
                    bound.hset(text)
                return True
            _hmset_script(self, texts)
            return True
        finally:
            for name in texts:
                self._cache_clear(name)

    # -- deletion -----------------------------------------------------------------------

    def delete(self) -> None:
        """Delete the instance: its fields, its index entries and its pk, atomically.

        One round trip (two with range or configured indexes). Later use of the instance raises
        :class:`DoesNotExist`.
        """
        cls = type(self)
        if not self._has_pk():
            self._deleted = True
            return
        if cls.database.has_pipeline():
            raise ImplementationError(
                f"{cls.__name__}: instances cannot be deleted inside a pipeline"
            )
        if cls._uses_ops():
            delete_instance_ops(self)
        else:
            delete_instance(self)
        self._cache_clear()
        self._deleted = True

    # -- queries --------------------------------------------------------------------------

    @classmethod
    def collection(cls, manager: type[Collection] | None = None, **filters: Any) -> Collection:
        """A lazy :class:`~limpyd.collection.Collection` of pks matching ``filters``. No Redis
        work: evaluating it is 1 round trip."""
        return (manager or cls.collection_manager)(cls)(**filters)

    @classmethod
    def instances(cls, **filters: Any) -> Collection:
        """``collection(**filters).instances()``. No Redis work: evaluating it is 1 round trip."""
        return cls.collection(**filters).instances()

    @classmethod
    def exists(cls, **filters: Any) -> bool:
        """True when an instance matches ``filters`` (one round trip)."""
        if not filters:
            raise ValueError("`Exists` method requires at least one kwarg.")
        if len(filters) == 1 and next(iter(filters)) in ("pk", cls._pk_field_name):
            return cls._pk_field().exists(next(iter(filters.values())))
        try:
            cls.collection(**filters).sort(by="nosort")[0]
        except IndexError:
            return False
        return True

    @classmethod
    def get(cls, *args: Any, **filters: Any) -> RedisModel:
        """The instance with pk ``args[0]``, or the only one matching ``filters``.

        :class:`DoesNotExist` when none matches, ``ValueError`` when several do.
        1 round trip for a pk (also as the only filter, ``pk=`` or the pk field's name, one
        ``SISMEMBER``); 2 for other filters (the collection, then the load).
        """
        if len(args) == 1 and not filters:
            return cls(args[0])
        if args or not filters:
            raise ValueError(f"Invalid `get` usage with args {args} and kwargs {filters}")
        collection = cls.collection(**filters)
        pk = collection._only_pk()  # the collection's own reading of the filters
        if pk is not None:
            return cls(pk)
        pks = list(collection.sort(by="nosort")[:2])
        if not pks:
            raise DoesNotExist(f"No object matching filter: {filters}")
        if len(pks) > 1:
            raise ValueError(f"More than one object matching filter: {filters}")
        return cls(pks[0])

    @classmethod
    def get_or_connect(cls, **filters: Any) -> tuple[RedisModel, bool]:
        """``(instance, created)``: the one matching ``filters`` or a new one made from them. 2
        round trips (the collection, then the load or the create)."""
        try:
            return cls.get(**filters), False
        except DoesNotExist:
            return cls(**filters), True

    # -- misc -----------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RedisModel):
            return NotImplemented
        return type(self) is type(other) and self._pk is not None and self._pk == other._pk

    def __hash__(self) -> int:
        return hash((type(self), self._pk))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} pk={self._pk!r}>"


_RESERVED = frozenset(name for name in dir(RedisModel) if not name.startswith("__")) | {
    "database",
}


# -- class construction (``RedisModel.__init_subclass__``) ------------------------------


def _declaration_site(frame: FrameType) -> tuple[str, int]:
    """Where the model class is declared (file, line): the first frame from ``frame`` (the
    caller of ``__init_subclass__``) outwards that is not class creation (another
    ``__init_subclass__``, a metaclass' ``__new__`` or ``__init__``)."""
    while frame.f_back is not None and frame.f_code.co_name in (
        "__init_subclass__",
        "__new__",
        "__init__",
    ):
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno)


def _merged_fields(cls: type[RedisModel]) -> dict[str, RedisField]:
    """The fields of ``cls`` by name, inherited ones first, then its own in declaration order;
    an ``AutoPKField`` named ``pk`` comes first when no pk field is declared."""
    merged: dict[str, RedisField] = {}
    for base in reversed(cls.__mro__[1:]):
        merged.update(base.__dict__.get("_redis_fields", {}))
    own = sorted(
        ((n, f) for n, f in cls.__dict__.items() if isinstance(f, RedisField)),
        key=lambda item: item[1]._creation_order,
    )
    own_pks = [n for n, f in own if isinstance(f, PKField)]
    if len(own_pks) > 1:
        raise ImplementationError(f"Only one PKField field is allowed on {cls.__name__}")
    if own_pks:
        _drop_inherited_pks(cls, merged, own_pks[0])
    for name, field in own:
        if name.startswith("_") or name in _RESERVED:
            raise ImplementationError(
                f"{cls.__name__}.{name}: this name is reserved by RedisModel, rename the field"
            )
        merged.pop(name, None)
        merged[name] = field
    if not any(isinstance(f, PKField) for f in merged.values()):
        auto = AutoPKField()
        auto._auto_added = True  # type: ignore[attr-defined]
        merged = {"pk": auto, **merged}
    return merged


def _drop_inherited_pks(cls: type[RedisModel], merged: dict[str, RedisField], own: str) -> None:
    """Remove the inherited pk field from ``merged``, ``cls`` declaring its own pk ``own``: only
    an automatic one (or one of the same name) may be replaced."""
    for name, field in list(merged.items()):
        if isinstance(field, PKField):
            if not getattr(field, "_auto_added", False) and name != own:
                raise ImplementationError(
                    f"Only one PKField field is allowed on {cls.__name__} (inherited {name!r})"
                )
            del merged[name]


def _install_fields(
    cls: type[RedisModel], merged: dict[str, RedisField], pk_name: str
) -> dict[str, RedisField]:
    """Set a copy of each field, for ``cls``, as its class attribute (the pk first; also as
    ``pk`` when named otherwise); returns them by name."""
    ordered = {pk_name: merged[pk_name]}
    ordered.update((n, f) for n, f in merged.items() if n != pk_name)
    fields: dict[str, RedisField] = {}
    for name, field in ordered.items():
        clone = field._for_model(cls, name)
        if getattr(field, "_auto_added", False):
            clone._auto_added = True  # type: ignore[attr-defined]
        setattr(cls, name, clone)
        setattr(cls, f"_redis_attr_{name}", clone)
        fields[name] = clone
    if pk_name != "pk":
        if "pk" in fields:
            raise ImplementationError(f"{cls.__name__}: 'pk' is the name of the primary key")
        cls.pk = fields[pk_name]  # type: ignore[attr-defined]
    return fields


def _check_cluster_tag(cls: type[RedisModel]) -> None:
    """``cluster_tag`` is None or a non-empty str without braces."""
    tag = cls.cluster_tag
    if tag is not None and (
        not isinstance(tag, str) or not tag or any(c in tag for c in _TAG_FORBIDDEN)
    ):
        raise ImplementationError(
            f"{cls.__name__}.cluster_tag must be a non-empty str without braces (or None), "
            f"got {tag!r}"
        )


def _register_concrete(cls: type[RedisModel], fields: dict[str, RedisField]) -> None:
    """Check the database and namespace of the concrete model ``cls``, let its index classes
    prepare, and register it with its database."""
    database = getattr(cls, "database", None)
    if not isinstance(database, RedisDatabase):
        raise ImplementationError(f"You must define a database for the model {cls.__name__}")
    namespace = cls.namespace or ""
    if not isinstance(namespace, str):
        raise ImplementationError(f"{cls.__name__}.namespace must be a str")
    cls.namespace = namespace
    cls._name = f"{namespace}:{cls.__name__.lower()}"
    cls._max_pk_hint = ""
    for field in list(fields.values()):
        for index_class in list(field.index_classes):
            ready = getattr(index_class, "_field_model_ready", None)
            if ready is not None:
                ready(cls, field)
    database._add_model(cls)


# -- instance creation (``RedisModel._create``) -----------------------------------------


def _creation_pk_and_data(
    cls: type[RedisModel], values: dict[str, Any]
) -> tuple[str | None, dict[str, Any]]:
    """The pk given to a creation (normalised; None for an auto-increment pk) and the field
    values; ``ValueError`` for an unknown field, two pk values, or a pk given to an
    auto-increment model or missing from another."""
    pk_field = cls._pk_field()
    given_name: str | None = None
    given: Any = None
    data: dict[str, Any] = {}
    for name, value in values.items():
        if name in ("pk", cls._pk_field_name):
            if given_name is not None:
                raise ValueError(
                    f"You cannot pass two values for the primary key (pk and {cls._pk_field_name})"
                )
            given_name, given = name, value
        elif name not in cls._redis_fields:
            raise ValueError(f"`{name}` is not a valid field name for `{cls.__name__}`.")
        else:
            data[name] = value
    if pk_field.auto_increment:
        if given_name is not None:
            raise ValueError(f'The pk for {cls.__name__} is "auto-increment", you must not fill it')
        return None, data
    if given_name is None:
        raise ValueError(f'The pk for {cls.__name__} is not "auto-increment", you must fill it')
    return pk_field.normalize(given), data


def _creation_layout(
    instance: RedisModel, data: dict[str, Any]
) -> tuple[list[tuple[str, str]], list[tuple[RedisField, list[str]]], dict[str, bool]]:
    """What the creation script stores for ``data`` (given values, else defaults): the
    instance-hash items, each standalone field's items, and (when the plain scripts index)
    the index sets to add the pk to, each with its field's uniqueness."""
    cls = type(instance)
    hash_items: list[tuple[str, str]] = []
    standalone: list[tuple[RedisField, list[str]]] = []
    entries: dict[str, bool] = {}
    for name, field in cls._redis_fields.items():
        if field.kind == "pk":
            continue
        if name in data:
            items = field._bind(instance)._creation_items(data[name])
        elif field.default is not NO_DEFAULT:
            items = field._creation_items(field.default)
        else:
            items = []
        if field.kind == "hash":
            if items:
                hash_items.append((name, items[0]))
        else:
            standalone.append((field, items))
        if field.indexable and not cls._uses_ops():
            for value in field._index_values(items):
                entries[field.index_prefix + value] = field.unique
    return hash_items, standalone, entries
