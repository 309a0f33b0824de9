"""``EqualIndexWith`` (redis-limpyd 2.x): one set of pks per combination of several fields'
values, optionally unique together.

``name = InstanceHashField(indexable=True, indexes=[EqualIndexWith.configure(
other_fields=["priority"], unique=True)])`` keeps ``<model>:name:equal-with:<name>:<priority>``
(a HashField adds its hash key before its value, as redis-limpyd does) holding the pks whose
``name`` and ``priority`` have those values. Multi-value fields (lists, sets, sorted sets,
HashFields) index every combination of their values.

A collection uses the index only when every field of the combination is filtered with
``=``, ``__eq`` or ``__in`` (in one call or several); a field indexed only this way cannot be
filtered alone (``ImplementationError`` when the collection is evaluated). Each other field
gets a :class:`_EqualIndexWith_RelatedIndex`, so a write to any field of the combination moves
the instance between combination sets in the same atomic script as the write (the other
fields' values are read and checked there). With ``unique=True`` a write (or a creation) that
would give two instances the same combination raises ``UniquenessError`` and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import chain, product
from typing import Any, ClassVar, cast

from ..exceptions import ImplementationError
from ..indexes import INDEX_CONTEXT, BaseIndex, EqualIndex, Op, Source
from ..utils import make_key

__all__ = ["EqualIndexWith"]

# One field's part of a combination: (value,), or (hash key, value) for a HashField.
Entry = tuple[str, ...]


def _names(fields: Iterable[Any]) -> list[str]:
    return [f if isinstance(f, str) else f.name for f in fields]


def _context_entries(field: Any) -> list[Entry]:
    """The entries of ``field`` the write script read (see ``ops.index_ops``)."""
    entries = (INDEX_CONTEXT.get() or {}).get(field.name) or []
    return [tuple(field._index_args(entry)) for entry in entries]


class EqualIndexWith(EqualIndex):
    """An index of one field's values together with ``other_fields``' values (see the module
    docstring). ``configure(other_fields=[names], unique=False)``."""

    key = "equal-with"
    other_fields: ClassVar[Any] = ()
    unique: ClassVar[bool] = False
    # answers no filter on its own: the collection combines the filters of its fields
    handled_suffixes = frozenset()
    # field-level uniqueness (unique=True on the field) is left to the field's other indexes
    handle_uniqueness = False
    combined_suffixes: ClassVar[frozenset[str | None]] = frozenset({None, "eq", "in"})
    configurable_attrs = (*EqualIndex.configurable_attrs, "other_fields", "unique")

    @classmethod
    def configure(cls, **kwargs: Any) -> type[BaseIndex]:
        """As :meth:`BaseIndex.configure`, plus ``other_fields`` (names of other fields of the
        model, in key order) and ``unique`` (the combination is unique). No Redis work."""
        if "other_fields" in kwargs:
            given = kwargs["other_fields"]
            if isinstance(given, str) or not isinstance(given, (list, tuple)):
                raise TypeError("EqualIndexWith.configure: other_fields must be a list of names")
            kwargs["other_fields"] = list(given)
        if "unique" in kwargs and not isinstance(kwargs["unique"], bool):
            raise TypeError("EqualIndexWith.configure: unique must be True or False")
        return super().configure(**kwargs)

    @classmethod
    def _field_model_ready(cls, model: Any, field: Any) -> None:
        """Check ``other_fields`` against ``model`` and give each of them the related index
        (redis-limpyd exposes the field objects in ``other_fields`` afterwards)."""
        where = f"{cls.__name__} on {model.__name__}.{field.name}"
        names = _names(cls.other_fields)
        if not names:
            raise ImplementationError(f"{where}: other_fields must name at least one field")
        others = []
        for name in names:
            if name not in model._redis_fields:
                raise ImplementationError(f"{where}: {name!r} is not a field of the model")
            if name == field.name:
                raise ImplementationError(f"{where}: a field cannot be combined with itself")
            other = model._redis_fields[name]
            if cls.unique and other.kind == "hashfield":
                raise ImplementationError(
                    f"{where}: cannot be unique with a HashField ({name}) among its fields"
                )
            others.append(other)
        cls.other_fields = others
        for other in others:
            classes = list(other.index_classes) if other.indexable else []
            if not any(getattr(c, "related_index_class", None) is cls for c in classes):
                classes.append(
                    _EqualIndexWith_RelatedIndex.configure(
                        related_field=field.name, related_index_class=cls
                    )
                )
            other.indexable = True
            other._index_classes = classes
            other._index_objects = None

    # -- the combination -----------------------------------------------------------------

    @property
    def combined_fields(self) -> list[str]:
        """The names of the fields this index combines, the indexed field first."""
        return [self.field.name, *_names(type(self).other_fields)]

    @property
    def unique_together(self) -> bool:
        return bool(type(self).unique)

    def context_fields(self) -> list[Any]:
        """The other combined fields. No Redis work."""
        return [self.model._redis_fields[name] for name in self.combined_fields[1:]]

    def combination_key(self, entries: Sequence[Entry], transform: bool = True) -> str:
        """The set of the pks holding one combination (one entry per combined field). No Redis
        work."""
        (*head, value), *others = entries
        parts: list[Any] = [self.model._key_prefix(), self.field.name]
        parts += [p for p in (self.prefix, self.key) if p]
        parts += [*head, self.normalize_value(value, transform)]
        return make_key(*parts, *chain.from_iterable(others))

    def _combinations(self, fixed: str, entry: Entry) -> list[tuple[Entry, ...]]:
        """Every combination holding ``entry`` for the field ``fixed``, the other fields'
        entries taken from the write script's context."""
        lists: list[list[Entry]] = []
        for name in self.combined_fields:
            if name == fixed:
                lists.append([entry])
            else:
                lists.append(_context_entries(self.model._redis_fields[name]))
        return list(product(*lists))

    def _ops(self, op: str, fixed: str, entry: Entry, pk: str) -> list[Op]:
        return [
            (op, self.combination_key(combination), pk, "")
            for combination in self._combinations(fixed, entry)
        ]

    def filter_sources(self, filters: dict[str, list[list[Entry]]]) -> list[list[Source]]:
        """And-ed groups of or-ed sets for ``filters`` (``{field name: [alternatives of
        one filter, ...]}``, every combined field present): a field filtered twice must match
        both filters, so each choice of one filter per field is one group. No Redis work."""
        groups: list[list[Source]] = []
        for choice in product(*(filters[name] for name in self.combined_fields)):
            groups.append(
                [
                    (self.combination_key(combination, transform=False), "set", "", "", "")
                    for combination in product(*choice)
                ]
            )
        return groups

    # -- what the write scripts apply ---------------------------------------------------------

    def store_ops(self, pk: str, *args: Any) -> list[Op]:
        """No Redis work: the write scripts apply the returned operations."""
        return self._ops("sadd", self.field.name, tuple(args), pk)

    def unstore_ops(self, pk: str, *args: Any) -> list[Op]:
        """No Redis work: the write scripts apply the returned operations."""
        return self._ops("srem", self.field.name, tuple(args), pk)

    def unique_ops(self, pk: str, *args: Any) -> list[Op]:
        """No Redis work: the write scripts apply the returned operations."""
        if not self.unique_together:
            return []
        return [
            (name, key, "", "")
            for name, key, _, _ in self._ops("uset", self.field.name, tuple(args), pk)
        ]

    def filter_source(self, suffix: str | None, *args: Any) -> Source:
        """Always raises ``ImplementationError``: the index answers filters on all its fields at
        once (``filter_sources``). No Redis work."""
        raise ImplementationError(
            f"{type(self).__name__} on {self.field._what()} answers filters on all of "
            f"{self.combined_fields} together only"
        )

    # -- maintenance ------------------------------------------------------------------------

    def _pattern(self) -> str:
        return super()._pattern() if self.field.kind != "hashfield" else self._flat_pattern()

    def _flat_pattern(self) -> str:
        from ..indexes import _glob_escape

        parts = [
            self.model._key_prefix(),
            self.field.name,
            *(p for p in (self.prefix, self.key) if p),
        ]
        return ":".join(_glob_escape(p) for p in parts) + ":*"

    def rebuild(self, chunk_size: int = 1000, aggressive_clear: bool = False) -> None:
        """Clear this index, then index every instance again from the stored values of the
        combined fields (one read and one write round trip per ``chunk_size`` instances)."""
        from ..indexes import _entries, _queue_read

        self.clear(chunk_size)
        model = self.model
        fields = [model._redis_fields[name] for name in self.combined_fields]
        connection = model.database.direct_connection
        members: Any = connection.smembers(model._collection_key())
        pks: list[str] = sorted(members)
        for start in range(0, len(pks), chunk_size):
            chunk = pks[start : start + chunk_size]
            read = connection.pipeline(transaction=False)
            for pk in chunk:
                for field in fields:
                    _queue_read(read, field, field._key_for(pk))
            replies = read.execute()
            write = connection.pipeline(transaction=False)
            for offset, pk in enumerate(chunk):
                context = {
                    field.name: _entries(field, replies[offset * len(fields) + position])
                    for position, field in enumerate(fields)
                }
                token = INDEX_CONTEXT.set(context)
                try:
                    for entry in context[self.field.name]:
                        for _, key, member, _ in self.store_ops(pk, *self.field._index_args(entry)):
                            write.sadd(key, member)
                finally:
                    INDEX_CONTEXT.reset(token)
            write.execute()


class _EqualIndexWith_RelatedIndex(BaseIndex):  # noqa: N801 - redis-limpyd's name
    """Installed on each other field of an :class:`EqualIndexWith`: a new value of this field
    moves the pk between the combination sets. Answers no filter; holds no key of its own."""

    related_field: ClassVar[str] = ""
    related_index_class: ClassVar[Any] = None
    handle_uniqueness = False
    configurable_attrs = ("related_field", "related_index_class")

    def _index(self) -> EqualIndexWith:
        main = self.model._redis_fields[type(self).related_field]
        for index in main._indexes:
            if isinstance(index, self.related_index_class):  # a EqualIndexWith class
                return cast(EqualIndexWith, index)
        raise ImplementationError(f"{main._what()} lost its {self.related_index_class}")

    @property
    def unique_together(self) -> bool:
        return self._index().unique_together

    def context_fields(self) -> list[Any]:
        names = [n for n in self._index().combined_fields if n != self.field.name]
        return [self.model._redis_fields[name] for name in names]

    def can_handle_suffix(self, suffix: str | None) -> bool:
        return False

    def store_ops(self, pk: str, *args: Any) -> list[Op]:
        return self._index()._ops("sadd", self.field.name, tuple(args), pk)

    def unstore_ops(self, pk: str, *args: Any) -> list[Op]:
        return self._index()._ops("srem", self.field.name, tuple(args), pk)

    def unique_ops(self, pk: str, *args: Any) -> list[Op]:
        if not self.unique_together:
            return []
        ops = self._index()._ops("uset", self.field.name, tuple(args), pk)
        return [(name, key, "", "") for name, key, _, _ in ops]

    def get_all_storage_keys(self) -> set[str]:
        return set()

    def clear(self, chunk_size: int = 1000, aggressive: bool = False) -> None:
        """Nothing to do: the keys belong to the :class:`EqualIndexWith`."""

    def rebuild(self, chunk_size: int = 1000, aggressive_clear: bool = False) -> None:
        """Nothing to do: the :class:`EqualIndexWith` rebuilds the combinations."""
