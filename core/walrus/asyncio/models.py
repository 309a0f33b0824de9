"""``AsyncModel``: walrus models on an ``AsyncDatabase``, the sync models' code awaited.

The sync ``walrus.models`` write each operation once as steps (``walrus.steps``): the key
building, validation, ``model_write``/``model_query``/``model_rows`` script arguments and
reply parsing all live there. ``AsyncModel`` only awaits those steps on the asyncio client
(``adrive`` with ``asend``), so a row written by either model class reads back in the other
and every call costs the same round trips as its sync form.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NoReturn, TypeVar, cast

from ..calls import asend
from ..models.collection import ModelQuery
from ..models.expressions import Expression
from ..models.model import Model, Steps
from ..models.writer import Nested
from ..steps import adrive

__all__ = ["AsyncModel", "AsyncModelQuery"]

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

    def explain(self) -> NoReturn:
        """Sync only for now (TypeError): explain the same query on a sync ``Model``. No
        Redis work."""
        _sync_only(self, "explain()", "explain it on a sync Model of the same layout")


class AsyncModel(Model):
    """A ``Model`` whose ``__database__`` is an ``AsyncDatabase``: the same fields
    (``from walrus import TextField, ...``), key layout, checks and scripts, with awaitable
    calls: ``await User.create(...)``, ``await User.load(pk)``, ``await User.get(expr)``,
    ``await User.count()``, ``async for u in User.query(expr, order_by=..., limit=...)``,
    ``await user.save()``, ``await user.delete()``; each costs the round trips of its sync
    form (``create``/``save``: 1, ``load``: 1, ``count``: 1, a query: 1 per 500 rows).
    Declaring the class does no Redis work.

    Not on asyncio yet (TypeError): ``incr``, ``check_indexes``, ``rebuild_indexes``,
    pipelines; relation descriptors that read rows (a foreign key's related row) are sync.
    """

    @classmethod
    async def create(cls: type[M], **kwargs: Any) -> M:  # type: ignore[override]
        """Build and save a row (``Model.create``). 1 round trip (2 when replacing a row
        this process has not read)."""
        instance = cls(**kwargs)
        await instance.save()
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

    async def save(self) -> None:  # type: ignore[override]
        """Write the row and every index change atomically (``Model.save``: unique fields
        and references checked in the same script; a refusal writes nothing). 1 round trip
        (2 when the row changed since it was read)."""
        await _arun(type(self), self._save_steps())

    async def delete(self, for_update: bool = False) -> None:  # type: ignore[override]
        """Delete the row, its index entries and (unless ``for_update``) its container
        fields atomically (``Model.delete``, relations included). 1 round trip when the
        instance was loaded or saved and no relation is involved."""
        await _arun(type(self), self._delete_steps(for_update))

    def incr(self, field: Any, incr_by: int | float = 1, pipeline: Any = None) -> NoReturn:
        """Sync only for now (TypeError): set the value and ``await save()``. No Redis
        work."""
        _sync_only(self, "incr()", "set the field and await save()")

    @classmethod
    def check_indexes(cls) -> NoReturn:
        """Sync only for now (TypeError): check on a sync ``Model`` of the same layout. No
        Redis work."""
        _sync_only(cls, "check_indexes()", "run it on a sync Model of the same layout")

    @classmethod
    def rebuild_indexes(cls) -> NoReturn:
        """Sync only for now (TypeError): rebuild on a sync ``Model`` of the same layout. No
        Redis work."""
        _sync_only(cls, "rebuild_indexes()", "run it on a sync Model of the same layout")
