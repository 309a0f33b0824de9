"""``Collection``: lazy, and-ed equality filters over a model's indexes, with SORT and slicing.

Evaluated only when read (iteration, ``len``, indexing, ``repr``), on the direct connection,
in one round trip: one SORT on a single set, or one MULTI/EXEC (SINTERSTORE into a temporary
key, SORT, DEL) for several filters. ``instances()`` fetches the pks and every cacheable
string/hash field value in that same SORT (``GET`` patterns) and pre-fills the instances'
local caches.

Like a Django QuerySet, a collection keeps its rows once fully evaluated (``list()``,
iteration, ``len()``, ``repr()``); ``sort()``, ``instances()`` and new filters drop them.
Indexing and slicing an unevaluated collection fetch only that range (``SORT ... LIMIT``).

On a Redis Cluster, which refuses SORT's BY and GET patterns, the script
``limpyd_collection`` does the same in one round trip: it intersects the sets, sorts with
SORT's rules (numeric or collation order, missing values as 0 / first, ties by pk) and reads
the ``GET`` values, all inside the model's hash slot.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from .exceptions import ImplementationError
from .indexes import Source, is_plain
from .utils import to_bytes

if TYPE_CHECKING:  # pragma: no cover
    from .model import RedisModel


class InvalidFilter(ImplementationError, ValueError):  # noqa: N818  public name (docs/limpyd.md)
    """A filter no index of the field answers (redis-limpyd 2.x raises
    ``ImplementationError``, older versions ``ValueError``: it is both)."""


def _filter_value(value: Any) -> Any:
    """An instance stands for its pk, a bound field for its value."""
    from .fields.base import RedisField
    from .model import RedisModel

    if isinstance(value, RedisModel):
        return value.get_pk()
    if isinstance(value, RedisField) and value._instance is not None:
        return value.proxy_get()
    return value


def _iterable(name: str, value: Any) -> list[Any]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"filter {name!r}: expected a list, tuple or set of values")
    return list(value)


__all__ = ["Collection", "CollectionManager", "CollectionResults", "InvalidFilter"]


_COMBINED_SUFFIXES = (None, "eq", "in")


def sort_ro(
    client: Any,
    key: str,
    start: int | None,
    num: int | None,
    get: list[str] | None,
    by: str | None = None,
    alpha: bool = False,
    desc: bool = False,
) -> Any:
    """``SORT_RO`` (Redis 7+) on ``client`` (a connection or a pipeline): a read, so it still
    answers on a server over maxmemory, where ``SORT`` is refused (redis-py's ``sort_ro``
    sends ``SORT``)."""
    args: list[Any] = [key]
    if by is not None:
        args += ["BY", by]
    if start is not None and num is not None:
        args += ["LIMIT", start, num]
    for pattern in get or ():
        args += ["GET", pattern]
    if desc:
        args.append("DESC")
    if alpha:
        args.append("ALPHA")
    return client.execute_command("SORT_RO", *args)


def _combined_indexes(model: Any) -> list[Any]:
    """The indexes of ``model`` combining several fields (EqualIndexWith instances)."""
    return [
        index
        for field in model._redis_fields.values()
        if field.indexable
        for index in field._indexes
        if hasattr(index, "combined_fields")
    ]


class CollectionResults:
    """The rows of an evaluated collection, as ``iter(collection)`` gives them: an iterator
    that also has ``len()``, indexing, and compares equal to a list (same order) or a set."""

    MAX_REPR_ITEMS = 20

    def __init__(self, data: list[Any]) -> None:
        self.data = data
        self._next = iter(data).__next__  # the list's own iterator: no index arithmetic here

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def __iter__(self) -> CollectionResults:
        return self

    def __next__(self) -> Any:
        return self._next()

    def __getitem__(self, item: int | slice) -> Any:
        return self.data[item]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list):
            return self.data == other
        if isinstance(other, (set, frozenset)):
            return set(self.data) == other
        if isinstance(other, CollectionResults):
            return self.data == other.data
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        """``<CollectionResults ['1', '2']>``: the first ``MAX_REPR_ITEMS`` rows, then
        ``'... (N remaining elements truncated)...'`` (redis-limpyd 2.x). No Redis work."""
        return self._repr_as(type(self).__name__)

    def _repr_as(self, name: str) -> str:
        shown: list[Any] = self.data[: self.MAX_REPR_ITEMS]
        if len(self.data) > self.MAX_REPR_ITEMS:
            remaining = len(self.data) - self.MAX_REPR_ITEMS
            shown = [*shown, f"... ({remaining} remaining elements truncated)..."]
        return f"<{name} {shown!r}>"


class Collection:
    """The instances of ``model`` matching filters, as pks (or instances after ``instances()``).

    Filters are ``field=value`` on indexable (or unique) fields or on the pk; all are and-ed.
    ``sort(by="field"|"-field"|"pk"|"nosort", alpha=False)`` and ``instances()`` return the
    collection itself, so calls chain in any order. Without ``sort`` pks come in pk order
    (numeric for auto pks, alphabetical otherwise).
    """

    def __init__(self, model: type[RedisModel]) -> None:
        self.model = model
        self._filters: dict[str, str] = {}
        # filters answered by the filter script: and-ed lists of or-ed sources (the filters'
        # own, then those of the combined indexes the filters complete: see _plan_combined)
        self._own_sources: list[list[Source]] = []
        self._sources: list[list[Source]] = []
        # filters on fields of combined indexes (EqualIndexWith): (field name, alternatives,
        # required: the field has no index of its own for this filter)
        self._combined: list[tuple[str, list[tuple[str, ...]], bool]] = []
        self._plan_error: str | None = None
        # filters whose value is a bound field: read when the collection is evaluated
        self._deferred: list[tuple[str, Any]] = []
        # sorted sets of scored filters (ScoredEqualIndex): they order the result
        self._scored: list[str] = []
        self._sort: dict[str, Any] | None = None
        self._instances = False
        self._rows: list[Any] | None = None

    # -- building -----------------------------------------------------------------------

    def clone(self) -> Collection:
        """A copy of this collection (filters, sort, result type), not evaluated. No Redis work:
        evaluating it is 1 round trip."""
        new = copy.copy(self)
        new._filters = dict(self._filters)
        new._own_sources = [list(alternatives) for alternatives in self._own_sources]
        new._sources = [list(alternatives) for alternatives in self._sources]
        new._combined = list(self._combined)
        new._deferred = list(self._deferred)
        new._scored = list(self._scored)
        new._sort = None if self._sort is None else dict(self._sort)
        new._rows = None
        return new

    def __call__(self, **filters: Any) -> Collection:
        """A new collection with more filters (checked now, before any query):
        ``field=value``, ``field__<suffix>=value`` (``eq``, ``in``, and the range suffixes of
        the field's indexes: ``gt``, ``gte``, ``lt``, ``lte``, ``startswith``, or a configured
        index prefix), ``hashfield__<key>=value``, ``pk=`` / ``pk__in=``. Values may be
        instances (their pk) or bound fields (their value)."""
        return self.clone()._add_filters(**filters)

    @property
    def _lazy_collection(self) -> dict[str, Any]:
        """redis-limpyd 2.x's view of the filters: the index sets and the pks filtered."""
        pks = {self._filters["pk"]} if "pk" in self._filters else set()
        return {"sets": self._sets(), "pks": pks}

    def _add_filters(self, **filters: Any) -> Collection:
        from .fields.base import RedisField

        for name, value in filters.items():
            if isinstance(value, RedisField) and value._instance is not None:
                self.clone()._add_filter(name, "0")  # checks the filter's name now
                self._deferred.append((name, value))
                continue
            self._add_filter(name, _filter_value(value))
        self._rows = None
        return self

    def _add_filter(self, name: str, value: Any) -> None:
        self._add_one_filter(name, value)
        self._plan_combined()

    def _plan_combined(self) -> None:
        """Use the combined indexes (EqualIndexWith) whose every field is filtered, and note
        the filters that need one but find none (an error when the collection is evaluated)."""
        by_field: dict[str, list[list[tuple[str, ...]]]] = {}
        for field_name, alternatives, _ in self._combined:
            by_field.setdefault(field_name, []).append(alternatives)
        groups: list[list[Source]] = []
        used: set[str] = set()
        seen: set[tuple[Any, ...]] = set()
        for index in _combined_indexes(self.model):
            names = index.combined_fields
            if not all(name in by_field for name in names):
                continue
            used.update(names)
            signature = (type(index).key, index.prefix, tuple(names))
            if signature not in seen:  # the same combination declared twice: one is enough
                seen.add(signature)
                groups += index.filter_sources(by_field)
        self._sources = [*self._own_sources, *groups]
        missing = sorted({name for name, _, required in self._combined if required} - used)
        self._plan_error = None
        if missing:
            self._plan_error = (
                f"{self.model.__name__}: {', '.join(missing)} can only be filtered together "
                "with the other fields of its EqualIndexWith (filter every one of them with "
                "=, __eq or __in)"
            )

    def _check_plan(self) -> None:
        if self._plan_error is not None:
            raise ImplementationError(self._plan_error)

    def _add_pk_filter(self, name: str, suffix: str | None, value: Any) -> None:
        """A filter on the pk (``pk``, ``pk__eq``, ``pk__in`` or the pk field's name)."""
        model = self.model
        if suffix not in (None, "eq", "in"):
            raise InvalidFilter(f"{model.__name__}: pk cannot be filtered by {name!r}")
        pk_field = model._pk_field()
        if suffix == "in":
            values = [pk_field.normalize(v) for v in _iterable(name, value)]
            self._own_sources.append([(model._collection_key(), "pk", v, "", "") for v in values])
            return
        text = pk_field.normalize(value)
        if "pk" in self._filters and self._filters["pk"] != text:
            self._own_sources.append([(model._collection_key(), "pk", text, "", "")])
        else:
            self._filters["pk"] = text

    def _add_one_filter(self, name: str, value: Any) -> None:
        model = self.model
        field_name, _, suffix_text = name.partition("__")
        suffix: str | None = suffix_text or None
        if field_name in ("pk", model._pk_field_name):
            self._add_pk_filter(name, suffix, value)
            return
        field = model._redis_fields.get(field_name)
        if field is None:
            raise ValueError(f"{model.__name__} has no field {field_name!r} to filter on")
        if not field.indexable:
            raise InvalidFilter(
                f"{model.__name__}.{field_name} is not indexable: only fields declared with "
                "indexable=True or unique=True can be filtered"
            )
        args: tuple[str, ...] = ()
        if field.kind == "hashfield":
            if suffix is None:
                raise ImplementationError(
                    f"{model.__name__}.{field_name} is a HashField: filter on one of its keys "
                    f"({field_name}__<key>=value)"
                )
            key, _, rest = suffix.partition("__")
            args, suffix = (field._normalize_value(key),), rest or None
        index = next((i for i in field._indexes if i.can_handle_suffix(suffix)), None)
        if suffix in _COMBINED_SUFFIXES and any(
            field_name in combined.combined_fields for combined in _combined_indexes(model)
        ):
            texts = _iterable(name, value) if suffix == "in" else [value]
            entries = [(*args, field._normalize_value(v)) for v in texts]
            self._combined.append((field_name, entries, index is None))
            if index is None:
                return
        if index is None:
            raise InvalidFilter(
                f"{model.__name__}.{field_name}: no index of this field handles the filter {name!r}"
            )
        rest_suffix = index.filter_rest(suffix)
        values = list(_iterable(name, value)) if rest_suffix == "in" else [value]
        alternatives = [
            index.filter_source(suffix, *args, field._normalize_value(v)) for v in values
        ]
        if getattr(index, "scored", False) and rest_suffix != "in":
            self._scored.append(alternatives[0][0])
        plain = not args and rest_suffix != "in" and field._indexes[0] is index
        if plain and is_plain(field._indexes):
            text = field._normalize_value(value)
            if self._filters.get(field_name, text) == text:
                self._filters[field_name] = text
                return
        self._own_sources.append(alternatives)

    def sort(self, by: Any = None, alpha: bool = False, desc: bool = False) -> Collection:
        """A new collection sorted by a string/hash field (a name, ``-name`` for descending,
        or the field itself), ``pk`` or ``nosort``; numeric unless ``alpha=True``.
        No Redis work: evaluating it is 1 round trip."""
        return self.clone()._apply_sort(by=by, alpha=alpha, desc=desc)

    def _apply_sort(self, by: Any = None, alpha: bool = False, desc: bool = False) -> Collection:
        model = self.model
        if by is not None and not isinstance(by, str) and hasattr(by, "name"):
            by = by.name  # a field
        name = by or "pk"
        if name.startswith("-"):
            desc, name = not desc, name[1:]
        pattern: str | None
        if name == "nosort":
            pattern = "nosort"
        elif name in ("pk", model._pk_field_name):
            pattern = None
        else:
            field = model._redis_fields.get(name)
            if field is None:
                raise ValueError(f"{model.__name__} has no field {name!r} to sort by")
            if field.kind not in ("string", "hash"):
                raise ValueError(
                    f"{model.__name__}.{name} is a {type(field).__name__}: only StringField "
                    "and HashableField values can sort a collection"
                )
            pattern = field.sort_wildcard
        self._sort = {"by": pattern, "alpha": bool(alpha), "desc": bool(desc)}
        self._rows = None
        return self

    def instances(self, lazy: bool = False) -> Collection:
        """A new collection yielding model instances instead of pks (``lazy`` is accepted for
        redis-limpyd 2.x: instances are never checked one by one here, the pks come from the
        same atomic read). No Redis work: evaluating it is 1 round trip."""
        clone = self.clone()
        clone._reset_result_type()
        clone._instances = True
        return clone

    def primary_keys(self) -> Collection:
        """A new collection yielding pks (cancels ``instances()``). No Redis work: evaluating it is
        1 round trip."""
        clone = self.clone()
        clone._reset_result_type()
        return clone

    def _reset_result_type(self) -> None:
        self._instances = False

    # -- evaluation -----------------------------------------------------------------------

    def _sets(self) -> list[str]:
        model = self.model
        keys = [
            model._redis_fields[name].index_prefix + value
            for name, value in self._filters.items()
            if name != "pk"
        ]
        if "pk" in self._filters or not keys:
            keys.append(model._collection_key())
        return keys

    def _only_pk(self) -> str | None:
        """The pk when it is this collection's only filter (its one set is then the
        collection key), else None. No Redis work."""
        if self._sources or self._deferred or list(self._filters) != ["pk"]:
            return None
        return self._filters["pk"]

    def _sort_options(self) -> dict[str, Any]:
        if self._sort is not None:
            return dict(self._sort)
        return {"by": None, "alpha": not self.model._pk_field().auto_increment, "desc": False}

    def _prefetched(self) -> list[Any]:
        model = self.model
        if not self._instances or not model.cacheable:
            return []
        return [
            f for f in model._redis_fields.values() if f.kind in ("string", "hash") and f.cacheable
        ]

    def _filter_script_call(
        self, keys: list[str], extra: list[list[Source]] | None = None
    ) -> tuple[str, list[Any], list[Any]]:
        """The temporary key and the KEYS/ARGV of ``limpyd_ops_filter`` for this collection's
        filters (equality sets, pk and script-only sources together)."""
        model = self.model
        temp = model._temp_key()
        script_keys: list[Any] = [temp]
        script_args: list[Any] = [60]
        groups: list[list[Source]] = [
            [(key, "set", "", "", "")] for key in keys if key != model._collection_key()
        ]
        if "pk" in self._filters or not (groups or self._sources):
            groups.append([(model._collection_key(), "set", "", "", "")])
        if "pk" in self._filters:
            groups.append([(model._collection_key(), "pk", self._filters["pk"], "", "")])
        for alternatives in [*groups, *self._sources, *(extra or [])]:
            script_args.append(len(alternatives))
            for key, kind, a, b, c in alternatives:
                script_keys.append(key)
                script_args += [kind, a, b, c]
        return temp, script_keys, script_args

    def _cluster_rows(
        self, keys: list[str], filters: dict[str, str], options: dict[str, Any],
        start: int | None, num: int | None, get: list[str] | None,
    ) -> Any:  # fmt: skip
        pattern = options["by"]
        args = [
            filters.get("pk", ""),
            "1" if "pk" in filters else "0",
            "pk" if pattern is None else pattern,
            "1" if options["alpha"] else "0",
            "1" if options["desc"] else "0",
            start or 0,
            -1 if num is None else num,
            *(get or ()),
        ]
        return self.model.database.run_script("limpyd_collection", keys, args)

    def _resolved(self) -> Collection:
        """This collection with the values of its field-valued filters read now."""
        resolved = self.clone()
        resolved._deferred = []
        for name, field in self._deferred:
            resolved._add_filter(name, _filter_value(field))
        return resolved

    def _fetch(self, start: int | None = None, num: int | None = None) -> list[Any]:
        if self._deferred:
            return self._resolved()._fetch(start, num)
        self._check_plan()
        model = self.model
        connection = model.database.direct_connection
        options = self._sort_options()
        fields = self._prefetched()
        get = ["#", *(f.sort_wildcard for f in fields)] if fields else None
        keys = self._sets()
        if start is not None and num is None:
            num = -1
        rows: Any
        pk = self._only_pk()
        if pk is not None and not fields:
            # Only a pk: at most one row, so no sort; one SISMEMBER (as redis-limpyd).
            rows = ([pk] if connection.sismember(keys[0], pk) else [])[start or 0 :]
            if num is not None and num >= 0:
                rows = rows[:num]
        elif model.database.is_cluster and self._sources:
            # The filter script fills a temporary set in the model's slot, then the collection
            # script sorts it: two round trips, plus the deletion of the temporary set.
            temp, script_keys, script_args = self._filter_script_call(keys)
            model.database.run_script("limpyd_ops_filter", script_keys, script_args)
            try:
                rows = self._cluster_rows([temp], {}, options, start, num, get)
            finally:
                connection.delete(temp)
        elif model.database.is_cluster:
            rows = self._cluster_rows(keys, self._filters, options, start, num, get)
        elif self._sources or len(keys) > 1 or "pk" in self._filters:
            # One MULTI/EXEC: the filter script fills a temporary set, SORT_RO reads it, DEL.
            # (A server over maxmemory refuses every command queued in a MULTI: such a
            # collection then raises OutOfMemoryError; a one-set collection still answers.)
            temp, script_keys, script_args = self._filter_script_call(keys)
            pipe = connection.pipeline(transaction=True)
            connection.run_script("limpyd_ops_filter", script_keys, script_args, client=pipe)
            sort_ro(pipe, temp, start, num, get, **options)
            pipe.delete(temp)
            rows = pipe.execute()[-2]
        else:
            rows = sort_ro(connection, keys[0], start, num, get, **options)
        rows = list(rows)
        if not self._instances:
            return list(rows)
        if not fields:
            return [model.lazy_connect(pk) for pk in rows]
        width = len(fields) + 1
        result = []
        for offset in range(0, len(rows), width):
            instance = model.lazy_connect(rows[offset])
            instance._connected = True
            for field, value in zip(fields, rows[offset + 1 : offset + width], strict=True):
                command = "get" if field.kind == "string" else "hget"
                instance._cache_set(field.name, (command, ()), value)
            result.append(instance)
        return result

    def _all(self) -> list[Any]:
        if self._rows is None:
            self._rows = self._fetch()
        return self._rows

    def __iter__(self) -> Iterator[Any]:
        return CollectionResults(self._all())

    def __len__(self) -> int:
        """The number of matches. Evaluates the collection (one round trip; it keeps its
        rows); when its sort cannot run (SORT refusing non-numeric values without
        ``alpha``), counts the matches on the server instead, as redis-limpyd's len()."""
        if self._rows is not None:
            return len(self._rows)
        try:
            return len(self._all())
        except ResponseError:
            return self._count()

    def _count(self) -> int:
        if self._deferred:
            return self._resolved()._count()
        self._check_plan()
        model = self.model
        connection = model.database.direct_connection
        keys = self._sets()
        pk = self._only_pk()
        if pk is not None:
            return int(connection.sismember(keys[0], pk))
        if self._sources or model.database.is_cluster or len(keys) > 1 or "pk" in self._filters:
            temp, script_keys, script_args = self._filter_script_call(keys)
            if model.database.is_cluster:
                script_keys = [to_bytes(k) if isinstance(k, str) else k for k in script_keys]
            pipe = connection.pipeline(transaction=True)
            connection.run_script("limpyd_ops_filter", script_keys, script_args, client=pipe)
            pipe.delete(temp)
            return int(pipe.execute()[0])
        return int(connection.scard(keys[0]))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, list):
            return list(self) == other
        if isinstance(other, (set, frozenset)):
            return set(self) == other
        if isinstance(other, Collection):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __getitem__(self, item: int | slice) -> Any:
        """``[i]`` (one element, IndexError when out of range) or ``[a:b]`` (a list); both
        fetch only that range (SORT ... LIMIT) unless indices are negative or a step is given."""
        if self._rows is not None:
            return self._rows[item]
        if isinstance(item, slice):
            start, stop, step = item.start, item.stop, item.step
            if (
                (step in (None, 1))
                and (start is None or start >= 0)
                and (stop is None or stop >= 0)
            ):
                first = start or 0
                if stop is not None and stop <= first:
                    return []
                return self._fetch(first, None if stop is None else stop - first)
            return self._all()[item]
        if isinstance(item, bool) or not isinstance(item, int):
            raise TypeError(f"collection indices must be integers or slices, not {item!r}")
        if item < 0:
            return self._all()[item]
        rows = self._fetch(item, 1)
        if not rows:
            raise IndexError("collection index out of range")
        return rows[0]

    def __repr__(self) -> str:
        """redis-limpyd 2.x's form: ``<CollectionManager ['1', '2']>`` (a subclass shows its
        own name: ``<ExtendedCollectionManager [...]>``), rows as iteration gives them (pks,
        instances or values), the first ``CollectionResults.MAX_REPR_ITEMS`` of them then
        ``'... (N remaining elements truncated)...'``.

        Redis cost: iteration's. It evaluates the whole collection (one round trip) unless it
        already holds its rows, and keeps them, as ``list(collection)`` does.
        """
        name = "CollectionManager" if type(self) is Collection else type(self).__name__
        return CollectionResults(self._all())._repr_as(name)


# redis-limpyd's name for the class behind ``Model.collection``.
CollectionManager = Collection
"""redis-limpyd's name for `Collection`, the class behind ``Model.collection()``."""
