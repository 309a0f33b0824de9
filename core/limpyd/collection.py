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

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .model import RedisModel

__all__ = ["Collection", "CollectionManager", "CollectionResults"]

CollectionResults = list


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
        self._sort: dict[str, Any] | None = None
        self._instances = False
        self._rows: list[Any] | None = None

    # -- building -----------------------------------------------------------------------

    def __call__(self, **filters: Any) -> Collection:
        """Add ``field=value`` filters (checked now, before any query)."""
        model = self.model
        for name, value in filters.items():
            if name in ("pk", model._pk_field_name):
                key, text = "pk", model._pk_field().normalize(value)
            else:
                field = model._redis_fields.get(name)
                if field is None:
                    raise ValueError(f"{model.__name__} has no field {name!r} to filter on")
                if not field.indexable:
                    raise ValueError(
                        f"{model.__name__}.{name} is not indexable: only fields declared with "
                        "indexable=True or unique=True can be filtered"
                    )
                key, text = name, field._normalize_value(value)
            if key in self._filters:
                raise ValueError(f"{model.__name__}: filter on {name!r} given twice")
            self._filters[key] = text
        self._rows = None
        return self

    def sort(self, by: str | None = None, alpha: bool = False) -> Collection:
        """Sort by a string/hash field (``-name`` for descending), ``pk`` or ``nosort``.

        Numeric unless ``alpha=True``. Returns the collection (chainable, lazy).
        """
        model = self.model
        desc = False
        name = by or "pk"
        if name.startswith("-"):
            desc, name = True, name[1:]
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
        self._sort = {"by": pattern, "alpha": bool(alpha), "desc": desc}
        self._rows = None
        return self

    def instances(self) -> Collection:
        """Yield model instances instead of pks. Returns the collection (chainable, lazy)."""
        self._instances = True
        self._rows = None
        return self

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

    def _sort_options(self) -> dict[str, Any]:
        if self._sort is not None:
            return dict(self._sort)
        return {"by": None, "alpha": not self.model._pk_field().auto_increment, "desc": False}

    def _prefetched(self) -> list[Any]:
        model = self.model
        if not self._instances or not model.cacheable:
            return []
        return [
            f
            for f in model._redis_fields.values()
            if f.kind in ("string", "hash") and f.cacheable
        ]

    def _fetch(self, start: int | None = None, num: int | None = None) -> list[Any]:
        model = self.model
        connection = model.database.direct_connection
        options = self._sort_options()
        fields = self._prefetched()
        get = ["#", *(f.sort_wildcard for f in fields)] if fields else None
        keys = self._sets()
        if start is not None and num is None:
            num = -1
        rows: Any
        if model.database.is_cluster:
            pattern = options["by"]
            args = [
                self._filters.get("pk", ""),
                "1" if "pk" in self._filters else "0",
                "pk" if pattern is None else pattern,
                "1" if options["alpha"] else "0",
                "1" if options["desc"] else "0",
                start or 0,
                -1 if num is None else num,
                *(get or ()),
            ]
            rows = model.database.run_script("limpyd_collection", keys, args)
        elif len(keys) == 1 and "pk" not in self._filters:
            rows = connection.sort(keys[0], start=start, num=num, get=get, **options)
        else:
            temp = model._temp_key()
            pipe = connection.pipeline(transaction=True)
            if "pk" in self._filters:
                pipe.sadd(temp, self._filters["pk"])
                pipe.sinterstore(temp, [temp, *keys])
            else:
                pipe.sinterstore(temp, keys)
            pipe.sort(temp, start=start, num=num, get=get, **options)
            pipe.delete(temp)
            rows = pipe.execute()[-2]
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
        return iter(self._all())

    def __len__(self) -> int:
        """The number of matches (evaluates the collection: one round trip)."""
        return len(self._all())

    def __getitem__(self, item: int | slice) -> Any:
        """``[i]`` (one element, IndexError when out of range) or ``[a:b]`` (a list); both
        fetch only that range (SORT ... LIMIT) unless indices are negative or a step is given."""
        if self._rows is not None:
            return self._rows[item]
        if isinstance(item, slice):
            start, stop, step = item.start, item.stop, item.step
            if (step in (None, 1)) and (start is None or start >= 0) and (
                stop is None or stop >= 0
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
        return repr(self._all())


# redis-limpyd's name for the class behind ``Model.collection``.
CollectionManager = Collection
