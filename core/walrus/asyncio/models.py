"""``AsyncModel``: walrus models on an ``AsyncDatabase``, the sync models' code awaited.

The sync ``walrus.models`` write each operation once as steps (``walrus.steps``): the key
building, validation, ``model_write``/``model_query``/``model_rows`` script arguments and
reply parsing all live there. ``AsyncModel`` only awaits those steps on the asyncio client
(``adrive`` with ``asend``), so a row written by either model class reads back in the other
and every call costs the same round trips as its sync form.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator
from typing import Any, NoReturn, TypeVar, cast

from ..calls import asend
from ..models.collection import ModelQuery
from ..models.explain import explain_steps
from ..models.expressions import Expression
from ..models.fields import Field
from ..models.indexes import IndexProblem
from ..models.model import Model, Steps
from ..models.reindex import check_indexes_steps, rebuild_indexes_steps
from ..models.relations import RelatedSet
from ..models.writer import Nested
from ..steps import adrive

__all__ = ["AsyncModel", "AsyncModelQuery", "AsyncRelatedSet", "PendingRelation"]

M = TypeVar("M", bound="AsyncModel")


async def _arun(model: type[Model], steps: Steps) -> Any:
    """Await model steps on ``model``'s asyncio database (looked up as each step is sent;
    a ``Nested`` step's own steps awaited in turn). Cost: one round trip per step sent."""

    async def send(step: Any) -> Any:
        if isinstance(step, Nested):
            return await _arun(model, step.steps())
        return await asend(model._db(), step)

    return await adrive(steps, send)


def _sync_only(target: object, operation: str, instead: str) -> NoReturn:
    raise TypeError(f"{target!r} is on an asyncio client: {operation} cannot be awaited, {instead}")


class AsyncModelQuery(ModelQuery):
    """``ModelQuery`` of an ``AsyncModel``: chain it the same way (``filter``,
    ``order_by``, slices), then ``async for row in query`` (rows in pages of 500, as the
    sync query: 1 round trip for the first 500, 1 per further 500) or await ``execute()``,
    ``count()``, ``exists()``, ``first()``, ``values()``, ``values_list()``, ``delete()``
    (each the round trips of its sync form)."""

    def _run(self, steps: Steps) -> NoReturn:
        raise TypeError(f"{self!r} is on an asyncio client: await its methods instead")

    async def _arun(self, steps: Steps) -> Any:
        return await _arun(self.model, steps)

    async def execute(self) -> list[Model]:  # type: ignore[override]
        """Run the query (once; later calls reuse the rows). 1 round trip for up to 500
        rows, plus 1 per further 500."""
        if self._rows is None:
            self._rows = await self._arun(self._fetch_steps())
        return self._rows

    async def __aiter__(self) -> AsyncIterator[Model]:
        """The matching rows (``execute``'s round trips, when iteration starts)."""
        for row in await self.execute():
            yield row

    async def count(self) -> int:  # type: ignore[override]
        """Number of matching rows without loading them (offset/limit applied).
        1 round trip (2 for phrase searches, checked on the rows)."""
        return int(await self._arun(self._count_steps()))

    async def exists(self) -> bool:  # type: ignore[override]
        """Whether any row matches. 1 round trip."""
        return await self.count() > 0

    async def first(self) -> Model | None:  # type: ignore[override]
        """The first matching row or None. 1 round trip."""
        found = await self[:1].execute()
        return found[0] if found else None

    async def values(self, *fields: Any) -> list[dict[str, Any]]:  # type: ignore[override]
        """Dicts of the given fields (default: every stored field) of each row. 2 round
        trips: the query and one pipelined HMGET batch."""
        return cast("list[dict[str, Any]]", await self._arun(self._values_steps(fields)))

    async def values_list(self, *fields: Any, flat: bool = False) -> list[Any]:  # type: ignore[override]
        """Tuples of the given fields per row; ``flat=True`` with one field gives values.
        2 round trips, as ``values``."""
        return cast("list[Any]", await self._arun(self._values_list_steps(fields, flat)))

    async def delete(self) -> int:  # type: ignore[override]
        """Delete the matching rows with their index entries and containers; returns how
        many. The round trips of the sync ``ModelQuery.delete``: 1 for the query, then per
        200 rows 1 pipelined read and 1 script call (plus the relation reads)."""
        return int(await self._arun(self._delete_steps()))

    def __getitem__(self, item: int | slice) -> Any:
        if isinstance(item, slice):
            return super().__getitem__(item)
        _sync_only(self, "query[index]", "use await query[index:index + 1].execute()")

    def __iter__(self) -> NoReturn:
        _sync_only(self, "iter()", "use async for")

    def __next__(self) -> NoReturn:
        _sync_only(self, "next()", "use async for")

    def __len__(self) -> NoReturn:
        _sync_only(self, "len()", "use await query.count()")

    def __bool__(self) -> NoReturn:
        _sync_only(self, "bool()", "use await query.exists()")

    async def explain(self) -> list[dict[str, Any]]:  # type: ignore[override]
        """The steps the query script will take with their estimated rows and cost, the
        last item the total (``ModelQuery.explain``). 1 round trip (index sizes); no row
        is read and nothing is written."""
        return cast("list[dict[str, Any]]", await self._arun(explain_steps(self)))


class PendingRelation:
    """What a relation descriptor of an ``AsyncModel`` row gives instead of a row:
    ``author = await note.author`` (None when the field is empty; MissingReferenceError
    when the row is gone). Each ``await`` runs the read again: 1 round trip (HGETALL), none
    when the row is cached on the instance (assigned, or read before with the same key).
    No Redis work until awaited. Anything else raises TypeError naming ``await``."""

    __slots__ = ("_label", "_make", "_model")

    def __init__(self, model: type[Model], make: Callable[[], Steps], label: str) -> None:
        self._model = model
        self._make = make
        self._label = label

    def __repr__(self) -> str:
        return f"<PendingRelation {self._label}: await it>"

    def __await__(self) -> Generator[Any, None, Any]:
        return _arun(self._model, self._make()).__await__()

    def _refuse(self, what: str) -> NoReturn:
        raise TypeError(
            f"{self._label} is on an asyncio client: {what} needs the related row, await "
            f"it first (related = await {self._label})"
        )

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):
            raise AttributeError(name)
        self._refuse(f".{name}")

    def __bool__(self) -> NoReturn:
        self._refuse("bool()")

    def __eq__(self, other: object) -> NoReturn:
        self._refuse("==")

    __hash__ = None  # type: ignore[assignment]


class AsyncRelatedSet(RelatedSet):
    """One side of a many-to-many relation for one ``AsyncModel`` row (``row.<field>`` or
    the reverse accessor): ``await s.add(*rows)``, ``await s.remove(*rows)`` (1 round trip
    each; ``pipeline=`` queues them as on the sync ``RelatedSet``), ``await s.clear()`` (2),
    ``await s.keys()``, ``await s.count()``, ``await s.contains(row)`` (1 each),
    ``await s.all()`` or ``async for row in s`` (1 round trip plus 1 per 500 rows).
    ``iter()``, ``len()`` and ``in`` raise TypeError naming these. No Redis work to build."""

    async def _arun(self, steps: Steps) -> Any:
        return await _arun(self.model, steps)

    def _run(self, steps: Steps) -> NoReturn:
        steps.close()
        raise TypeError(f"{self!r} is on an asyncio client: await its methods instead")

    async def add(self, *items: Any, pipeline: Any = None) -> int | None:  # type: ignore[override]
        """Link rows (instances or primary keys); returns how many were new (None when
        queued on ``pipeline``). MissingReferenceError when one does not exist (nothing is
        linked). 1 round trip; none when queued."""
        return cast("int | None", await self._arun(self._change_steps("add", items, pipeline)))

    async def remove(self, *items: Any, pipeline: Any = None) -> int | None:  # type: ignore[override]
        """Unlink rows; returns how many were linked (None when queued on ``pipeline``).
        1 round trip; none when queued."""
        return cast("int | None", await self._arun(self._change_steps("remove", items, pipeline)))

    async def clear(self, pipeline: Any = None) -> int:  # type: ignore[override]
        """Unlink every row; returns how many. 2 round trips (read, then one guarded script;
        retried if the links changed meanwhile); a queuing ``pipeline``: PipelineError."""
        return int(await self._arun(self._clear_steps(pipeline)))

    async def keys(self) -> list[bytes]:  # type: ignore[override]
        """Row keys of the linked rows, sorted. 1 round trip."""
        return cast("list[bytes]", await self._arun(self._keys_steps()))

    async def all(self) -> list[Model]:  # type: ignore[override]
        """The linked rows, in row-key order. 1 round trip for the keys, plus 1 per 500
        linked rows (none when there are none)."""
        return cast("list[Model]", await self._arun(self._all_steps()))

    async def __aiter__(self) -> AsyncIterator[Model]:
        """The linked rows (``all``'s round trips, when iteration starts)."""
        for row in await self.all():
            yield row

    async def count(self) -> int:  # type: ignore[override]
        """Number of linked rows. 1 round trip."""
        return int(await self._arun(self._count_steps()))

    async def contains(self, item: Any) -> bool:
        """Whether ``item`` (a row or its primary key) is linked. 1 round trip."""
        return bool(await self._arun(self._contains_steps(item)))

    def __iter__(self) -> NoReturn:
        _sync_only(self, "iter()", "use async for or await .all()")

    def __len__(self) -> NoReturn:
        _sync_only(self, "len()", "use await .count()")

    def __contains__(self, item: Any) -> NoReturn:
        _sync_only(self, "in", "use await .contains(row)")


class AsyncModel(Model):
    """A ``Model`` whose ``__database__`` is an ``AsyncDatabase``: the same fields
    (``from walrus import TextField, ...``), key layout, checks and scripts, with awaitable
    calls: ``await User.create(...)``, ``await User.load(pk)``, ``await User.get(expr)``,
    ``await User.count()``, ``async for u in User.query(expr, order_by=..., limit=...)``,
    ``await user.save()``, ``await user.delete()``; each costs the round trips of its sync
    form (``create``/``save``: 1, ``load``: 1, ``count``: 1, a query: 1 per 500 rows).
    Declaring the class does no Redis work.

    Also awaitable, with the sync costs: ``await row.incr(field, by)``,
    ``await Model.check_indexes()`` / ``rebuild_indexes()``, ``await query.explain()``;
    relations: ``await row.<foreign key>`` (the related row; ``row.<foreign key>_id`` is
    the stored key, no round trip), reverse accessors give an ``AsyncModelQuery``, and
    many-to-many fields an ``AsyncRelatedSet``. ``pipeline=`` on ``create``, ``save``,
    ``delete``, ``incr`` and many-to-many ``add``/``remove`` queues the write on an asyncio
    pipeline (e.g. ``walrus.asyncio.atomic.AsyncAtomic``'s ``pipe``) as on the sync model.
    """

    _related_set = AsyncRelatedSet

    @classmethod
    def _run_steps(
        cls, make: Callable[[], Steps], on: type[Model] | None = None, label: str = ""
    ) -> Any:
        """An awaitable of the steps ``make()`` builds, on ``on``'s database (default: this
        model): what a relation descriptor gives. No Redis work until awaited."""
        return PendingRelation(on or cls, make, label or f"{cls.__name__.lower()} relation")

    @classmethod
    async def create(cls: type[M], pipeline: Any = None, **kwargs: Any) -> M:  # type: ignore[override]
        """Build and save a row (``Model.create``). 1 round trip (2 when replacing a row
        this process has not read); none when queued on ``pipeline`` (see ``save``)."""
        instance = cls(**kwargs)
        await instance.save(pipeline=pipeline)
        return instance

    @classmethod
    async def load(cls: type[M], primary_key: Any, convert_key: bool = True) -> M:  # type: ignore[override]
        """The row with this primary key (``Model.load``); KeyError when it does not exist.
        1 round trip (HGETALL)."""
        return cast(M, await _arun(cls, cls._load_steps(primary_key, convert_key)))

    @classmethod
    async def get(cls: type[M], expression: Expression) -> M:  # type: ignore[override]
        """The one row matching ``expression``; ValueError when none or several match.
        1 round trip (more for a long full-text phrase search, as ``Model.get``)."""
        return cast(M, await _arun(cls, cls._get_steps(expression)))

    @classmethod
    async def count(cls) -> int:  # type: ignore[override]
        """Number of rows (SCARD). 1 round trip."""
        return int(await _arun(cls, cls._count_steps()))

    @classmethod
    def query(
        cls, expression: Expression | None = None, order_by: Any = None, limit: int | None = None
    ) -> AsyncModelQuery:
        """A lazy query (``Model.query``), used with ``async for`` or its awaitable methods;
        ``limit``: at most that many rows. No Redis work until it runs: then 1 round trip
        for up to 500 rows, plus 1 per further 500."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise TypeError(f"query() limit must be an int or None, got {limit!r}")
        if limit is not None and limit < 0:
            raise ValueError(f"query() limit must not be negative, got {limit}")
        return AsyncModelQuery(cls, expression, order_by, limit=limit)

    @classmethod
    def all(cls) -> AsyncModelQuery:
        """Every row, in primary-key order, for ``async for``. 1 round trip per 500 rows."""
        return cls.query()

    @classmethod
    async def query_delete(cls, expression: Expression | None = None) -> int:  # type: ignore[override]
        """Delete the rows matching ``expression`` (every row when None); returns how many.
        The round trips of ``Model.query_delete``."""
        return await cls.query(expression).delete()

    async def save(self, pipeline: Any = None) -> None:  # type: ignore[override]
        """Write the row and every index change atomically (``Model.save``: unique fields
        and references checked in the same script; a refusal writes nothing). 1 round trip
        (2 when the row changed since it was read). ``pipeline``: an asyncio pipeline to
        queue the script on (no round trip; the rules of ``Model.save(pipeline=...)``: a
        write that needs a read raises PipelineError before anything is queued)."""
        await _arun(type(self), self._save_steps(pipeline))

    async def delete(self, for_update: bool = False, pipeline: Any = None) -> None:  # type: ignore[override]
        """Delete the row, its index entries and (unless ``for_update``) its container
        fields atomically (``Model.delete``, relations included). 1 round trip when the
        instance was loaded or saved and no relation is involved; none when queued on
        ``pipeline`` (``Model.delete``'s rules)."""
        await _arun(type(self), self._delete_steps(for_update, pipeline))

    async def incr(self, field: Field | str, incr_by: int | float = 1, pipeline: Any = None) -> Any:
        """Add ``incr_by`` to a numeric field and move its index entries in the same script
        (``Model.incr``); returns the new value, also set on the instance. KeyError when the
        row does not exist. 1 round trip (2 when the instance's value of an indexed field
        was stale). ``pipeline``: queue it there (unindexed fields only), returns None."""
        return await _arun(type(self), self._incr_steps(field, incr_by, pipeline))

    @classmethod
    async def check_indexes(cls) -> list[IndexProblem]:  # type: ignore[override]
        """Inconsistencies between rows and indexes ([] when none), as
        ``Model.check_indexes``: O(rows + index entries) reads; a SCAN for the rows and one
        per indexed field (1 round trip per 1000 keys of the database each), plus 1 round
        trip per 500 keys read (pipelined)."""
        return cast("list[IndexProblem]", await _arun(cls, check_indexes_steps(cls)))

    @classmethod
    async def rebuild_indexes(cls) -> list[IndexProblem]:  # type: ignore[override]
        """Repair what ``check_indexes`` reports (``Model.rebuild_indexes``); returns the
        repaired problems. Cost: the round trips of ``check_indexes``, plus 1 per 200 fixes
        (one guarded script each)."""
        return cast("list[IndexProblem]", await _arun(cls, rebuild_indexes_steps(cls)))
