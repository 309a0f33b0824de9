"""``ExtendedCollectionManager`` (redis-limpyd 2.x): collections that also intersect other
sets, sort by the scores of a sorted set, return values instead of pks, and store their
result in a list.

Use it per call (``Model.collection(manager=ExtendedCollectionManager)``) or per model
(``collection_manager = ExtendedCollectionManager``).

Every evaluation is one MULTI/EXEC on a single server: the filter script intersects the
filters and every ``intersect()`` source into a temporary set, a ``ZINTERSTORE`` orders it by
score when a sorted set is involved, one ``SORT`` reads the page (with ``GET`` patterns for
values), temporary keys are deleted. On a Redis Cluster the extended features raise
``ImplementationError`` (their keys need not share the model's slot); plain filters work.
"""

from __future__ import annotations

from typing import Any

from redis.exceptions import ResponseError

from ..collection import Collection, sort_ro
from ..exceptions import DoesNotExist, ImplementationError
from ..fields import ListField, SetField, SortedSetField
from ..fields.base import RedisField
from ..indexes import Source

__all__ = ["DEFAULT_STORE_TTL", "SORTED_SCORE", "ExtendedCollectionManager"]

SORTED_SCORE = "sorted_score"
"""Name to give ``values()``/``values_list()`` for the score of ``sort(by_score=...)``."""

DEFAULT_STORE_TTL = 60
"""Seconds a ``store()``-d collection lives by default."""


class _StoredCollection:
    """The list key a collection was stored in (an ``intersect()`` source)."""

    def __init__(self, key: str) -> None:
        self.key = key


def _queue_scores(pipe: Any, key: str, desc: bool, start: int | None, num: int | None) -> None:
    """Queue the read of the page's scores from the sorted set ``key`` (for ``SORTED_SCORE``)."""
    first = start or 0
    last = -1 if num is None or num < 0 else first + num - 1
    if desc:
        pipe.zrevrange(key, first, last, withscores=True)
    else:
        pipe.zrange(key, first, last, withscores=True)


class ExtendedCollectionManager(Collection):
    """A :class:`~limpyd.collection.Collection` with ``intersect``, ``sort(by_score=...)``,
    ``values``, ``values_list``, ``store`` / ``from_stored`` and ``filter``. Every method
    returns a new collection."""

    def __init__(self, model: Any) -> None:
        super().__init__(model)
        self._intersects: list[tuple[str, Any]] = []
        self._by_score: str | None = None
        self._values: dict[str, Any] | None = None
        self.stored_key: str | None = None
        self._stored_len = 0

    def clone(self) -> ExtendedCollectionManager:
        """A copy of this collection (intersections and values included), not evaluated. No Redis
        work."""
        new = super().clone()
        assert isinstance(new, ExtendedCollectionManager)
        new._intersects = list(self._intersects)
        new._values = None if self._values is None else dict(self._values)
        return new

    # -- building -----------------------------------------------------------------------

    def filter(self, **filters: Any) -> Collection:
        """A new collection with more filters (as calling the collection). No Redis work:
        evaluating it is 1 round trip."""
        return self(**filters)

    def intersect(self, *sets: Any) -> ExtendedCollectionManager:
        """A new collection keeping only pks also in every one of ``sets``: keys of Redis sets,
        sorted sets or lists (a missing key is an empty set), bound SetField, ListField or
        SortedSetField, or Python lists, tuples and sets of pks. Sorted sets order the result
        by score when no other sort is asked. No Redis work: evaluating it is 1 round trip."""
        clone = self.clone()
        for item in sets:
            clone._intersects.append(clone._intersect_source(item))
        clone._rows = None
        return clone

    def _intersect_source(self, item: Any) -> tuple[str, Any]:
        if isinstance(item, (list, tuple, set, frozenset)):
            return "values", [self.model._pk_field().normalize(v) for v in item]
        if isinstance(item, str):
            return "any", item
        if isinstance(item, _StoredCollection):
            return "list", item.key
        if isinstance(item, (SetField, ListField, SortedSetField)):
            if item._instance is None:
                raise ValueError(f'{type(item).__name__} passed to "intersect" must be bound')
            kind = {"set": "set", "list": "list", "zset": "zset"}[item.kind]
            return kind, item.key
        raise ValueError(
            f"{item!r} cannot be used as a set: give a key (set, sorted set or list), a bound "
            "SetField, ListField or SortedSetField, or a list, tuple or set of pks"
        )

    def sort(
        self, by: Any = None, alpha: bool = False, desc: bool = False, **kwargs: Any
    ) -> Collection:
        """Like ``Collection.sort``, plus ``by_score``: a sorted set key or a bound
        SortedSetField whose scores order the pks (pks not in it are left out).
        No Redis work: evaluating it is 1 round trip."""
        by_score = kwargs.pop("by_score", None)
        if kwargs:
            raise TypeError(f"sort() got unexpected arguments {sorted(kwargs)}")
        clone = self.clone()
        if by_score is None:
            clone._by_score = None
            return clone._apply_sort(by=by, alpha=alpha, desc=desc)
        if by is not None:
            raise ValueError("You can't use `by` and `by_score` in the same call to `sort`.")
        if isinstance(by_score, SortedSetField) and by_score._instance is not None:
            by_score = by_score.key
        if not isinstance(by_score, str):
            raise ValueError("by_score must be a bound SortedSetField or a sorted set key")
        clone._by_score = by_score
        clone._sort = {"by": "nosort", "alpha": False, "desc": bool(desc)}
        return clone

    def _reset_result_type(self) -> None:
        super()._reset_result_type()
        self._values = None

    def _coerce_fields(self, names: tuple[Any, ...]) -> list[str]:
        model = self.model
        if not names:
            return [model._pk_field_name] + [
                n for n, f in model._redis_fields.items() if f.kind in ("string", "hash")
            ]
        result = []
        for name in names:
            if isinstance(name, RedisField):
                name = name.name
            if name in ("pk", model._pk_field_name) or name == SORTED_SCORE:
                result.append(name)
                continue
            field = model._redis_fields.get(name)
            if field is None:
                raise ValueError(f"{name} is not a valid field to get from {model.__name__}")
            if field.kind not in ("string", "hash"):
                raise ValueError(f"{model.__name__}.{name}: only single-value fields can be read")
            result.append(name)
        return result

    def values(self, *fields: Any) -> ExtendedCollectionManager:
        """A new collection yielding ``{field: value}`` dicts (every single-value field and
        the pk when none is named; ``SORTED_SCORE`` for the score of ``by_score``).
        No Redis work: evaluating it is 1 round trip."""
        clone = self.clone()
        clone._instances = False
        clone._values = {"fields": clone._coerce_fields(fields), "mode": "dicts"}
        clone._rows = None
        return clone

    def values_list(self, *fields: Any, flat: bool = False) -> ExtendedCollectionManager:
        """A new collection yielding tuples of values (single values with ``flat=True``, which
        needs exactly one field). No Redis work: evaluating it is 1 round trip."""
        if flat and len(fields) != 1:
            raise ValueError("'flat' is not valid when values is called with more than one field.")
        clone = self.clone()
        clone._instances = False
        clone._values = {
            "fields": clone._coerce_fields(fields),
            "mode": "flat" if flat else "tuples",
        }
        clone._rows = None
        return clone

    # -- storing ------------------------------------------------------------------------

    def store(
        self, key: str | None = None, ttl: int | None = DEFAULT_STORE_TTL
    ) -> ExtendedCollectionManager:
        """Store the pks, in order, in the list ``key`` (a new key by default) expiring in
        ``ttl`` seconds (None: never), in the same MULTI/EXEC as the evaluation; return a
        collection based on it (with this one's result type).
        2 round trips (the evaluation with the store, then the stored list's LLEN)."""
        model = self.model
        store_key = key or f"{model._key_prefix()}:__collection__:store:{model._temp_key()}"
        self._evaluate(None, None, store=store_key, ttl=ttl)
        stored = type(self)(model).from_stored(store_key)
        stored._instances, stored._values = self._instances, self._values
        return stored

    def from_stored(self, key: str) -> ExtendedCollectionManager:
        """A collection based on the list ``key`` stored by :meth:`store` (order kept). 1 round
        trip (LLEN)."""
        if self.stored_key:
            raise ValueError("This collection is already based on a stored one")
        clone = self.clone()
        clone.stored_key = key
        clone._intersects.append(("list", key))
        clone._stored_len = int(self.model.database.direct_connection.llen(key))
        return clone

    def stored_key_exists(self) -> bool:
        """True when the stored list still exists. 1 round trip."""
        return bool(
            self.stored_key and self.model.database.direct_connection.exists(self.stored_key)
        )

    # -- evaluation -----------------------------------------------------------------------

    def _count(self) -> int:
        if self._deferred:
            return self._resolved()._count()
        self._check_plan()
        if not self._extended():
            return super()._count()
        plain = self.clone()
        plain._values, plain._instances, plain._by_score = None, False, None
        plain._sort = {"by": "nosort", "alpha": False, "desc": False}
        return len(plain._evaluate(None, None))

    def _extended(self) -> bool:
        return bool(self._intersects or self._by_score or self._values or self._scored)

    def _fetch(self, start: int | None = None, num: int | None = None) -> list[Any]:
        if self._deferred:
            return self._resolved()._fetch(start, num)
        self._check_plan()
        if not self._extended():
            return super()._fetch(start, num)
        return self._evaluate(start, num)

    def _evaluate(
        self, start: int | None, num: int | None, store: str | None = None, ttl: int | None = None
    ) -> list[Any]:
        self._check_plan()
        model = self.model
        database = model.database
        if database.is_cluster:
            raise ImplementationError(
                "ExtendedCollectionManager's intersect, by_score, values and store are not "
                "available on a Redis Cluster"
            )
        connection = database.direct_connection
        if start is not None and num is None:
            num = -1
        temps: list[str] = []
        pipe = connection.pipeline(transaction=True)
        if self.stored_key:
            pipe.exists(self.stored_key)
        queued = self._queue_intersects(pipe, temps)
        if queued is None:  # an empty list of pks: nothing can match
            pipe.reset()
            return []
        extra, zsets = queued
        zsets += self._scored
        temp, script_keys, script_args = self._filter_script_call(self._sets(), extra)
        temps.append(temp)
        connection.run_script("limpyd_ops_filter", script_keys, script_args, client=pipe)
        options = self._sort_options()
        fields = self._values["fields"] if self._values else []
        final = temp
        scored = False
        if self._by_score or (zsets and self._sort is None):
            final = self._queue_score_order(pipe, temp, zsets, temps)
            desc = bool(self._by_score and options["desc"])
            options = {"by": "nosort", "alpha": False, "desc": desc}
            scored = bool(self._by_score) and SORTED_SCORE in fields
            if scored:
                _queue_scores(pipe, final, desc, start, num)
        elif self.stored_key and self._only_stored_order():
            final, options = self.stored_key, {"by": "nosort", "alpha": False, "desc": False}
        get = self._get_patterns(fields)
        if store is not None:
            pipe.sort(final, start=start, num=num, store=store, **options)
            if ttl is not None:
                pipe.expire(store, ttl)
        else:
            sort_ro(pipe, final, start, num, get, **options)
        pipe.delete(*temps)
        replies = self._execute(pipe)
        if store is not None:
            return []
        rows = list(replies[-2])
        scores = replies[-3] if scored else []
        return self._shape(rows, fields, get, scores)

    def _execute(self, pipe: Any) -> list[Any]:
        """Send the evaluation's MULTI/EXEC: a filter the scripts refuse raises ``ValueError``, a
        stored collection that expired ``DoesNotExist``."""
        try:
            replies: list[Any] = pipe.execute()
        except ResponseError as error:
            if "limpyd:" in str(error):
                raise ValueError(str(error)) from None
            raise
        if self.stored_key and not replies[0] and self._stored_len:
            raise DoesNotExist(f"The stored collection {self.stored_key} does not exist anymore")
        return replies

    def _queue_intersects(
        self, pipe: Any, temps: list[str]
    ) -> tuple[list[list[Source]], list[str]] | None:
        """The filter sources of the ``intersect()`` items and the sorted set keys among them;
        a literal list of pks is queued into a temporary set (its key added to ``temps``).
        None when a literal list is empty (the result is empty)."""
        extra: list[list[Source]] = []
        zsets: list[str] = []
        for kind, obj in self._intersects:
            if kind == "values":
                if not obj:
                    return None
                literal = self.model._temp_key()
                temps.append(literal)
                pipe.sadd(literal, *obj)
                extra.append([(literal, "set", "", "", "")])
            else:
                extra.append([(obj, kind, "", "", "")])
                if kind == "zset":
                    zsets.append(obj)
        return extra, zsets

    def _queue_score_order(self, pipe: Any, temp: str, zsets: list[str], temps: list[str]) -> str:
        """Queue the ZINTERSTORE giving the filtered pks (``temp``) the scores of ``by_score``,
        else of the intersected sorted sets; returns its temporary key (added to ``temps``)."""
        final = self.model._temp_key()
        temps.append(final)
        weights = {temp: 0}
        for key in [self._by_score] if self._by_score else zsets:
            weights[key] = weights.get(key, 0) + 1
        pipe.zinterstore(final, weights)
        return final

    def _only_stored_order(self) -> bool:
        """True when the stored list alone gives the result, in its order (no other
        intersection, filter or sort)."""
        return (
            len(self._intersects) == 1
            and not self._filters
            and not self._sources
            and (self._sort is None or self._sort.get("by") == "nosort")
        )

    def _get_patterns(self, fields: list[str]) -> list[str] | None:
        model = self.model
        if self._values:
            patterns = []
            for name in fields:
                if name == SORTED_SCORE:
                    continue
                if name in ("pk", model._pk_field_name):
                    patterns.append("#")
                else:
                    patterns.append(model._redis_fields[name].sort_wildcard)
            return patterns or ["#"]
        prefetched = self._prefetched()
        return ["#", *(f.sort_wildcard for f in prefetched)] if prefetched else None

    def _shape(
        self, rows: list[Any], fields: list[str], get: list[str] | None, scores: list[Any]
    ) -> list[Any]:
        model = self.model
        if self._values:
            width = len(get or ["#"])
            readable = [n for n in fields if n != SORTED_SCORE]
            result: list[Any] = []
            for index, offset in enumerate(range(0, len(rows), width)):
                found = dict(zip(readable, rows[offset : offset + width], strict=True))
                if SORTED_SCORE in fields:
                    found[SORTED_SCORE] = (
                        str(float(scores[index][1])) if index < len(scores) else None
                    )
                values = [found[n] for n in fields]
                mode = self._values["mode"]
                if mode == "dicts":
                    result.append(dict(zip(fields, values, strict=True)))
                elif mode == "flat":
                    result.append(values[0])
                else:
                    result.append(tuple(values))
            return result
        if not self._instances:
            return rows
        prefetched = self._prefetched()
        if not prefetched:
            return [model.lazy_connect(pk) for pk in rows]
        width = len(prefetched) + 1
        instances = []
        for offset in range(0, len(rows), width):
            instance = model.lazy_connect(rows[offset])
            instance._connected = True
            for field, value in zip(prefetched, rows[offset + 1 : offset + width], strict=True):
                command = "get" if field.kind == "string" else "hget"
                instance._cache_set(field.name, (command, ()), value)
            instances.append(instance)
        return instances
