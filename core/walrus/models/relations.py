"""Relations between models: ``ForeignKeyField`` and ``ManyToManyField`` with reverse
accessors and ``on_delete`` rules.

* A foreign key stores the related row's primary key in the row hash (stored like that
  primary key) and is always indexed (``P <field>.absolute.<pk>``), so the reverse accessor
  ``target.<related_name>`` is a lazy ``ModelQuery``.
* A many-to-many field keeps a set of related row keys per row
  (``P container.<field>.<row key>``) and, per related row, the reverse set of rows linking
  to it (``T container.<related_name>.<related row key>`` on the related model's prefix
  ``T``). Both are changed together by one script.
* Deleting a row applies each relation's ``on_delete``: ``"cascade"`` (foreign key: delete
  the referring rows; many-to-many: drop the links), ``"set_null"`` (foreign key: clear the
  field) or ``"protect"`` (refuse with ``ProtectedError``; nothing is deleted).
* On Redis Cluster both models of a relation must share a hash tag (``__cluster_tag__``),
  since one script touches keys of both; otherwise the first use raises ``ClusterTagError``.
"""

from __future__ import annotations

import weakref
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any, cast

from ..calls import call
from .errors import (
    FieldTypeError,
    FieldValueError,
    MissingReferenceError,
    ModelError,
    PipelineError,
    WriteConflictError,
)
from .fields import ABSOLUTE, Field, _ContainerField
from .layout import forget_layout
from .writer import Nested, Writer, reply_text, run_model

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model

__all__ = ["ON_DELETE", "ForeignKeyField", "ManyToManyField", "RelatedSet", "register_model"]

ON_DELETE = ("cascade", "set_null", "protect")
"""The ``on_delete`` rules a foreign key accepts (a many-to-many field: cascade, protect)."""
MAX_ATTEMPTS = 100
Steps = Generator[Any, Any, Any]  # a call written as steps (walrus.steps)

_REGISTRY: list[weakref.ref[type[Model]]] = []
_PENDING: list[weakref.ref[_Relation]] = []


class _Relation:
    """What foreign keys and many-to-many fields share: the target and reverse name."""

    name: str
    model: type[Model] | None

    def _init_relation(
        self, to: Any, on_delete: str, related_name: str | None, allowed: tuple[str, ...]
    ) -> None:
        from .model import Model

        if not (isinstance(to, str) and to) and not (
            isinstance(to, type) and issubclass(to, Model)
        ):
            raise TypeError(f"a relation takes a Model subclass or its class name, got {to!r}")
        on_delete = _check_on_delete(type(self).__name__, on_delete, allowed)
        if related_name is not None and (
            not isinstance(related_name, str) or not related_name.isidentifier()
        ):
            raise ValueError(f"related_name must be an identifier, got {related_name!r}")
        self._to = to
        self.on_delete = on_delete
        self.related_name = related_name
        self._rel_model: type[Model] | None = None

    @property
    def reverse_name(self) -> str:
        """Attribute of the related model giving the reverse side."""
        assert self.model is not None
        return self.related_name or f"{self.model.__name__.lower()}_set"

    @property
    def rel_model(self) -> type[Model]:
        """The related model (resolved from its name on first use)."""
        if self._rel_model is None:
            _resolve(self)
        if self._rel_model is None:
            owner = self.model.__name__ if self.model is not None else "?"
            raise ModelError(f"{owner}.{self.name}: related model {self._to!r} is not defined")
        return self._rel_model


def _check_on_delete(kind: str, value: Any, allowed: tuple[str, ...]) -> str:
    """The canonical ``on_delete`` rule (``"set-null"`` is read as ``"set_null"``);
    ValueError naming the choices and the default otherwise."""
    if isinstance(value, str) and value.replace("-", "_") in allowed:
        return value.replace("-", "_")
    choices = ", ".join(map(repr, allowed))
    hint = ""
    if value in ("set_null", "set-null"):
        hint = " (a many-to-many link has no field to clear: 'cascade' drops the links)"
    raise ValueError(
        f"{kind}(on_delete=...) must be one of {choices} (default 'cascade'), got {value!r}{hint}"
    )


def _live_models() -> Iterator[type[Model]]:
    for ref in list(_REGISTRY):
        model = ref()
        if model is None:
            _REGISTRY.remove(ref)
        else:
            yield model


def _same_database(a: type[Model], b: type[Model]) -> bool:
    return a.__database__ is b.__database__ or a.__database__ is None or b.__database__ is None


def _resolve(field: _Relation) -> bool:
    assert field.model is not None
    target: type[Model] | None = None
    if isinstance(field._to, type):
        target = field._to
    elif field._to == "self":
        target = field.model
    else:
        for model in _live_models():  # the latest definition of that name wins
            if model.__name__ == field._to and _same_database(model, field.model):
                target = model
    if target is None:
        return False
    _bind(field, target)
    return True


def _bind(field: _Relation, target: type[Model]) -> None:
    name = field.reverse_name
    source = cast("type[Model]", field.model)  # bound by ModelMeta before registration
    if name in target._fields:
        raise TypeError(
            f"{source.__name__}.{field.name}: related_name {name!r} is a field of {target.__name__}"
        )
    existing = target.__dict__.get(name)
    if existing is None and hasattr(target, name):
        existing = getattr(target, name)
    if existing is not None and not (isinstance(existing, _Reverse) and existing.field is field):
        raise TypeError(
            f"{source.__name__}.{field.name}: {target.__name__} already has an attribute "
            f"{name!r}; pass related_name=... to name the reverse accessor"
        )
    field._rel_model = target
    forget_layout(source)  # re-check the cluster tags on next use
    setattr(target, name, _Reverse(field))
    if not any(f is field for f in target._reverse):
        target._reverse = (*target._reverse, field)


def register_model(model: type[Model]) -> None:
    """Record ``model`` and bind the relations naming it or named by it (ModelMeta). No
    Redis work."""
    _REGISTRY.append(weakref.ref(model))
    for name in model._fields:
        field = model._fields[name]
        if isinstance(field, _Relation) and not _resolve(field):
            _PENDING.append(weakref.ref(field))
    for ref in list(_PENDING):
        pending = ref()
        if pending is None or pending._rel_model is not None:
            _PENDING.remove(ref)
        elif (
            pending._to == model.__name__
            and pending.model is not None
            and _same_database(pending.model, model)
        ):
            _bind(pending, model)
            _PENDING.remove(ref)


class ForeignKeyField(_Relation, Field):
    """A reference to one row of ``to`` (a Model subclass, its class name, or ``"self"``).

    Stores the related primary key; ``row.<field>`` loads the related row (1 round trip,
    cached until the field changes), ``row.<field>_id`` is the stored key. Assign a saved
    instance or a primary key. Always indexed: filter with ``Model.author == user`` (or a
    key). Writes check atomically that the referenced row exists (MissingReferenceError).
    ``related_name`` (default ``<model>_set``) names the reverse accessor on ``to``: a lazy
    query of the referring rows. ``on_delete`` (default "cascade": deleting the referenced
    row deletes the referring rows): "cascade", "set_null" (also spelled "set-null") or
    "protect"; any other value raises ValueError.
    """

    index_kinds: tuple[str, ...] = (ABSOLUTE,)

    def __init__(
        self,
        to: Any,
        on_delete: str = "cascade",
        related_name: str | None = None,
        index: bool = True,
        default: Any = None,
        unique: bool = False,
    ) -> None:
        Field.__init__(self, index=True, default=default, unique=unique)
        if index is not True:
            raise TypeError("a ForeignKeyField is always indexed (index=True)")
        self._init_relation(to, on_delete, related_name, ON_DELETE)

    def _pk_field(self) -> Field:
        target = self.rel_model
        return target._fields[target._primary_key]

    def coerce(self, value: Any) -> Any:
        """The related primary key, from a saved instance of ``to`` or a key (validated
        like the related primary key field). No Redis work: existence is checked by the
        write."""
        from .model import Model

        target = self.rel_model
        if isinstance(value, Model):
            if not isinstance(value, target):
                raise self._type_error(f"a {target.__name__} or its primary key", value)
            pk = value.get_id()
            if pk is None:
                raise self._value_error(
                    f"the {target.__name__} has no primary key yet: save it first"
                )
            return pk
        try:
            return self._pk_field().validate(value)
        except (FieldTypeError, FieldValueError) as exc:
            raise type(exc)(f"field {self.name!r} (a {target.__name__} key): {exc}") from None

    def db_value(self, value: Any) -> bytes:
        """The key stored as the related primary key field stores it. No Redis work."""
        return self._pk_field().db_value(value)

    def python_value(self, raw: bytes) -> Any:
        """The stored key as the related primary key's Python value. No Redis work."""
        return self._pk_field().python_value(raw)

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        # Read through the related model's database (a key-less row reads nothing).
        on = self.rel_model if instance._data.get(self.name) is not None else type(instance)
        label = f"{type(instance).__name__.lower()}.{self.name}"
        return type(instance)._run_steps(lambda: self.row_steps(instance), on, label)

    def row_steps(self, instance: Model) -> Steps:
        """The related row of ``instance`` (None when the field is empty), as steps: cached
        on the instance until the field changes, else loaded (MissingReferenceError when it
        does not exist). Cost: 1 round trip (HGETALL), none when cached or empty."""
        pk = instance._data.get(self.name)
        if pk is None:
            return None
        cache = instance.__dict__.setdefault("_related", {})
        cached = cache.get(self.name)
        if cached is None or cached.get_id() != pk:
            target = self.rel_model
            try:
                cached = yield from target._load_steps(pk)
            except KeyError:
                raise MissingReferenceError(
                    f"{type(instance).__name__}.{self.name}: no {target.__name__} "
                    f"with primary key {pk!r}",
                    self.name,
                ) from None
            cache[self.name] = cached
        return cached

    def __set__(self, instance: Any, value: Any) -> None:
        from .model import Model

        instance._data[self.name] = self.validate(value)
        if isinstance(value, Model):
            instance.__dict__.setdefault("_related", {})[self.name] = value


class _ForeignKeyId:
    """``row.<fk>_id``: the stored primary key of a foreign key (no round trip)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return instance._data.get(self.name)

    def __set__(self, instance: Any, value: Any) -> None:
        field = type(instance)._fields[self.name]
        instance._data[self.name] = field.validate(value)


class ManyToManyField(_Relation, _ContainerField):
    """Links to any number of rows of ``to``: ``row.<field>`` is a ``RelatedSet`` (add,
    remove, clear, iterate); ``to_row.<related_name>`` is the reverse ``RelatedSet``.
    ``on_delete`` applies when a related row is deleted: "cascade" (the default) drops its
    links, "protect" refuses the delete while links exist; any other value raises
    ValueError."""

    def __init__(
        self, to: Any, related_name: str | None = None, on_delete: str = "cascade"
    ) -> None:
        _ContainerField.__init__(self)
        self._init_relation(to, on_delete, related_name, ("cascade", "protect"))

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        return type(instance)._related_set(instance, self, reverse=False)


class _Reverse:
    """The reverse accessor a relation installs on its related model."""

    def __init__(self, field: _Relation) -> None:
        self.field = field

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        field = self.field
        if isinstance(field, ManyToManyField):
            return type(instance)._related_set(instance, field, reverse=True)
        pk = instance.get_id()
        if pk is None:
            raise ValueError(f"{type(instance).__name__} has no primary key yet: save it first")
        assert field.model is not None
        return field.model.query(field == pk)

    def __set__(self, instance: Any, value: Any) -> None:
        raise AttributeError(
            f"{self.field.reverse_name!r} is a reverse relation and cannot be assigned"
        )


class RelatedSet:
    """One side of a many-to-many relation for one row (the row must be saved).

    ``add``/``remove`` change both sides atomically (1 round trip each; ``add`` checks that
    every row exists, MissingReferenceError otherwise; both can be queued on a pipeline);
    ``clear`` reads then removes (2 round trips); iterating or ``all()`` loads the related
    rows (1 round trip plus 1 per 500 rows); ``keys()``, ``count()``/``len()`` and ``in``
    are 1 round trip each.
    """

    def __init__(self, owner: Model, field: ManyToManyField, reverse: bool) -> None:
        key = owner.get_hash_id()
        if key is None:
            raise ValueError(
                f"{type(owner).__name__}.{field.name} needs the row's primary key: save it first"
            )
        self.owner = owner
        self.field = field
        self.reverse = reverse
        self.owner_key = key
        source = cast("type[Model]", field.model)
        target = field.rel_model
        if reverse:
            self.model, self.other = target, source
            self.key = target._container_key(field.reverse_name, key)
        else:
            self.model, self.other = source, target
            self.key = source._container_key(field.name, key)

    def __repr__(self) -> str:
        return f"<RelatedSet {self.model.__name__}.{self._name} of {self.owner_key!r}>"

    @property
    def _name(self) -> str:
        return self.field.reverse_name if self.reverse else self.field.name

    def _other_set(self, other_key: bytes) -> bytes:
        if self.reverse:
            return self.other._container_key(self.field.name, other_key)
        return self.other._container_key(self.field.reverse_name, other_key)

    def _other_key(self, item: Any) -> bytes:
        from .model import Model

        if isinstance(item, Model):
            if not isinstance(item, self.other):
                raise FieldTypeError(
                    f"{self.model.__name__}.{self._name} takes {self.other.__name__} rows, "
                    f"got {item!r}"
                )
            key = item.get_hash_id()
            if key is None:
                raise FieldValueError(
                    f"the {self.other.__name__} has no primary key yet: save it first"
                )
            return key
        pk_field = self.other._fields[self.other._primary_key]
        return self.other._row_key(pk_field.validate(item))

    def _run(self, steps: Steps) -> Any:
        """Run steps of this set on its model's sync database. Cost: one round trip per step
        sent."""
        return run_model(self.model, steps)

    def _change_steps(self, action: str, items: tuple[Any, ...], pipeline: Any) -> Steps:
        """``add``/``remove`` as steps: the rows are checked before the first step. 1 round
        trip (one script call); none when queued or when no row is given."""
        from .model import _queued

        others = list(dict.fromkeys(self._other_key(item) for item in items))
        queue = _queued(pipeline)
        if not others:
            return None if queue else 0
        keys = [self.owner_key, self.key]
        for other in others:
            keys.extend((other, self._other_set(other)))
        args = [action, "1" if queue else "0"]
        options = {} if pipeline is None else {"client": pipeline}
        reply = yield call.run_script("model_m2m", keys=keys, args=args, **options)
        if queue:
            return None
        if int(reply[0]) != 1:
            missing = reply_text(reply[2])
            raise MissingReferenceError(
                f"{self.model.__name__}.{self._name}: row {missing!r} does not exist", self._name
            )
        return int(reply[1])

    def add(self, *items: Any, pipeline: Any = None) -> int | None:
        """Link rows (instances or primary keys); returns how many were new. 1 round trip.
        ``pipeline``: queue the script there and return None (nothing is read first); a
        row that does not exist makes the pipeline's ``execute`` raise
        ``redis.ResponseError("WALRUS_REFUSED missing <row key>")`` and links nothing."""
        return cast("int | None", self._run(self._change_steps("add", items, pipeline)))

    def remove(self, *items: Any, pipeline: Any = None) -> int | None:
        """Unlink rows; returns how many were linked. 1 round trip. ``pipeline``: queue the
        script there and return None."""
        return cast("int | None", self._run(self._change_steps("remove", items, pipeline)))

    def clear(self, pipeline: Any = None) -> int:
        """Unlink every row; returns how many. 2 round trips (read, then one guarded
        script; retried if the links changed meanwhile). It reads first, so a queuing
        ``pipeline`` raises PipelineError (one watching keys before ``multi()`` is fine)."""
        return int(self._run(self._clear_steps(pipeline)))

    def _clear_steps(self, pipeline: Any = None) -> Steps:
        """``clear`` as steps: a queuing ``pipeline`` is refused before the first step.
        Cost: that of ``clear``."""
        from .model import _queued

        if _queued(pipeline):
            raise PipelineError(
                f"{self.model.__name__}.{self._name}.clear() reads the links before removing "
                "them, which a pipeline cannot do: clear outside the pipeline, or "
                "remove(*rows, pipeline=...) the rows you know"
            )
        for _ in range(MAX_ATTEMPTS):
            members = sorted(bytes(m) for m in (yield call.smembers(self.key)))
            if not members:
                return 0
            writer = Writer(self.model._db())
            writer.guard_members(self.key, members)
            for member in members:
                writer.srem(self._other_set(member), self.owner_key)
            writer.drop(self.key)
            if (yield writer.step()) is None:
                return len(members)
        raise WriteConflictError(
            f"{self.model.__name__}.{self._name} kept changing during {MAX_ATTEMPTS} attempts"
        )

    def keys(self) -> list[bytes]:
        """Row keys of the linked rows, sorted. 1 round trip."""
        return cast("list[bytes]", self._run(self._keys_steps()))

    def _keys_steps(self) -> Steps:
        """``keys`` as steps. 1 round trip (SMEMBERS)."""
        return sorted(bytes(m) for m in (yield call.smembers(self.key)))

    def all(self) -> list[Model]:
        """The linked rows, in row-key order. 1 round trip for the keys, plus 1 per 500
        linked rows (none when there are none)."""
        return cast("list[Model]", self._run(self._all_steps()))

    def _all_steps(self) -> Steps:
        """``all`` as steps (on a sync client the rows are read by ``load_rows`` itself, on
        the related model's database). Cost: that of ``all``."""
        from . import collection

        keys = yield from self._keys_steps()
        other = self.other
        return (
            yield Nested(
                lambda: collection.load_rows(other, keys),
                lambda: collection.load_rows_steps(other, keys),
            )
        )

    def __iter__(self) -> Iterator[Model]:
        return iter(self.all())

    def count(self) -> int:
        """Number of linked rows. 1 round trip."""
        return int(self._run(self._count_steps()))

    def _count_steps(self) -> Steps:
        """``count`` as steps. 1 round trip (SCARD)."""
        return int((yield call.scard(self.key)))

    def __len__(self) -> int:
        return self.count()

    def __contains__(self, item: Any) -> bool:
        return bool(self._run(self._contains_steps(item)))

    def _contains_steps(self, item: Any) -> Steps:
        """Whether ``item`` (a row or primary key, checked before the first step) is linked.
        1 round trip (SISMEMBER)."""
        other_key = self._other_key(item)
        return bool((yield call.sismember(self.key, other_key)))
