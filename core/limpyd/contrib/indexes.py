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

The cross-field indexes of redis-limpyd (``ScoredEqualIndex``, ``EqualIndexWith``) are not
provided: their entries depend on other fields' values, which limpyd's write scripts do not
read. Declaring them raises ``ImplementationError``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..exceptions import ImplementationError
from ..indexes import BaseIndex, Op, Source, TextRangeIndex
from ..indexes import NumberRangeIndex as _Number

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
        """A new class storing values in every one of ``index_classes``."""
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
        return self._handling(suffix) is not None

    def filter_rest(self, suffix: str | None) -> str | None:
        index = self._handling(suffix)
        return None if index is None else index.filter_rest(suffix)

    @property
    def handle_uniqueness(self) -> bool:  # type: ignore[override]
        return any(index.handle_uniqueness for index in self._indexes)

    def store_ops(self, pk: str, *args: Any) -> list[Op]:
        prepared = self._args(args)
        return [op for index in self._indexes for op in index.store_ops(pk, *prepared)]

    def unstore_ops(self, pk: str, *args: Any) -> list[Op]:
        prepared = self._args(args)
        return [op for index in self._indexes for op in index.unstore_ops(pk, *prepared)]

    def unique_ops(self, pk: str, *args: Any) -> list[Op]:
        for index in self._indexes:
            if index.handle_uniqueness:
                return index.unique_ops(pk, *self._args(args))
        return []

    def filter_source(self, suffix: str | None, *args: Any) -> Source:
        index = self._handling(suffix)
        if index is None:
            raise ImplementationError(f"{type(self).__name__} cannot handle the filter {suffix!r}")
        return index.filter_source(suffix, *self._args(args, transform=False))

    def get_storage_key(self, *args: Any, **kwargs: Any) -> str:
        raise ImplementationError("a MultiIndexes has one storage key per composing index")

    def get_all_storage_keys(self) -> set[str]:
        return {key for index in self._indexes for key in index.get_all_storage_keys()}

    def clear(self, chunk_size: int = 1000, aggressive: bool = False) -> None:
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

TimeIndexParts = MultiIndexes.compose(
    [_part("hour", 0, 2), _part("minute", 3, 5), _part("second", 6, 8)], name="TimeIndexParts"
)
TimeRangeIndex = TextRangeIndex.configure(
    key="time", transform=lambda value: value[:8], name="TimeRangeIndex"
)
TimeIndex = MultiIndexes.compose([TimeRangeIndex, TimeIndexParts], name="TimeIndex")

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
SimpleDateTimeIndex = MultiIndexes.compose(
    [_FullRange, _DatePart, _TimePart],
    name="SimpleDateTimeIndex",
    transform=lambda value: value[:19],
)


class _Unsupported(BaseIndex):
    """Cross-field indexes of redis-limpyd, not provided (see the module docstring)."""

    @classmethod
    def configure(cls, **kwargs: Any) -> type[BaseIndex]:
        """Accepted (so that declarations import); using the index raises."""
        return type(str(kwargs.get("name") or cls.__name__), (cls,), {})

    def __init__(self, field: Any) -> None:
        raise ImplementationError(
            f"{type(self).__name__} (an index depending on other fields' values) is not "
            "supported by limpyd; index each field on its own and filter on both"
        )


class ScoredEqualIndex(_Unsupported):
    pass


class EqualIndexWith(_Unsupported):
    pass


class _ScoredEqualIndex_RelatedIndex(_Unsupported):  # noqa: N801 - redis-limpyd's name
    pass


class _EqualIndexWith_RelatedIndex(_Unsupported):  # noqa: N801 - redis-limpyd's name
    pass
