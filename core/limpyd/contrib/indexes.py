"""Composite indexes (redis-limpyd 2.x): :class:`MultiIndexes` and the date/time indexes built
with it.

``MultiIndexes.compose([IndexA, IndexB], key=None, transform=None, name=None)`` makes one index
class out of several: a value is stored in each of them (after ``transform``; ``key`` is
added as a key part before the value), a filter is answered by the first one handling its
suffix, and uniqueness by the first one handling uniqueness. Compositions nest.

Date and time indexes take values as text, ``YYYY-MM-DD``, ``HH:MM:SS`` or
``YYYY-MM-DD HH:MM:SS``:

* :data:`DateIndex`: ``field=``, range filters on the date (``...:date`` text range) and
  ``field__year``, ``field__month``, ``field__day`` (number ranges, with gt/gte/lt/lte).
* :data:`TimeIndex`: the same with ``hour``, ``minute``, ``second`` (``...:time``).
* :data:`DateTimeIndex`: the full value (``...:full``), ``field__date...``,
  ``field__time...`` and every date and time part; :data:`SimpleDateTimeIndex`: the full
  value, ``field__date...`` and ``field__time...`` only.

:class:`ScoredEqualIndex` (``configure(score_field=...)``) sorts each value's pks by another
field's value; writes to either field read the other one inside the same script.
:class:`EqualIndexWith` (``limpyd.contrib.equal_with``) keeps one set per combination of
several fields' values, optionally unique together.
"""

from __future__ import annotations

from typing import Any, ClassVar, cast

from ..exceptions import ImplementationError
from ..indexes import INDEX_CONTEXT, BaseIndex, EqualIndex, Op, Source, TextRangeIndex
from ..indexes import NumberRangeIndex as _Number

# redis-limpyd exposes the related index here too
from .equal_with import EqualIndexWith, _EqualIndexWith_RelatedIndex  # noqa: F401

__all__ = [
    "DateIndex",
    "DateTimeIndex",
    "EqualIndexWith",
    "MultiIndexes",
    "ScoredEqualIndex",
    "SimpleDateTimeIndex",
    "TimeIndex",
]


class MultiIndexes(BaseIndex):
    """An index made of several indexes (see :meth:`compose`)."""

    index_classes: ClassVar[list[type[BaseIndex]]] = []

    @classmethod
    def compose(
        cls,
        index_classes: list[type[BaseIndex]],
        key: str | None = None,
        transform: Any = None,
        name: str | None = None,
    ) -> type[BaseIndex]:
        """A new class storing values in every one of ``index_classes``. No Redis work."""
        if not all(isinstance(i, type) and issubclass(i, BaseIndex) for i in index_classes):
            raise ImplementationError("MultiIndexes.compose needs a list of index classes")
        klass: type[BaseIndex] = type(
            str(name or cls.__name__), (cls,), {"index_classes": list(index_classes)}
        )
        options: dict[str, Any] = {}
        if key is not None:
            options["key"] = key
        if transform is not None:
            options["transform"] = transform
        if options:
            klass = klass.configure(name=klass.__name__, **options)
        return klass

    def __init__(self, field: Any) -> None:
        super().__init__(field)
        self._indexes = [index_class(field) for index_class in self.index_classes]

    def _args(self, args: tuple[Any, ...], transform: bool = True) -> tuple[Any, ...]:
        *parts, value = args
        if transform:
            value = self.transform_value(value)
        if self.key:
            parts.append(self.key)
        return (*parts, value)

    def _handling(self, suffix: str | None) -> BaseIndex | None:
        return next((i for i in self._indexes if i.can_handle_suffix(suffix)), None)

    def can_handle_suffix(self, suffix: str | None) -> bool:
        """True when one of the composed indexes answers a filter ``<field>__<suffix>``. No Redis
        work."""
        return self._handling(suffix) is not None

    def filter_rest(self, suffix: str | None) -> str | None:
        """No Redis work."""
        index = self._handling(suffix)
        return None if index is None else index.filter_rest(suffix)

    @property
    def handle_uniqueness(self) -> bool:  # type: ignore[override]
        return any(index.handle_uniqueness for index in self._indexes)

    def store_ops(self, pk: str, *args: Any) -> list[Op]:
        """Every composed index's operations. No Redis work: the write scripts apply the returned
        operations."""
        prepared = self._args(args)
        return [op for index in self._indexes for op in index.store_ops(pk, *prepared)]

    def unstore_ops(self, pk: str, *args: Any) -> list[Op]:
        """Every composed index's operations. No Redis work: the write scripts apply the returned
        operations."""
        prepared = self._args(args)
        return [op for index in self._indexes for op in index.unstore_ops(pk, *prepared)]

    def unique_ops(self, pk: str, *args: Any) -> list[Op]:
        """The first unique composed index's checks. No Redis work: the write scripts apply the
        returned operations."""
        for index in self._indexes:
            if index.handle_uniqueness:
                return index.unique_ops(pk, *self._args(args))
        return []

    def filter_source(self, suffix: str | None, *args: Any) -> Source:
        """What the composed index handling the filter reads. No Redis work."""
        index = self._handling(suffix)
        if index is None:
            raise ImplementationError(f"{type(self).__name__} cannot handle the filter {suffix!r}")
        return index.filter_source(suffix, *self._args(args, transform=False))

    def context_fields(self) -> list[Any]:
        """No Redis work."""
        return [f for index in self._indexes for f in index.context_fields()]

    def get_storage_key(self, *args: Any, **kwargs: Any) -> str:
        """Always raises ``ImplementationError``: each composed index has its own key. No Redis
        work."""
        raise ImplementationError("a MultiIndexes has one storage key per composing index")

    def get_all_storage_keys(self) -> set[str]:
        """The keys of every composed index: 1 round trip per SCAN page, per index."""
        return {key for index in self._indexes for key in index.get_all_storage_keys()}

    def clear(self, chunk_size: int = 1000, aggressive: bool = False) -> None:
        """Clear every composed index. Cost: per index, its SCAN, then 1 UNLINK per ``chunk_size``
        keys."""
        for index in self._indexes:
            index.clear(chunk_size, aggressive)


def _part(prefix: str, start: int, end: int) -> type[BaseIndex]:
    return _Number.configure(
        prefix=prefix, transform=lambda value: value[start:end], handle_uniqueness=False,
        name=f"{prefix.capitalize()}Index",
    )  # fmt: skip


DateIndexParts = MultiIndexes.compose(
    [_part("year", 0, 4), _part("month", 5, 7), _part("day", 8, 10)], name="DateIndexParts"
)
DateRangeIndex = TextRangeIndex.configure(
    key="date", transform=lambda value: value[:10], name="DateRangeIndex"
)
DateIndex = MultiIndexes.compose([DateRangeIndex, DateIndexParts], name="DateIndex")
"""Index of a date field (``YYYY-MM-DD...``): ranges over the date and equality on its year, month
and day."""

TimeIndexParts = MultiIndexes.compose(
    [_part("hour", 0, 2), _part("minute", 3, 5), _part("second", 6, 8)], name="TimeIndexParts"
)
TimeRangeIndex = TextRangeIndex.configure(
    key="time", transform=lambda value: value[:8], name="TimeRangeIndex"
)
TimeIndex = MultiIndexes.compose([TimeRangeIndex, TimeIndexParts], name="TimeIndex")
"""Index of a time field (``HH:MM:SS...``): ranges over the time and equality on its hour, minute
and second."""

_FullRange = TextRangeIndex.configure(key="full", name="FullDateTimeRangeIndex")
_DatePart = DateRangeIndex.configure(prefix="date")
_TimePart = TimeRangeIndex.configure(prefix="time", transform=lambda value: value[11:19])

DateSimpleTimeIndex = MultiIndexes.compose(
    [_FullRange, _DatePart, DateIndexParts, _TimePart],
    name="DateSimpleTimeIndex",
    transform=lambda value: value[:19],
)
DateTimeIndex = MultiIndexes.compose(
    [DateSimpleTimeIndex, TimeIndexParts.configure(transform=lambda value: value[11:])],
    name="DateTimeIndex",
)
"""Index of a datetime field (``YYYY-MM-DD HH:MM:SS``): ranges over the whole value, the date and
the time, and equality on each part."""
SimpleDateTimeIndex = MultiIndexes.compose(
    [_FullRange, _DatePart, _TimePart],
    name="SimpleDateTimeIndex",
    transform=lambda value: value[:19],
)
"""Index of a datetime field: ranges over the whole value, the date and the time (no per-part
equality)."""


class ScoredEqualIndex(EqualIndex):
    """An EqualIndex whose sets are sorted sets scored by another single-value field of the
    instance (``configure(score_field="name")``): filtering on a value gives pks ordered by
    that score. Keys ``P:<field>[...]:equal-scored:<value>``; an instance without a score is
    not in the index (for a unique field, ``<key>:__uniqueness__`` still holds its pk). The
    model must use :class:`~limpyd.contrib.collection.ExtendedCollectionManager`. Writes to
    either field keep the index in the same atomic script (the other field's value is read
    and checked there)."""

    key = "equal-scored"
    score_field: ClassVar[Any] = None
    scored: ClassVar[bool] = True
    configurable_attrs = (*EqualIndex.configurable_attrs, "score_field")

    @classmethod
    def _field_model_ready(cls, model: Any, field: Any) -> None:
        from .collection import ExtendedCollectionManager

        name = (
            cls.score_field
            if isinstance(cls.score_field, str)
            else getattr(cls.score_field, "name", None)
        )
        where = f"{cls.__name__} on {model.__name__}.{field.name}"
        manager = getattr(model, "collection_manager", None)
        if not (isinstance(manager, type) and issubclass(manager, ExtendedCollectionManager)):
            raise ImplementationError(f"{where}: the model must use an ExtendedCollectionManager")
        if not name or name not in model._redis_fields:
            raise ImplementationError(f"{where}: {name!r} is not a field of the model")
        if name == field.name:
            raise ImplementationError(f"{where}: a field cannot be its own score field")
        score_field = model._redis_fields[name]
        if score_field.kind not in ("string", "hash"):
            raise ImplementationError(
                f"{where}: the score field must hold a single value, not a "
                f"{type(score_field).__name__}"
            )
        cls.score_field = score_field
        classes = list(score_field.index_classes) if score_field.indexable else []
        # the field's name, not the field: a field in a class body would be renamed by
        # __set_name__ when the configured class is created
        related = _ScoredEqualIndex_RelatedIndex.configure(
            related_field=field.name, related_index_class=cls
        )
        classes.append(related)
        score_field.indexable = True
        score_field._index_classes = classes
        score_field._index_objects = None

    def _score_field(self) -> Any:
        declared = type(self).score_field  # a field is a descriptor: read it on the class
        name = declared if isinstance(declared, str) else declared.name
        return self.model._redis_fields[name]

    def context_fields(self) -> list[Any]:
        """The field whose value scores the entries. No Redis work."""
        return [self._score_field()]

    def _uniqueness_key(self, key: str) -> str:
        return key + ":__uniqueness__"

    def _score_ops(self, pk: str, args: tuple[Any, ...], score: str | None) -> list[Op]:
        key = self.get_storage_key(*args)
        ops: list[Op] = []
        if self.field.unique and self.handle_uniqueness:
            ops.append(("sadd", self._uniqueness_key(key), pk, ""))
        if score is not None:
            try:
                number = float(score)
            except ValueError:
                raise ValueError(
                    f"{self._score_field()._what()}: the score {score!r} is not a number"
                ) from None
            ops.append(("zadd", key, repr(number), pk))
        return ops

    def _unscore_ops(self, pk: str, args: tuple[Any, ...]) -> list[Op]:
        key = self.get_storage_key(*args)
        ops: list[Op] = [("zrem", key, pk, "")]
        if self.field.unique and self.handle_uniqueness:
            ops.append(("srem", self._uniqueness_key(key), pk, ""))
        return ops

    def store_ops(self, pk: str, *args: Any) -> list[Op]:
        """No Redis work: the write scripts apply the returned operations."""
        scores = (INDEX_CONTEXT.get() or {}).get(self._score_field().name) or []
        return self._score_ops(pk, args, scores[0] if scores else None)

    def unstore_ops(self, pk: str, *args: Any) -> list[Op]:
        """No Redis work: the write scripts apply the returned operations."""
        return self._unscore_ops(pk, args)

    def unique_ops(self, pk: str, *args: Any) -> list[Op]:
        """No Redis work: the write scripts apply the returned operations."""
        return [("uset", self._uniqueness_key(self.get_storage_key(*args)), "", "")]

    def filter_source(self, suffix: str | None, *args: Any) -> Source:
        """The value's sorted set. No Redis work."""
        return (self.get_storage_key(*args, transform_value=False), "zset", "", "", "")

    def get_all_storage_keys(self) -> set[str]:
        """1 round trip per SCAN page."""
        return {k for k in super().get_all_storage_keys() if not k.endswith(":__uniqueness__")}


class _ScoredEqualIndex_RelatedIndex(BaseIndex):  # noqa: N801 - redis-limpyd's name
    """Installed on the score field of a :class:`ScoredEqualIndex`: a new score moves the pk
    in the scored sets of the other field's values. Answers no filter."""

    related_field: ClassVar[str] = ""
    related_index_class: ClassVar[Any] = None
    handle_uniqueness = False
    configurable_attrs = ("related_field", "related_index_class")

    def _related(self) -> Any:
        return self.model._redis_fields[type(self).related_field]

    def _scored_index(self) -> ScoredEqualIndex:
        for index in self._related()._indexes:
            if isinstance(index, self.related_index_class):  # a ScoredEqualIndex class
                return cast(ScoredEqualIndex, index)
        raise ImplementationError(f"{self._related()._what()} lost its {self.related_index_class}")

    def context_fields(self) -> list[Any]:
        return [self._related()]

    def can_handle_suffix(self, suffix: str | None) -> bool:
        return False

    def store_ops(self, pk: str, *args: Any) -> list[Op]:
        related, index = self._related(), self._scored_index()
        entries = (INDEX_CONTEXT.get() or {}).get(related.name) or []
        return [
            op
            for entry in entries
            for op in index._score_ops(pk, related._index_args(entry), str(args[-1]))
            if op[0] == "zadd"
        ]

    def unstore_ops(self, pk: str, *args: Any) -> list[Op]:
        related, index = self._related(), self._scored_index()
        entries = (INDEX_CONTEXT.get() or {}).get(related.name) or []
        return [
            op
            for entry in entries
            for op in index._unscore_ops(pk, related._index_args(entry))
            if op[0] == "zrem"
        ]

    def get_all_storage_keys(self) -> set[str]:
        return set()

    def rebuild(self, chunk_size: int = 1000, aggressive_clear: bool = False) -> None:
        """Nothing to do: the scored index rebuilds its entries."""
