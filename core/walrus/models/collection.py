"""``ModelQuery``: the lazy, chainable result of ``Model.query``.

Nothing runs until the query is iterated, counted, sliced with an int, or deleted.
Filtering, ordering, offset and limit all run inside one Lua script, which also returns
the first page of rows (``PAGE_ROWS``); further rows come a page per round trip.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any, cast

from ..calls import Batch, call
from .executor import PAGE_ROWS, UNORDERED, compile_plan, matches, order_spec, plan_call
from .expressions import Desc, Expression
from .writer import Nested, run_model

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model

__all__ = ["ModelQuery", "load_rows", "load_rows_steps", "rows_from_reply"]

Steps = Generator[Any, Any, Any]  # a call written as steps (walrus.steps)


def load_rows(model: type[Model], keys: list[bytes], page: int = PAGE_ROWS) -> list[Model]:
    """The rows with these hash keys, in order, skipping rows that no longer exist.
    One ``model_rows.lua`` call (HMGET of the stored fields) per ``page`` keys: 1 round
    trip per page, none for no keys."""
    return cast("list[Model]", run_model(model, load_rows_steps(model, keys, page)))


def load_rows_steps(model: type[Model], keys: list[bytes], page: int = PAGE_ROWS) -> Steps:
    """``load_rows`` as steps (``walrus.steps``), for either client. Cost: that of
    ``load_rows``."""
    rows: list[Model] = []
    build = model._reader()[1]
    fields = list(model._stored)
    for start in range(0, len(keys), page):
        chunk = keys[start : start + page]
        reply = yield call.run_script("model_rows", keys=chunk, args=fields)
        rows.extend(build(key, values) for key, values in zip(chunk, reply, strict=True) if values)
    return rows


def rows_from_reply(model: type[Model], reply: Any) -> list[Model]:
    """The rows of a ``model_query`` "rows" reply: the page it returned (the values of the
    stored fields, in order), then the other keys read a page per round trip
    (``load_rows``)."""
    return cast("list[Model]", run_model(model, _rows_from_reply_steps(model, reply)))


def _rows_from_reply_steps(model: type[Model], reply: Any) -> Steps:
    keys = reply[0]
    page = reply[1]
    build = model._reader()[1]
    rows = [build(key, values) for key, values in zip(keys, page, strict=False) if values]
    if len(page) < len(keys):
        rest = keys[len(page) :]
        # ``load_rows`` itself on a sync client (looked up when called: it may be replaced).
        rows.extend(
            (yield Nested(lambda: load_rows(model, rest), lambda: load_rows_steps(model, rest)))
        )
    return rows


class ModelQuery:
    """Rows of ``model`` matching ``expression``.

    Chain with ``filter`` (AND), ``order_by`` and slicing (``q[10:20]``: offset and limit
    pushed to Redis). Iterating runs the query once and caches the rows; ``count()``,
    ``first()``, ``values()``, ``values_list()``, ``exists()`` and ``delete()`` run their
    own round trips. Full-text phrases ("a b") are checked for adjacency in Python on the
    fetched rows; such queries slice and count in Python.
    """

    def __init__(
        self,
        model: type[Model],
        expression: Expression | None = None,
        order_by: Any = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> None:
        if expression is not None and not isinstance(expression, Expression):
            raise TypeError(
                f"query() takes an expression such as Model.field == value, got {expression!r}"
            )
        self.model = model
        self.expression = expression
        self._order_by = order_by
        # (identity: a field's == builds an expression)
        plain = order_by is None or order_by is UNORDERED
        self._order = order_by if plain else order_spec(model, order_by)
        self.offset = offset
        self.limit = limit
        self._rows: list[Model] | None = None
        self._iter: Iterator[Model] | None = None

    def __repr__(self) -> str:
        return f"<ModelQuery {self.model.__name__} {self.expression!r}>"

    def _clone(self, **changes: Any) -> ModelQuery:
        options = {
            "expression": self.expression,
            "order_by": self._order_by,
            "offset": self.offset,
            "limit": self.limit,
        }
        options.update(changes)
        return type(self)(self.model, **options)

    # -- chaining ---------------------------------------------------------------------------

    def filter(self, *expressions: Expression) -> ModelQuery:
        """This query AND every given expression (no round trip)."""
        combined = self.expression
        for expression in expressions:
            combined = expression if combined is None else combined & expression
        return self._clone(expression=combined)

    def order_by(self, field: Any) -> ModelQuery:
        """Order by ``field`` (``field.desc()`` or ``"-name"`` for descending). No Redis
        work."""
        return self._clone(order_by=field)

    def unordered(self) -> ModelQuery:
        """The same rows in index order, unsorted: no sort step (the cheapest read when the
        order does not matter; the default order is the primary key). One query's pages
        never overlap (its keys are chosen once); two separate queries (slices) may not line
        up. No Redis work."""
        return self._clone(order_by=UNORDERED)

    def __getitem__(self, item: int | slice) -> Any:
        if isinstance(item, slice):
            if (
                item.step not in (None, 1)
                or (item.start or 0) < 0
                or (item.stop is not None and item.stop < 0)
            ):
                raise ValueError("query slices take non-negative start/stop and no step")
            start = item.start or 0
            stop = None if item.stop is None else item.stop
            offset = self.offset + start
            limit: int | None = None if stop is None else max(0, stop - start)
            if self.limit is not None:
                available = max(0, self.limit - start)
                limit = available if limit is None else min(limit, available)
            return self._clone(offset=offset, limit=limit)
        if isinstance(item, bool) or not isinstance(item, int):
            raise TypeError(f"query indices must be int or slice, got {type(item).__name__}")
        if item < 0:
            raise IndexError("negative query indices are not supported")
        found = list(self[item : item + 1])
        if not found:
            raise IndexError(f"query index {item} out of range")
        return found[0]

    # -- running -----------------------------------------------------------------------------

    def _run(self, steps: Steps) -> Any:
        """Run steps of this query on the model's sync database. Cost: one round trip per
        step sent."""
        return run_model(self.model, steps)

    def _keys_steps(self) -> Steps:
        """Matching row keys (in order) and whether Python must still check them."""
        plan = compile_plan(self.model, self.expression)
        by_score = plan.scored and self._order is None
        verify = plan.needs_verification
        keys = yield plan_call(
            plan,
            mode="keys",
            order=self._order,
            by_score=by_score,
            offset=0 if verify else self.offset,
            limit=None if verify else self.limit,
        )
        return [bytes(k) for k in keys], verify

    def _fetch(self) -> list[Model]:
        return cast("list[Model]", self._run(self._fetch_steps()))

    def _fetch_steps(self) -> Steps:
        """The matching rows, as steps. Cost: that of ``execute``."""
        plan = compile_plan(self.model, self.expression)
        verify = plan.needs_verification
        reply = yield plan_call(
            plan,
            mode="rows",
            order=self._order,
            by_score=plan.scored and self._order is None,
            offset=0 if verify else self.offset,
            limit=None if verify else self.limit,
        )
        rows = yield from _rows_from_reply_steps(self.model, reply)
        if verify:
            rows = [row for row in rows if matches(self.expression, row)]
            end = None if self.limit is None else self.offset + self.limit
            rows = rows[self.offset : end]
        return rows

    def execute(self) -> list[Model]:
        """Run the query (once; later calls reuse the rows). 1 round trip for up to
        ``PAGE_ROWS`` rows (the script returns them), plus 1 per further page."""
        if self._rows is None:
            self._rows = self._fetch()
        return self._rows

    def __iter__(self) -> Iterator[Model]:
        return iter(self.execute())

    def __next__(self) -> Model:
        if self._iter is None:
            self._iter = iter(self.execute())
        return next(self._iter)

    def __len__(self) -> int:
        return len(self.execute())

    def __bool__(self) -> bool:
        return bool(self.execute())

    def count(self) -> int:
        """Number of matching rows without loading them (offset/limit applied).
        1 round trip (2 for phrase searches, checked on the rows)."""
        return int(self._run(self._count_steps()))

    def _count_steps(self) -> Steps:
        """``count`` as steps. Cost: that of ``count``."""
        if self._rows is not None:
            return len(self._rows)
        plan = compile_plan(self.model, self.expression)
        if plan.needs_verification:
            return len((yield from self._fetch_steps()))
        total = int((yield plan_call(plan, mode="count", order=self._order, by_score=False)))
        total = max(0, total - self.offset)
        return total if self.limit is None else min(total, self.limit)

    def exists(self) -> bool:
        """Whether any row matches. 1 round trip."""
        return self.count() > 0

    def first(self) -> Model | None:
        """The first matching row or None. 1 round trip."""
        found = list(self[:1])
        return found[0] if found else None

    def values(self, *fields: Any) -> list[dict[str, Any]]:
        """Dicts of the given fields (default: every stored field) of each row. 2 round
        trips: the query and one pipelined HMGET batch (only those fields travel)."""
        return cast("list[dict[str, Any]]", self._run(self._values_steps(fields)))

    def _values_steps(self, fields: tuple[Any, ...]) -> Steps:
        """``values`` as steps. Cost: that of ``values``."""
        names = self._names(fields)
        keys, verify = yield from self._keys_steps()
        if verify:
            rows = yield from self._fetch_steps()
            return [{n: row._data.get(n) for n in names} for row in rows]
        if not keys:
            return []
        replies = yield Batch([call.hmget(key, names) for key in keys], transaction=False)
        result = []
        pk = self.model._primary_key
        for raw_values in replies:
            raw = {n: v for n, v in zip(names, raw_values, strict=True) if v is not None}
            if pk in names and pk not in raw:
                continue  # deleted meanwhile
            row = {}
            for name in names:
                value = raw.get(name)
                row[name] = (
                    None if value is None else self.model._fields[name].python_value(bytes(value))
                )
            result.append(row)
        return result

    def values_list(self, *fields: Any, flat: bool = False) -> list[Any]:
        """Tuples of the given fields per row; ``flat=True`` with one field gives values.
        2 round trips, as ``values``."""
        return cast("list[Any]", self._run(self._values_list_steps(fields, flat)))

    def _values_list_steps(self, fields: tuple[Any, ...], flat: bool) -> Steps:
        """``values_list`` as steps. Cost: that of ``values``."""
        names = self._names(fields)
        if flat and len(names) != 1:
            raise TypeError("values_list(flat=True) takes exactly one field")
        rows = yield from self._values_steps(tuple(names))
        if flat:
            return [row[names[0]] for row in rows]
        return [tuple(row[n] for n in names) for row in rows]

    def _names(self, fields: tuple[Any, ...]) -> list[str]:
        names = []
        for field in fields:
            if isinstance(field, Desc):
                field = field.node
            name = field if isinstance(field, str) else getattr(field, "name", None)
            if name not in self.model._stored:
                raise TypeError(f"{self.model.__name__} has no stored field {field!r}")
            names.append(name)
        return names or list(self.model._stored)

    def explain(self) -> list[dict[str, Any]]:
        """The steps the query script will take, each a dict with ``step`` (what it does),
        ``rows`` (rows it yields, from the index sizes: an upper bound after an
        intersection) and ``cost`` (index entries or rows touched; comparable between plans,
        not a time), plus details (``key``, ``min``/``max``, ``method``...). The last item,
        ``{"step": "total", ...}``, sums the costs. 1 round trip (index sizes); no row is
        read and nothing is written."""
        from .explain import explain_query

        return explain_query(self)

    def delete(self) -> int:
        """Delete the matching rows with their index entries and containers; returns how
        many. Cost: 1 round trip for the query, then per 200 rows 1 pipelined read of
        the indexed values and 1 script call (1 more per retry when a row changed
        meanwhile); with relations, also 1 round trip per level of the relation graph for
        the whole set, and again per batch.

        When the model takes part in relations, the whole set is planned first (one
        pipelined read per level of the relation graph): an ``on_delete="protect"`` rule
        raises ProtectedError before any row is deleted, and rows of the set do not protect
        each other across batches. A referring row created during the delete can still stop
        a later batch; the ProtectedError's ``deleted`` then counts the rows already gone."""
        return int(self._run(self._delete_steps()))

    def _delete_steps(self) -> Steps:
        """``delete`` as steps. Cost: that of ``delete``."""
        from . import deletion
        from .deletion import check_deletable_steps, delete_rows_steps, has_relations
        from .errors import ProtectedError
        from .model import DELETE_BATCH

        keys, verify = yield from self._keys_steps()
        if verify:
            # Fetched rows were read from their row keys: each has its primary key.
            fetched = yield from self._fetch_steps()
            keys = cast("list[bytes]", [row.get_hash_id() for row in fetched])
        model = self.model
        exempt: frozenset[bytes] = frozenset()
        if has_relations(model) and keys:
            # ``check_deletable`` itself on a sync client (looked up when called).
            checked = keys
            yield Nested(
                lambda: deletion.check_deletable(model, checked),
                lambda: check_deletable_steps(model, checked),
            )
            exempt = frozenset(keys)
        deleted = 0
        indexed = list(model._indexed)
        for start in range(0, len(keys), DELETE_BATCH):
            chunk = keys[start : start + DELETE_BATCH]
            reads = [read for key in chunk for read in (call.exists(key), call.hmget(key, indexed))]
            replies = yield Batch(reads, transaction=False)
            states: dict[bytes, dict[str, bytes | None] | None] = {}
            for i, key in enumerate(chunk):
                if replies[2 * i]:
                    states[key] = {
                        n: (None if v is None else bytes(v))
                        for n, v in zip(indexed, replies[2 * i + 1], strict=True)
                    }
                else:
                    states[key] = {}
            try:
                deleted += yield from delete_rows_steps(model, states, exempt=exempt)
            except ProtectedError as exc:
                exc.deleted = deleted
                raise
        self._rows = None
        return deleted
