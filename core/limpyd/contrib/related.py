"""Related fields: foreign keys and many-to-many links between :class:`RelatedModel` models.

Each related field stores pks (an instance can be given wherever a value is expected), is
always indexable and never cached. Declaring one installs a *related collection* on the
target model: ``person.owned_groups(**filters)`` is ``Group.collection(owner=person.pk,
**filters)``. Deleting an instance removes its pk from every related field pointing at it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from ..collection import Collection
from ..exceptions import DoesNotExist, ImplementationError
from ..fields import InstanceHashField, ListField, SetField, SortedSetField, StringField
from ..fields.base import RedisField
from ..model import RedisModel
from .collection import ExtendedCollectionManager

if TYPE_CHECKING:  # pragma: no cover
    from ..database import RedisDatabase

__all__ = [
    "FKHashableField",
    "FKInstanceHashField",
    "FKStringField",
    "M2MListField",
    "M2MSetField",
    "M2MSortedSetField",
    "RelatedCollection",
    "RelatedModel",
]


class RelatedCollection:
    """Descriptor installed on the target model: ``instance.<related_name>(**filters)``."""

    def __init__(
        self, source: type[RedisModel], field_name: str, instance: RedisModel | None = None
    ) -> None:
        self.source = source
        self.field_name = field_name
        self.instance = instance

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return RelatedCollection(self.source, self.field_name, instance)

    def __call__(self, **filters: Any) -> Collection:
        """The collection of ``source`` instances pointing at the bound instance."""
        if self.instance is None:
            raise TypeError("a related collection is called from an instance")
        return self.collection(self.instance, **filters)

    def collection(self, instance: RedisModel, **filters: Any) -> Collection:
        """The lazy collection of ``source`` instances whose field points at ``instance``. No Redis
        work: evaluating it is 1 round trip."""
        if self.field_name in filters:
            raise ValueError(
                f"{self.field_name!r} is already filtered by this related collection of "
                f"{self.source.__name__}"
            )
        filters[self.field_name] = instance.get_pk()
        return self.source.collection(None, **filters)


class RelatedFieldMixin(RedisField):
    """What every related field adds: ``to``, ``related_name``, instances as values."""

    def __init__(self, to: Any, *, related_name: str | None = None, **kwargs: Any) -> None:
        if not (isinstance(to, str) and to) and not (
            isinstance(to, type) and issubclass(to, RedisModel)
        ):
            raise ImplementationError(
                f"related field `to` must be a model class, a model name, 'namespace:Name' or "
                f"'self', got {to!r}"
            )
        if related_name is not None and not isinstance(related_name, str):
            raise ImplementationError(f"related_name must be a str, got {related_name!r}")
        kwargs.pop("indexable", None)
        kwargs.pop("cacheable", None)
        super().__init__(indexable=True, cacheable=False, **kwargs)
        self.to = to
        self.related_name = related_name
        self._related_model: type[RedisModel] | None = None

    def _for_model(self, model: type[RedisModel], name: str) -> RedisField:
        clone = super()._for_model(model, name)
        assert isinstance(clone, RelatedFieldMixin)
        clone._related_model = None
        return clone

    # -- resolution -----------------------------------------------------------------------

    def _target_name(self) -> tuple[str, str]:
        model = self._model
        assert model is not None
        to = self.to
        if isinstance(to, type):
            return to.namespace or "", to.__name__
        if to == "self":
            return model.namespace or "", model.__name__
        if ":" in to:
            namespace, _, name = to.rpartition(":")
            return namespace, name
        return model.namespace or "", to

    def _find_target(self) -> type[RedisModel] | None:
        model = self._model
        assert model is not None
        database: RedisDatabase = model.database
        if isinstance(self.to, type):
            target: type[RedisModel] | None = self.to
            if target is not None and target.abstract:
                raise ImplementationError(f"{self._what()}: {target.__name__} is abstract")
            if target is not None and target.database is not database:
                # as redis-limpyd: the link waits until both models share a database (see
                # RelatedModel._database_changed); using it meanwhile names the problem
                return None
        else:
            namespace, name = self._target_name()
            models = database.models
            target = models.get(f"{namespace}:{name.lower()}")
            if target is None and ":" not in self.to and self.to != "self" and namespace:
                # a bare name not found in the model's namespace: the global namespace
                target = models.get(f":{name.lower()}")
        if target is not None and not issubclass(target, RelatedModel):
            raise ImplementationError(
                f"{self._what()}: {target.__name__} must be a RelatedModel to be related to"
            )
        return target

    def _computed_related_name(self) -> str:
        model = self._model
        assert model is not None
        namespace = re.sub(r"\W", "_", model.namespace or "")
        template = self.related_name
        if template is None:
            template = "%(model)s_set"
        name = template % {"namespace": namespace, "model": model.__name__.lower()}
        if not name.isidentifier():
            raise ImplementationError(
                f"{self._what()}: related_name {name!r} is not a valid Python identifier"
            )
        return name

    def _resolve(self) -> bool:
        """Link to the target model when it is registered; False while it is not."""
        if self._related_model is not None:
            return True
        target = self._find_target()
        if target is None:
            return False
        model = self._model
        assert model is not None
        name = self._computed_related_name()
        existing = target.__dict__.get(name)
        if isinstance(existing, RelatedCollection):
            if existing.source is not model or existing.field_name != self.name:
                raise ImplementationError(
                    f"{self._what()}: related_name {name!r} is already used on "
                    f"{target.__name__} by {existing.source.__name__}.{existing.field_name}; "
                    "give a distinct related_name"
                )
        elif hasattr(target, name):
            raise ImplementationError(
                f"{self._what()}: related_name {name!r} clashes with an attribute of "
                f"{target.__name__}; give another related_name"
            )
        else:
            setattr(target, name, RelatedCollection(model, self.name))
            target._related_links.append((model, self.name))  # type: ignore[attr-defined]
        self._related_model = target
        return True

    def _unlink_target(self) -> None:
        """Forget the resolved target: remove the related collection installed on it."""
        target, model = self._related_model, self._model
        if target is None or model is None:
            return
        name = self._computed_related_name()
        installed = target.__dict__.get(name)
        if isinstance(installed, RelatedCollection) and installed.source is model:
            delattr(target, name)
        links = getattr(target, "_related_links", None)
        if links is not None:
            links[:] = [link for link in links if link != (model, self.name)]
        self._related_model = None

    @property
    def related_model(self) -> type[RedisModel]:
        """The model this field points to (``ImplementationError`` while undefined)."""
        model = self._model
        assert model is not None
        declared = model._redis_fields.get(self.name, self)
        assert isinstance(declared, RelatedFieldMixin)
        if not declared._resolve():
            namespace, name = self._target_name()
            if isinstance(self.to, type) and self.to.database is not model.database:
                raise ImplementationError(
                    f"{self._what()}: {self.to.__name__} must be on the same database (move "
                    "one of them with use_database)"
                )
            raise ImplementationError(
                f"{self._what()}: no related model {name!r} in namespace {namespace!r} on "
                "this database"
            )
        assert declared._related_model is not None
        return declared._related_model

    @property
    def related_to(self) -> str:
        """The target as ``"<namespace>:<model name lowercased>"`` (redis-limpyd 2.x)."""
        namespace, name = self._target_name()
        return f"{namespace}:{name.lower()}"

    # -- values -------------------------------------------------------------------------

    def _normalize_value(self, value: Any) -> str:
        if isinstance(value, RedisField) and value._instance is not None:
            value = value.proxy_get()  # another related field: its value
            if value is None:
                raise TypeError(f"{self._what()}: the given field holds no value")
        if isinstance(value, RedisModel):
            target = self.related_model
            if not isinstance(value, target):
                raise TypeError(
                    f"{self._what()} expects a {target.__name__} instance or pk, got a "
                    f"{type(value).__name__}"
                )
            return value.get_pk()
        return super()._normalize_value(value)

    def _unlink(self, pk: str) -> None:
        """Remove ``pk`` from this field of the bound instance (deletion propagation)."""
        raise NotImplementedError


class _FKMixin(RelatedFieldMixin):
    def instance(self, skip_exist_test: bool = False) -> RedisModel | None:
        """The related instance (None when the field is empty); ``DoesNotExist`` when it was
        deleted, unless ``skip_exist_test`` (then no existence check: one round trip less)."""
        pk = self.proxy_get()
        if not pk:
            return None
        target = self.related_model
        return target.lazy_connect(pk) if skip_exist_test else target(pk)


class _M2MMixin(RelatedFieldMixin):
    def __call__(self, **filters: Any) -> Collection:
        """The related instances held by this field, as a collection of the related model
        (an ``ExtendedCollectionManager`` intersected with this field; a sorted set keeps
        its score order), with more ``filters``."""
        from .collection import ExtendedCollectionManager

        target = self.related_model
        collection = target.collection(manager=ExtendedCollectionManager, **filters)
        assert isinstance(collection, ExtendedCollectionManager)
        return collection.intersect(self)

    def collection(self, **filters: Any) -> Collection:
        """Same as calling the field."""
        return self(**filters)


class FKStringField(_FKMixin, StringField):
    """A foreign key stored in a StringField (the pk of the related instance)."""

    def _unlink(self, pk: str) -> None:
        self._modify("DEL", [], lambda c, k: c.delete(k))


class FKInstanceHashField(_FKMixin, InstanceHashField):
    """A foreign key stored in the instance hash (readable with ``hmget``)."""

    def _unlink(self, pk: str) -> None:
        self._modify("HDEL", [], lambda c, k: c.hdel(k, self.name))


FKHashableField = FKInstanceHashField
"""The seed README's name for `FKInstanceHashField`."""


class M2MSetField(_M2MMixin, SetField):
    """Many pks in a set (unordered, unique)."""

    def _unlink(self, pk: str) -> None:
        self.srem(pk)


class M2MListField(_M2MMixin, ListField):
    """Many pks in a list (ordered, repeatable)."""

    def _unlink(self, pk: str) -> None:
        self.lrem(0, pk)


class M2MSortedSetField(_M2MMixin, SortedSetField):
    """Many pks in a sorted set (unique, ordered by score)."""

    def _unlink(self, pk: str) -> None:
        self.zrem(pk)


class RelatedModel(RedisModel):
    """Base for models with related fields, or pointed at by them.

    Resolves ``to`` (a model, its name, ``'namespace:Name'`` or ``'self'``; names may refer
    to models defined later on the same database; a bare name is looked up in the model's
    namespace, then in the empty one), installs the related collections and, on
    ``delete()``, removes the deleted pk from every related field pointing at it.
    """

    abstract = True
    collection_manager: ClassVar[type[Collection]] = ExtendedCollectionManager
    _related_links: ClassVar[list[tuple[type[RedisModel], str]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        cls._related_links = []
        super().__init_subclass__(**kwargs)
        if cls.abstract:
            return
        try:
            for field in cls._redis_fields.values():
                if isinstance(field, RelatedFieldMixin):
                    field._computed_related_name()  # validated now, whatever the target
            cls._on_model_registered(cls)
        except Exception:
            cls._forget()
            raise

    @classmethod
    def _forget(cls) -> None:
        """Undo the registration of a model whose declaration failed."""
        for model in cls.database.models.values():
            for name, value in list(model.__dict__.items()):
                if isinstance(value, RelatedCollection) and value.source is cls:
                    delattr(model, name)
            links = getattr(model, "_related_links", None)
            if links is not None:
                links[:] = [link for link in links if link[0] is not cls]
        cls.database._remove_model(cls)

    @classmethod
    def _on_model_registered(cls, model: type[RedisModel]) -> None:
        if cls.abstract or "_redis_fields" not in cls.__dict__:
            return
        for field in cls._redis_fields.values():
            if isinstance(field, RelatedFieldMixin):
                field._resolve()

    @classmethod
    def _database_changed(cls) -> None:
        """After ``use_database``: drop the links that now cross databases (their related
        collections disappear) and make the ones both ends of which now share one."""
        for field in cls._redis_fields.values():
            if isinstance(field, RelatedFieldMixin):
                target = field._related_model
                if target is not None and target.database is not cls.database:
                    field._unlink_target()
        for source, name in list(cls._related_links):
            if source.database is not cls.database:
                declared = source._redis_fields[name]
                assert isinstance(declared, RelatedFieldMixin)
                declared._unlink_target()
        for model in list(cls.database.models.values()):
            hook = getattr(model, "_on_model_registered", None)
            if hook is not None:
                hook(cls)

    def delete(self) -> None:
        """Unlink this instance from every related field pointing at it, then delete it.

        One round trip to find the referencing instances, then one (two with range or configured
        indexes) per referencing instance, each atomic, then the deletion itself.
        """
        cls = type(self)
        if self._has_pk() and cls._related_links and not cls.database.has_pipeline():
            pk = self.get_pk()
            pipe = cls.database.direct_connection.pipeline(transaction=False)
            fields: list[RelatedFieldMixin] = []
            for source, name in cls._related_links:
                field = source._redis_fields[name]
                assert isinstance(field, RelatedFieldMixin)
                fields.append(field)
                pipe.smembers(field.index_prefix + pk)
            for field, pks in zip(fields, pipe.execute(), strict=True):
                model = field._model
                assert model is not None
                for other_pk in sorted(pks):
                    other = model.lazy_connect(other_pk)
                    bound = getattr(other, field.name)
                    try:
                        bound._unlink(pk)
                    except DoesNotExist:
                        continue
        super().delete()
