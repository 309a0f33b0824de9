"""``Model``: rows stored as Redis hashes with secondary indexes, written atomically.

Key layout (upstream walrus's, so rows written by either library read back in the other),
with ``P`` = ``<namespace>|<model name>:`` (or ``<model name>:``) and ``.`` the
``index_separator``: row hash ``P id.<pk>``; set of row keys ``P all``; equality index
``P <field>.absolute.<value>``; range index ``P <field>.continuous``; full-text index
``P <field>.fts.<token>``; pk counter ``P <pk field>._sequence``; container fields
``P container.<field>.<row key>``. Indexed text fields also keep ``P <field>.lex`` (a
lexicographic sorted set for ``startswith`` and text ranges; ``rebuild_indexes`` builds it
for rows written by upstream walrus). On Redis Cluster ``P`` carries a hash tag
(``{<namespace>|<model name>}:``, or ``{<__cluster_tag__>}:`` + ``P``; see ``layout``) so
that every key of a model shares one slot.

Every write (row hash + every index delta + unique checks + pk allocation) is one Lua
script (``model_write.lua``), guarded by the indexed values the client believes are
stored; on a mismatch nothing is written and the write is retried with what the script
reported.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Generator, Iterator
from typing import Any, ClassVar, cast

from ..calls import call
from ..containers import Hash
from .deletion import delete_rows_steps, state_from_reply
from .errors import (
    FieldTypeError,
    FieldValueError,
    MissingReferenceError,
    ModelError,
    PipelineError,
    UniqueError,
    WriteConflictError,
)
from .expressions import Expression
from .fields import (
    EXACT_INT,
    AutoIncrementField,
    Field,
    FloatField,
    IntegerField,
    TextField,
    _ContainerField,
)
from .indexes import IndexProblem, field_entries, unique_checks
from .layout import Query, check_tag_option, cluster_prefix, plain_prefix
from .reindex import check_indexes, rebuild_indexes
from .relations import ForeignKeyField, RelatedSet, _ForeignKeyId, register_model
from .writer import Writer, run_model

__all__ = ["Model", "ModelMeta"]

MAX_ATTEMPTS = 100
# Stands for the auto-increment key the write script allocates (0xff never occurs in
# UTF-8 text, so no text value or text-index member can end with it).
NEXT_KEY = b"\xff#walrus-next-key#\xff"
DELETE_BATCH = 200  # rows per script call in query_delete
# A generated row reader: (row key, HGETALL dict or HMGET values) -> the instance.
RowBuilder = Callable[[bytes, Any], "Model"]
Steps = Generator[Any, Any, Any]  # a call written as steps (walrus.steps)


class ModelMeta(type):
    """Collects fields (inherited ones are copied per class), adds ``_id`` when no primary
    key is declared, and refuses field names that would collide with keys or methods."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> ModelMeta:
        cls = super().__new__(mcs, name, bases, attrs)
        # The class being built, as Any: its attributes are declared on Model, not here.
        model: Any = cls
        if not any(isinstance(base, ModelMeta) for base in bases):  # Model itself
            model._fields, model._primary_key = {}, ""
            model._stored = model._containers = model._indexed = model._unique = ()
            model._unique_together = model._references = model._reverse = ()
            return cls
        fields, primary = _with_primary_key(name, _collect_fields(cls, attrs))
        _check_class_options(name, cls)
        separator = attrs.get("index_separator", getattr(cls, "index_separator", "."))
        for fname, field in fields.items():
            _check_field_name(name, fname, field, separator)
            field.bind(model, fname)
            setattr(cls, fname, field)
        _set_field_groups(model, name, fields, primary)
        for fname in model._references:
            id_name = f"{fname}_id"
            if id_name not in fields and id_name not in attrs:
                setattr(cls, id_name, _ForeignKeyId(fname))
        model._query = Query(model)
        register_model(model)
        return cls


def _collect_fields(cls: type, attrs: dict[str, Any]) -> dict[str, Field]:
    """The inherited fields (copied: each class binds its own), then the declared ones."""
    fields: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for fname, field in getattr(base, "_fields", {}).items():
            fields[fname] = copy.copy(field)
    for fname, value in attrs.items():
        if isinstance(value, Field):
            fields[fname] = value
    return fields


def _with_primary_key(name: str, fields: dict[str, Field]) -> tuple[dict[str, Field], str]:
    """``fields`` with exactly one primary key (an implicit ``_id`` added when none is
    declared), and its name; TypeError for several."""
    primary = [f for f, field in fields.items() if field.primary_key]
    declared = [f for f in primary if not getattr(fields[f], "_implicit", False)]
    if declared and len(declared) < len(primary):
        # A base got the implicit ``_id``; a subclass with its own primary key replaces it
        # (upstream's usual pattern: a BaseModel holding ``__database__``).
        fields = {f: field for f, field in fields.items() if f in declared or f not in primary}
        primary = declared
    if not primary:
        auto: Any = AutoIncrementField(primary_key=True)  # Any: _implicit is a marker
        auto._implicit = True
        fields = {"_id": auto, **fields}
        primary = ["_id"]
    if len(primary) > 1:
        raise TypeError(f"model {name} declares several primary keys: {', '.join(primary)}")
    return fields, primary[0]


def _check_class_options(name: str, cls: type) -> None:
    """Validate ``__cluster_tag__`` and ``__compact_indexes__``."""
    check_tag_option(name, getattr(cls, "__cluster_tag__", None))
    compact = getattr(cls, "__compact_indexes__", False)
    if not isinstance(compact, bool):
        raise TypeError(f"{name}.__compact_indexes__ must be True or False, got {compact!r}")


def _set_field_groups(model: Any, name: str, fields: dict[str, Field], primary: str) -> None:
    """Set the field tables of ``model`` (``_fields``, ``_stored``, ``_indexed``, ...)."""
    model._fields = fields
    model._primary_key = primary
    model._stored = tuple(f for f, fld in fields.items() if not isinstance(fld, _ContainerField))
    model._containers = tuple(f for f, fld in fields.items() if isinstance(fld, _ContainerField))
    # Before _indexed: the fields of a group become indexed.
    model._unique_together = _unique_together(name, model, fields)
    model._indexed = tuple(f for f in model._stored if fields[f].indexes)
    model._unique = tuple(f for f in model._stored if fields[f].unique)
    model._references = tuple(f for f in model._stored if isinstance(fields[f], ForeignKeyField))
    model._reverse = ()


def _unique_together(
    model: str, cls: type, fields: dict[str, Field]
) -> tuple[tuple[str, ...], ...]:
    """Validate ``__unique_together__`` and index its fields (their equality sets are
    intersected by the unique check)."""
    declared = getattr(cls, "__unique_together__", ())
    if isinstance(declared, (str, bytes)) or not isinstance(declared, (list, tuple)):
        raise TypeError(
            f"{model}.__unique_together__ must be a list of tuples of field names, got {declared!r}"
        )
    groups = []
    for group in declared:
        if (
            isinstance(group, (str, bytes))
            or not isinstance(group, (list, tuple))
            or len(group) < 2
        ):
            raise TypeError(
                f"{model}.__unique_together__: each entry is a tuple of two or more field "
                f"names, got {group!r}"
            )
        for fname in group:
            field = fields.get(fname) if isinstance(fname, str) else None
            if field is None or isinstance(field, _ContainerField):
                raise TypeError(
                    f"{model}.__unique_together__: {fname!r} is not a stored field of {model}"
                )
        if len(set(group)) != len(group):
            raise TypeError(f"{model}.__unique_together__: {tuple(group)!r} repeats a field")
        for fname in group:
            fields[fname].index = True
        groups.append(tuple(group))
    return tuple(groups)


_RESERVED = {"container", "all", "pipeline"}  # "pipeline" is a keyword of create()


def _check_field_name(model: str, name: str, field: Field, separator: str) -> None:
    if name in _RESERVED:
        raise TypeError(f"{model}.{name}: the field name {name!r} is reserved by the key layout")
    if separator and separator in name:
        raise TypeError(
            f"{model}.{name}: a field name cannot contain the index separator {separator!r}"
        )
    if name == "id" and not (field.primary_key and isinstance(field, IntegerField)):
        # "P id.absolute.x" would be the row key of primary key "absolute.x".
        raise TypeError(f"{model}.id: a field named 'id' must be an integer primary key")
    if name in globals().get("_MODEL_ATTRS", ()):
        raise TypeError(f"{model}.{name}: the field name {name!r} hides a Model attribute")


class Model(metaclass=ModelMeta):
    """A row type stored in Redis: declare fields as class attributes.

    ``__database__`` (required): the ``walrus.Database``; ``__namespace__``: optional key
    namespace; ``index_separator``: delimiter inside keys (default ``.``);
    ``__cluster_tag__``: the hash tag of the model's keys on Redis Cluster (default: the
    namespace and model name; models joined by relations must share one, see
    ``walrus.models.layout``); ``__compact_indexes__ = True``: keep no equality set where
    another index answers equality (less memory per row; upstream walrus then cannot filter
    these rows by equality, see docs/models.md). Without a
    declared primary key, an auto-incrementing ``_id`` is added. ``_data`` holds the
    field values of an instance.
    """

    __database__: ClassVar[Any] = None
    __namespace__: ClassVar[str | None] = None
    __cluster_tag__: ClassVar[str | None] = None
    __compact_indexes__: ClassVar[bool] = False
    index_separator: ClassVar[str] = "."

    _fields: ClassVar[dict[str, Field]]
    _primary_key: ClassVar[str]
    _stored: ClassVar[tuple[str, ...]]
    _containers: ClassVar[tuple[str, ...]]
    _walrus_key_base: ClassVar[tuple[Any, ...]]  # (see _make_key)
    _indexed: ClassVar[tuple[str, ...]]
    _unique: ClassVar[tuple[str, ...]]
    _unique_together: ClassVar[tuple[tuple[str, ...], ...]]
    _references: ClassVar[tuple[str, ...]]
    _reverse: ClassVar[tuple[Any, ...]]
    _walrus_reader: ClassVar[tuple[RowBuilder, RowBuilder]]  # built by _reader() on first use
    # The many-to-many accessor of this model's rows (AsyncModel: an awaitable one).
    _related_set: ClassVar[type[RelatedSet]] = RelatedSet

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args:
            raise TypeError(f"{type(self).__name__}() takes field values as keyword arguments only")
        cls = type(self)
        unknown = sorted(set(kwargs) - set(cls._stored))
        if unknown:
            containers = [k for k in unknown if k in cls._containers]
            hint = f" (container fields {containers} are filled after saving)" if containers else ""
            raise TypeError(f"{cls.__name__}() got unknown field(s): {', '.join(unknown)}{hint}")
        self._data: dict[str, Any] = {}
        self._snapshot: dict[str, bytes | None] | None = None
        self._saved_key: bytes | None = None
        for name in cls._stored:
            field = cls._fields[name]
            value = kwargs[name] if name in kwargs else field.default()
            self._data[name] = field.validate(value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.get_id()!r}>"

    def __eq__(self, other: object) -> bool:
        return (
            type(other) is type(self)
            and other.get_id() == self.get_id()
            and self.get_id() is not None
        )

    def __hash__(self) -> int:
        return hash((type(self), self.get_id()))

    # -- keys ---------------------------------------------------------------------------

    @classmethod
    def _prefix(cls) -> bytes:
        database = cls.__database__
        if database is not None and getattr(database, "is_cluster", False):
            return cluster_prefix(cls, database)
        return plain_prefix(cls)

    @classmethod
    def _make_key(cls, *parts: str | bytes) -> bytes:
        database, namespace, separator = cls.__database__, cls.__namespace__, cls.index_separator
        # A create builds ~16 keys: the prefix and separator bytes are remembered per class
        # while database, namespace and separator stay (a cluster's prefix has its own cache).
        base = cls.__dict__.get("_walrus_key_base")
        if base is None or base[0] is not database or base[1] != namespace or base[2] != separator:
            base = (database, namespace, separator, cls._prefix(), separator.encode("utf-8"))
            if not getattr(database, "is_cluster", False):
                cls._walrus_key_base = base
        return base[3] + base[4].join(
            [p.encode("utf-8") if isinstance(p, str) else p for p in parts]
        )

    @classmethod
    def _row_key(cls, pk: Any) -> bytes:
        return cls._make_key("id", cls._fields[cls._primary_key].db_value(pk))

    @classmethod
    def _container_key(cls, name: str, row_key: bytes) -> bytes:
        return cls._make_key("container", name, row_key)

    @classmethod
    def _db(cls) -> Any:
        if cls.__database__ is None:
            raise ModelError(f"{cls.__name__}.__database__ is not set")
        return cls.__database__

    @classmethod
    def _run_steps(
        cls, make: Callable[[], Steps], on: type[Model] | None = None, label: str = ""
    ) -> Any:
        """Run the steps ``make()`` builds on the database of ``on`` (default: this model)
        and return the result; ``AsyncModel`` returns an awaitable of it instead (how
        relation descriptors read; ``label`` names the read in its errors, e.g.
        ``note.author``). Cost: the steps' round trips."""
        return run_model(on or cls, make())

    def get_id(self) -> Any:
        """The primary key value (None before the first save of an auto key). No Redis
        work."""
        return self._data.get(type(self)._primary_key)

    def get_hash_id(self) -> bytes | None:
        """The row hash key ``P id.<pk>`` (None without a primary key). No Redis work."""
        pk = self.get_id()
        return None if pk is None else type(self)._row_key(pk)

    def to_hash(self) -> Hash:
        """A ``walrus.Hash`` on the row's raw data. No round trip."""
        key = self.get_hash_id()
        if key is None:
            raise ValueError(f"{type(self).__name__} has no primary key yet: save it first")
        return Hash(type(self)._db(), key)

    # -- serialisation ----------------------------------------------------------------------

    def _serialize(self) -> dict[str, bytes | None]:
        cls = type(self)
        raw: dict[str, bytes | None] = {}
        for name in cls._stored:
            field = cls._fields[name]
            value = field.validate(self._data.get(name))
            self._data[name] = value
            raw[name] = None if value is None else field.db_value(value)
        return raw

    @classmethod
    def _reader(cls) -> tuple[RowBuilder, RowBuilder]:
        """``(build(key, raw), build_values(key, values))``: the instance of a row from its
        HGETALL dict or from its HMGET values in ``_stored`` order, generated once per class
        as straight-line code (no loop or call per field). Built-in number and
        text fields use ``int``/``float``/``bytes.decode`` inline; a row those refuse, or
        without its primary key (e.g. read by a decoding client), goes through
        ``_from_raw_checked`` (each field's ``python_value``, FieldValueError naming it)."""
        cached = cls.__dict__.get("_walrus_reader")
        if cached is None:
            cached = _compile_reader(cls)
            cls._walrus_reader = cached
        return cached

    @classmethod
    def _from_values(cls, key: bytes, values: list[Any]) -> Model:
        """The instance of a row from the values of its stored fields in ``_stored`` order
        (an HMGET reply, None for a missing field). No round trip."""
        return cls._reader()[1](key, values)

    @classmethod
    def _from_raw(cls, key: bytes, raw: dict[Any, bytes]) -> Model:
        """The instance of a row from its HGETALL dict. No round trip."""
        return cls._reader()[0](key, raw)

    @classmethod
    def _from_raw_checked(cls, key: bytes, raw: dict[Any, bytes]) -> Model:
        """``_from_raw`` one field at a time through ``python_value``: a value it cannot
        read raises FieldValueError naming the row and field."""
        instance = cls.__new__(cls)
        values = {(k.decode("utf-8") if isinstance(k, bytes) else k): v for k, v in raw.items()}
        instance._data = {}
        for name in cls._stored:
            stored = values.get(name)
            if stored is None:
                instance._data[name] = None
                continue
            try:
                instance._data[name] = cls._fields[name].python_value(bytes(stored))
            except (ValueError, TypeError, UnicodeDecodeError) as exc:
                raise FieldValueError(
                    f"row {key!r}: stored value {stored!r:.80} of field {name!r} cannot be "
                    f"read: {exc}"
                ) from None
        instance._snapshot = {name: values.get(name) for name in cls._indexed}
        instance._saved_key = key
        return instance

    # -- writes ---------------------------------------------------------------------------

    def save(self, pipeline: Any = None) -> None:
        """Write the row and every index change atomically (one Lua script). Unique
        fields, ``__unique_together__`` groups and references are checked in the same step;
        a refused write (UniqueError, MissingReferenceError, bad value) writes nothing and
        allocates no key. 1 round trip (an auto-increment key is allocated by the script:
        the counter + 1, skipping keys whose row exists); 2 when the row changed since it
        was read.

        ``pipeline``: queue the script on this pipeline (or ``db.transaction`` pipe) instead;
        a refusal then makes the pipeline's ``execute`` raise ``redis.ResponseError``
        ("WALRUS_REFUSED ..."). Needs no read: the primary key must be set (or generated,
        e.g. a UUID) and the stored state known (a new row, or one this instance loaded or
        saved); otherwise PipelineError. A pipe in WATCH mode (before ``multi()``) runs the
        save at once, like the database."""
        run_model(type(self), self._save_steps(pipeline))

    def _save_steps(self, pipeline: Any = None) -> Steps:
        """``save`` as steps (``walrus.steps``), for either client: everything is checked
        before the first step. Cost: that of ``save``."""
        cls = type(self)
        db = cls._db()
        queue = _queued(pipeline)
        raw = self._serialize()
        allocate = self._prepare_primary_key(raw, queue)
        for _ in range(MAX_ATTEMPTS):
            key, state, seq = self._write_target(raw, allocate, queue)
            writer = Writer(db)
            writer.save_op(cls, key, raw, state, *seq)
            reply = yield writer.step(client=pipeline, queue=queue)
            if reply is None:
                self._mark_saved(writer, raw, key, allocate)
                return
            self._take_refusal(reply, key, allocate)
        if allocate:
            self._data[cls._primary_key] = None
        raise WriteConflictError(f"{cls.__name__} row kept changing during {MAX_ATTEMPTS} attempts")

    def _prepare_primary_key(self, raw: dict[str, bytes | None], queue: bool) -> bool:
        """Generate a missing primary key (a UUID...) into ``_data`` and ``raw``; whether
        the write script must allocate it instead (an auto-increment key)."""
        cls = type(self)
        pk_name = cls._primary_key
        pk_field = cls._fields[pk_name]
        if self._data.get(pk_name) is None:
            if isinstance(pk_field, AutoIncrementField):
                if queue:
                    raise PipelineError(
                        f"{cls.__name__}.{pk_name} is an auto-increment key: the script "
                        "allocates it, and a queued save cannot give the instance its key; "
                        "give the key explicitly or save outside the pipeline"
                    )
                return True
            generated = pk_field.generate_key()
            if generated is None:
                raise FieldValueError(f"{cls.__name__}: primary key {pk_name!r} needs a value")
            self._data[pk_name] = pk_field.validate(generated)
            raw[pk_name] = pk_field.db_value(self._data[pk_name])
        elif queue and self._saved_key not in (None, cls._row_key(self._data[pk_name])):
            raise PipelineError(
                f"{cls.__name__}: the primary key changed since the row was read; "
                "save outside the pipeline"
            )
        return False

    def _write_target(
        self, raw: dict[str, bytes | None], allocate: bool, queue: bool
    ) -> tuple[bytes, Any, tuple[str, bytes, str]]:
        """The row key of this attempt, the state it is guarded on, and the sequence
        arguments of ``save_op`` (mode, expected placeholder, value)."""
        cls = type(self)
        pk_name = cls._primary_key
        if allocate:
            # Placeholder key: the script puts the allocated key wherever it appears.
            raw[pk_name] = NEXT_KEY
            return cls._make_key("id", NEXT_KEY), {}, ("next", NEXT_KEY, "")
        key = cls._row_key(self._data[pk_name])
        state = self._snapshot if self._saved_key == key else ({} if queue else None)
        if isinstance(cls._fields[pk_name], AutoIncrementField):
            return key, state, ("max", b"", str(self._data[pk_name]))
        return key, state, ("", b"", "")

    def _mark_saved(
        self, writer: Writer, raw: dict[str, bytes | None], key: bytes, allocate: bool
    ) -> None:
        """Record a written row: the allocated key, and the stored state for later writes."""
        cls = type(self)
        if allocate:
            pk_name = cls._primary_key
            pk_field = cls._fields[pk_name]
            self._data[pk_name] = pk_field.python_value(bytes(writer.reply[1]))
            raw[pk_name] = pk_field.db_value(self._data[pk_name])
            key = cls._row_key(self._data[pk_name])
        self._snapshot = {name: raw.get(name) for name in cls._indexed}
        self._saved_key = key

    def _take_refusal(self, reply: list[Any], key: bytes, allocate: bool) -> None:
        """Raise a refused write's error, or take the stored state a guard reported."""
        cls = type(self)
        reason = _text(reply[2])
        if reason in ("unique", "ref"):
            if allocate:
                self._data[cls._primary_key] = None
            raise self._refusal(reason, _text(reply[3]))
        if reason == "state" and not allocate:
            self._snapshot = state_from_reply(cls, reply) if int(reply[3]) else {}
            self._saved_key = key if int(reply[3]) else None
        elif reason != "state":
            raise ModelError(f"unexpected reply from model_write: {reply!r}")

    def _refusal(self, reason: str, label: str) -> ModelError:
        cls = type(self)
        if reason == "ref":
            field = cls._fields[label]
            target = cast(ForeignKeyField, field).rel_model.__name__
            return MissingReferenceError(
                f"{cls.__name__}.{label}: no {target} with primary key {self._data[label]!r}", label
            )
        names = tuple(label.split(","))
        if len(names) == 1:
            return UniqueError(
                f"{cls.__name__}.{label} must be unique: value {self._data[label]!r} is taken",
                label,
                self._data[label],
            )
        values = tuple(self._data[n] for n in names)
        return UniqueError(
            f"{cls.__name__}: the combination of ({', '.join(names)}) must be unique: "
            f"{values!r} is taken",
            ", ".join(names),
            values,
            names,
        )

    def delete(self, for_update: bool = False, pipeline: Any = None) -> None:
        """Delete the row, its index entries and (unless ``for_update``) its container
        fields atomically, applying the ``on_delete`` rule of every relation pointing at
        it. 1 round trip when the instance was loaded or saved and no relation is involved
        (2 if the row changed meanwhile or its state was unknown); with relations, one
        pipelined read per level of referring rows plus 1 script.

        ``pipeline``: queue the script there instead (the instance must have been loaded or
        saved, and the model take no part in relations; otherwise PipelineError)."""
        run_model(type(self), self._delete_steps(for_update, pipeline))

    def _delete_steps(self, for_update: bool = False, pipeline: Any = None) -> Steps:
        """``delete`` as steps, for either client. Cost: that of ``delete``."""
        cls = type(self)
        key = self.get_hash_id()
        if key is None:
            raise ValueError(f"{cls.__name__} has no primary key: nothing to delete")
        state = self._snapshot if self._saved_key == key else None
        yield from delete_rows_steps(
            cls,
            {key: state},
            keep_containers=for_update,
            pipeline=pipeline,
            queue=_queued(pipeline),
        )
        self._snapshot = None
        self._saved_key = None

    def incr(self, field: Field | str, incr_by: int | float = 1, pipeline: Any = None) -> Any:
        """Add ``incr_by`` to a numeric field in Redis and move its index entries in the
        same script; the instance gets the new value, which is returned. KeyError when the
        row does not exist. 1 round trip. An unindexed field uses HINCRBY / HINCRBYFLOAT;
        an indexed one is a guarded set (its equality-index key depends on the new value),
        retried with the stored value when the instance's value was stale (2 round trips).

        ``pipeline``: queue the increment there (unindexed fields only: an indexed one must
        read the stored value first, PipelineError). Returns None and leaves the instance's
        value alone; the pipeline's reply for it is ``[1, new value as bytes]``, and a missing
        row or an overflow makes ``execute`` raise ``redis.ResponseError("WALRUS_REFUSED ...")``."""
        return run_model(type(self), self._incr_steps(field, incr_by, pipeline))

    def _incr_steps(
        self, field: Field | str, incr_by: int | float = 1, pipeline: Any = None
    ) -> Steps:
        """``incr`` as steps, for either client: everything is checked before the first
        step. Cost: that of ``incr``."""
        cls = type(self)
        name = field.name if isinstance(field, Field) else field
        if name not in cls._stored:
            raise FieldTypeError(f"{cls.__name__} has no field {name!r}")
        target = cls._fields[name]
        if name == cls._primary_key:
            raise FieldTypeError(
                f"{cls.__name__}.{name} is the primary key and cannot be incremented"
            )
        if isinstance(target, IntegerField):
            if isinstance(incr_by, bool) or not isinstance(incr_by, int):
                raise FieldTypeError(
                    f"incr of integer field {name!r} takes an int, got {incr_by!r}"
                )
            amount, kind = str(incr_by), "int"
            limit = str(EXACT_INT) if target.index else ""
        elif isinstance(target, FloatField):
            amount, kind, limit = repr(FloatField.coerce(target, incr_by)), "float", ""
        else:
            raise FieldTypeError(
                f"incr needs an IntegerField or FloatField, {name!r} is a {type(target).__name__}"
            )
        key = self.get_hash_id()
        if key is None:
            raise KeyError(f"{cls.__name__} has no primary key: save it before incr()")
        queue = _queued(pipeline)
        if target.indexes:
            if queue:
                raise PipelineError(
                    f"{cls.__name__}.{name} is indexed: incr must read its stored value to "
                    "move the index entry, which a pipeline cannot do; incr outside the "
                    "pipeline, or set the value and save(pipeline=...)"
                )
            return (yield from self._incr_indexed_steps(target, key, incr_by, pipeline))
        args = [name, amount, kind, limit, "1" if queue else "0"]
        options = {} if pipeline is None else {"client": pipeline}
        reply = yield call.run_script("model_incr", keys=[key], args=args, **options)
        if queue:
            return None
        if int(reply[0]) != 1:
            reason = _text(reply[1])
            if reason == "missing":
                raise KeyError(f"{cls.__name__} row {key!r} does not exist")
            raise FieldValueError(f"field {name!r}: increment refused: {_text(reply[2])}")
        raw_new = bytes(reply[1]) if not isinstance(reply[1], bytes) else reply[1]
        self._data[name] = target.python_value(raw_new)
        return self._data[name]

    def _incr_indexed_steps(
        self, target: Field, key: bytes, incr_by: int | float, client: Any = None
    ) -> Steps:
        cls = type(self)
        name = target.name
        related = _unique_partners(cls, name)
        # The stored state this instance knows (mutated in place as the script reports it).
        snapshot = self._snapshot if self._saved_key == key else None
        believed = self._believed(related, snapshot)
        for _ in range(MAX_ATTEMPTS):
            current = believed[name]
            old = 0 if current is None else target.python_value(current)
            new_value = target.validate(old + incr_by)
            new_raw = target.db_value(new_value)
            writer = Writer(cls._db())
            args = _setfield_args(cls, writer, target, key, related, believed, new_raw)
            options = {} if client is None else {"client": client}
            reply = yield call.run_script("model_setfield", keys=writer.keys, args=args, **options)
            if int(reply[0]) == 1:
                self._data[name] = new_value
                if snapshot is not None:
                    snapshot[name] = new_raw
                return new_value
            _take_setfield_refusal(cls, reply, key, name, related, believed, snapshot)
        raise WriteConflictError(
            f"{cls.__name__}.{name} kept changing during {MAX_ATTEMPTS} attempts"
        )

    def _believed(
        self, names: list[str], snapshot: dict[str, bytes | None] | None
    ) -> dict[str, bytes | None]:
        """The stored values of ``names`` as this instance believes them: from the state it
        loaded or saved, else from its current values."""
        fields = type(self)._fields
        believed: dict[str, bytes | None] = {}
        for fname in names:
            if snapshot is not None:
                believed[fname] = snapshot.get(fname)
            else:
                value = self._data.get(fname)
                believed[fname] = None if value is None else fields[fname].db_value(value)
        return believed

    # -- class API --------------------------------------------------------------------------

    @classmethod
    def create(cls, pipeline: Any = None, **kwargs: Any) -> Model:
        """Build and save a row. Over an existing primary key the old row is replaced
        cleanly (its stale index entries removed). 1 round trip (2 when replacing a row
        this process has not read; see ``save``).
        ``pipeline``: queue the write there (see ``save``): the row must be new (a queued
        create over an existing row is refused when the pipeline runs)."""
        instance = cls(**kwargs)
        instance.save(pipeline=pipeline)
        return instance

    @classmethod
    def load(cls, primary_key: Any, convert_key: bool = True) -> Model:
        """The row with this primary key (``convert_key=False``: ``primary_key`` is the
        row hash key). KeyError when it does not exist. 1 round trip (HGETALL)."""
        return cast(Model, run_model(cls, cls._load_steps(primary_key, convert_key)))

    @classmethod
    def _load_steps(cls, primary_key: Any, convert_key: bool = True) -> Steps:
        """``load`` as steps, for either client. Cost: that of ``load``."""
        if convert_key:
            pk_field = cls._fields[cls._primary_key]
            if isinstance(pk_field, IntegerField) and isinstance(primary_key, (str, bytes)):
                try:
                    primary_key = int(primary_key)
                except ValueError:
                    raise KeyError(primary_key) from None
            key = cls._row_key(pk_field.validate(primary_key))
        else:
            key = (
                primary_key.encode("utf-8") if isinstance(primary_key, str) else bytes(primary_key)
            )
        raw = yield call.hgetall(key)
        if not raw:
            raise KeyError(primary_key)
        return cls._from_raw(key, raw)

    @classmethod
    def query(cls, expression: Expression | None = None, order_by: Any = None) -> Any:
        """A lazy query of the rows matching ``expression``, ordered by ``order_by`` (a
        field, ``field.desc()``; default: primary key, or relevance for a full-text
        search). No Redis work until it is iterated: then 1 round trip (one script returns
        the keys and the first 500 rows), plus 1 per further 500 rows. See ``ModelQuery``
        for count(), slicing, first(), values() and delete()."""
        from .collection import ModelQuery

        return ModelQuery(cls, expression, order_by)

    @classmethod
    def get(cls, expression: Expression) -> Model:
        """The one row matching ``expression``; ValueError when none or several match.
        1 round trip (plus 1 per further 500 matches for a full-text phrase search, whose
        matches are all read and checked in Python)."""
        return cast(Model, run_model(cls, cls._get_steps(expression)))

    @classmethod
    def _get_steps(cls, expression: Expression) -> Steps:
        """``get`` as steps, for either client. Cost: that of ``get``."""
        found: list[Model] = yield from cls.query(expression)[:2]._fetch_steps()
        if len(found) != 1:
            what = "no" if not found else "more than one"
            raise ValueError(f"{what} {cls.__name__} matches {expression!r}")
        return found[0]

    @classmethod
    def all(cls) -> Iterator[Model]:
        """Every row, in primary-key order. 1 round trip, plus 1 per 500 rows after the
        first 500."""
        return iter(cls.query())

    @classmethod
    def count(cls) -> int:
        """Number of rows (SCARD of ``P all``). 1 round trip."""
        return int(run_model(cls, cls._count_steps()))

    @classmethod
    def _count_steps(cls) -> Steps:
        """``count`` as steps, for either client. Cost: 1 round trip."""
        return int((yield call.scard(cls._make_key("all"))))

    @classmethod
    def query_delete(cls, expression: Expression | None = None) -> int:
        """Delete the rows matching ``expression`` (every row when None) with their index
        entries and containers; returns how many. 1 round trip for the query, then 2 per
        200 rows (a pipelined read of the indexed values, one atomic script); see
        ``ModelQuery.delete`` for relations."""
        return int(cls.query(expression).delete())

    @classmethod
    def check_indexes(cls) -> list[IndexProblem]:
        """Inconsistencies between rows and indexes ([] when none). Reads every key of the
        model, O(rows + index entries). Cost: a SCAN for the rows and one per indexed field
        (1 round trip per 1000 keys of the database each), plus 1 round trip per 500 keys
        read (pipelined)."""
        return check_indexes(cls)

    @classmethod
    def rebuild_indexes(cls) -> list[IndexProblem]:
        """Repair what ``check_indexes`` reports; returns the repaired problems. Cost: the
        round trips of ``check_indexes``, plus 1 per 200 fixes (one guarded script each)."""
        return rebuild_indexes(cls)


_MODEL_ATTRS = {name for name in dir(Model) if not name.startswith("__")} | {
    "_data",
    "_snapshot",
    "_saved_key",
    "_walrus_reader",
}


def _compile_reader(cls: type[Model]) -> tuple[RowBuilder, RowBuilder]:
    """Generate ``build(key, raw)`` and ``build_values(key, values)`` for ``cls`` (see
    ``Model._reader``). Field names enter the source only through ``repr``."""
    names = list(cls._stored)
    namespace: dict[str, Any] = {
        "cls": cls,
        "new": cls.__new__,
        "fallback": cls._from_raw_checked,
        "names": tuple(n.encode("utf-8") for n in names),
    }
    body = []
    items = []
    for j, name in enumerate(names):
        field = cls._fields[name]
        method = type(field).python_value
        if method is IntegerField.python_value:
            expr = f"int(v{j})"
        elif method is FloatField.python_value:
            expr = f"float(v{j})"
        elif method is Field.python_value or method is TextField.python_value:
            expr = f"v{j}.decode('utf-8', 'replace')"
        else:
            namespace[f"c{j}"] = field.python_value
            expr = f"c{j}(v{j})"
        items.append(f"{name!r}: None if v{j} is None else {expr}")
    pk = names.index(cls._primary_key)
    body.append(f"        if v{pk} is None:")
    body.append("            return fallback(key, RAW)")
    body.append("        data = {" + ", ".join(items) + "}")
    body.append("    except (ValueError, TypeError, UnicodeDecodeError, AttributeError):")
    body.append("        return fallback(key, RAW)")
    snapshot = ", ".join(f"{name!r}: v{names.index(name)}" for name in cls._indexed)
    body.append("    instance = new(cls)")
    body.append("    attrs = instance.__dict__")
    body.append("    attrs['_data'] = data")
    body.append("    attrs['_snapshot'] = {" + snapshot + "}")
    body.append("    attrs['_saved_key'] = key")
    body.append("    return instance")
    by_name = ["def build(key, raw):", "    get = raw.get", "    try:"]
    by_name += [f"        v{j} = get({name.encode('utf-8')!r})" for j, name in enumerate(names)]
    by_name += [line.replace("RAW", "raw") for line in body]
    by_position = ["def build_values(key, values):", "    try:"]
    by_position.append("        " + "".join(f"v{j}, " for j in range(len(names))) + "= values")
    raw_dict = "{n: v for n, v in zip(names, values) if v is not None}"
    by_position += [line.replace("RAW", raw_dict) for line in body]
    source = "\n".join(by_name) + "\n\n" + "\n".join(by_position)
    exec(source, namespace)  # noqa: S102 - generated here, field names enter via repr
    return namespace["build"], namespace["build_values"]


def _unique_partners(cls: type[Model], name: str) -> list[str]:
    """``name`` and the fields sharing a ``__unique_together__`` group with it."""
    related = [name]
    for group in cls._unique_together:
        if name in group:
            related.extend(n for n in group if n not in related)
    return related


def _setfield_args(
    cls: type[Model],
    writer: Writer,
    target: Field,
    key: bytes,
    related: list[str],
    believed: dict[str, bytes | None],
    new_raw: bytes,
) -> list[Any]:
    """ARGV of ``model_setfield.lua`` setting ``target`` of row ``key`` (KEYS[1]) to
    ``new_raw``: the guards, the unique checks the new value needs, the index delta."""
    name = target.name
    writer.pos(key)
    args: list[Any] = [name, new_raw, len(related)]
    for fname in related:
        value = believed[fname]
        args.extend((fname, "0" if value is None else "1", value or b""))
    after = {**believed, name: new_raw}
    checks = [c for c in unique_checks(cls, after) if c[0] != "E" and name in c[4].split(",")]
    args.append(len(checks))
    for ckind, ckeys, low, high, label in checks:
        if ckind == "I":
            low, high = " ".join(str(writer.pos(k)) for k in ckeys).encode(), b""
        args.extend((ckind, writer.pos(ckeys[0]), low, high, label))
    old_entries = set(field_entries(cls, target, believed[name], key))
    new_entries = set(field_entries(cls, target, new_raw, key))
    removed = sorted(old_entries - new_entries)
    args.append(len(removed))
    for ekind, ekey, member, _score in removed:
        args.extend((ekind, writer.pos(ekey), member))
    added = sorted(new_entries - old_entries)
    args.append(len(added))
    for ekind, ekey, member, score in added:
        args.extend((ekind, writer.pos(ekey), member, score))
    return args


def _take_setfield_refusal(
    cls: type[Model],
    reply: list[Any],
    key: bytes,
    name: str,
    related: list[str],
    believed: dict[str, bytes | None],
    snapshot: dict[str, bytes | None] | None,
) -> None:
    """Raise a refused ``model_setfield`` call's error, or update ``believed`` (and the
    instance's ``snapshot``) with the stored values its guard reported."""
    reason = _text(reply[1])
    if reason == "missing":
        raise KeyError(f"{cls.__name__} row {key!r} does not exist")
    if reason == "unique":
        label = _text(reply[2])
        what = (
            f"the combination of ({label.replace(',', ', ')})"
            if "," in label
            else f"{cls.__name__}.{name}"
        )
        raise UniqueError(
            f"{what} must be unique: the incremented value is taken",
            label.replace(",", ", "),
            None,
            tuple(label.split(",")),
        )
    if reason != "state":
        raise ModelError(f"unexpected reply from model_setfield: {reply!r}")
    for fname, value in zip(related, reply[2:], strict=False):
        believed[fname] = None if value is None else bytes(value)
        if snapshot is not None:
            snapshot[fname] = believed[fname]


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _queued(pipeline: Any) -> bool:
    """Whether commands sent to ``pipeline`` are queued (False for None, or a pipe in WATCH
    mode before ``multi()``, which runs commands at once)."""
    if pipeline is None:
        return False
    return not (
        getattr(pipeline, "watching", False)
        and not getattr(pipeline, "explicit_transaction", False)
    )
