"""How a container method reaches Redis: written once as steps, run on either client.

``command`` is the decorator of every container method that talks to Redis. The method is a
generator of steps (``walrus.calls``); called on a container of a sync client it runs them
and returns the result, on a container of a ``redis.asyncio`` client (``AsyncDatabase``) it
returns an awaitable of the same result. Errors are translated as ``guard`` does, for both.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar, cast

from redis.exceptions import ResponseError

from ..calls import asend, send
from ..steps import Steps, adrive, drive
from .errors import explain_error
from .sync_twin import sync_twin

if TYPE_CHECKING:  # pragma: no cover
    from .base import Container

__all__ = ["Returns", "command", "limited", "pages", "snapshot", "sync_only"]

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C")  # a Container, or a mixin of one (Sortable)

Returns = Generator[Any, Any, R]
"""A command method's steps, returning ``R`` (what the sync call returns)."""

_ERRORS = (ResponseError, UnicodeEncodeError)


def command(method: Callable[Concatenate[C, P], Returns[R]]) -> Callable[Concatenate[C, P], R]:
    """Decorator: run the method's steps on the object's client (``self.database``; a
    container, or a helper such as Counter); on an asyncio client (``self._async``) the
    call returns an awaitable (typed as the sync result). An error goes through
    ``self._explain_error(exc, args)`` (steps that raise the clearer error; None: raised
    as is). No Redis work of its own: the method costs the round trips its steps send."""

    twin = sync_twin(method)

    def run(self: C, /, *args: P.args, **kwargs: P.kwargs) -> R:
        container: Any = self
        # No cast() call: this is every container call's path, and a function call costs.
        # On an asyncio client the result is an awaitable, typed as the sync result.
        result: R
        if container._async:
            result = _arun(container, method(self, *args, **kwargs), args)  # type: ignore[assignment]
        elif twin is None:
            result = _run(container, method(self, *args, **kwargs), args)
        else:
            try:
                result = twin(self, *args, **kwargs)
            except _ERRORS as exc:
                _explain_sync(container, exc, args)
                raise  # not reached when explaining raises
        return result

    functools.update_wrapper(run, method)
    return run


def _explainer(target: Any) -> Callable[[Any, tuple[Any, ...]], Steps] | None:
    # A container-like object without its own _explain_error (a bit field operation, a
    # consumer group) gets the containers' translation; a helper opts out with None.
    explain = getattr(target, "_explain_error", _CONTAINERS)
    if explain is _CONTAINERS:
        return lambda exc, args: explain_error(target, exc, args)
    return cast("Callable[[Any, tuple[Any, ...]], Steps] | None", explain)


_CONTAINERS = object()


def _run(container: Any, steps: Steps, args: tuple[Any, ...]) -> Any:
    # The steps driven on a sync client: for methods ``sync_twin`` could not compile.
    client = container.database
    try:
        return drive(steps, lambda step: send(client, step), (ResponseError,))
    except _ERRORS as exc:
        _explain_sync(container, exc, args)
        raise  # not reached when explaining raises


def _explain_sync(container: Any, exc: BaseException, args: tuple[Any, ...]) -> None:
    # Raise the clearer error for ``exc``, if the container explains errors (sync client).
    explain = _explainer(container)
    if explain is not None:
        drive(explain(exc, args), lambda step: send(container.database, step))


async def _arun(container: Container, steps: Steps, args: tuple[Any, ...]) -> Any:
    client = container.database
    try:
        return await adrive(steps, lambda step: asend(client, step), (ResponseError,))
    except _ERRORS as exc:
        explain = _explainer(container)
        if explain is None:
            raise
        await adrive(explain(exc, args), lambda step: asend(client, step))
        raise  # not reached: explaining raises


def pages(container: Any, fetch: Callable[[Any], Any]) -> Iterator[Any] | AsyncIterator[Any]:
    """The items of a cursor read (SCAN family): ``fetch(cursor)`` is a command returning
    ``(next_cursor, items)``. A generator on a sync client, an async generator on an
    asyncio one. 1 round trip per page, sent as the items are consumed."""
    return _apages(fetch) if container._async else _pages(fetch)


def _pages(fetch: Callable[[Any], Any]) -> Iterator[Any]:
    cursor, items = fetch(0)
    yield from items
    while cursor:
        cursor, items = fetch(cursor)
        yield from items


async def _apages(fetch: Callable[[Any], Any]) -> AsyncIterator[Any]:
    cursor = 0
    while True:
        cursor, items = await fetch(cursor)
        for item in items:
            yield item
        if not cursor:
            return


def limited(
    items: Iterator[Any] | AsyncIterator[Any], count: int
) -> Iterator[Any] | AsyncIterator[Any]:
    """The first ``count`` of ``items`` (sync or async), stopping the pages after them. No
    Redis work of its own."""
    if isinstance(items, Iterator):
        return islice(items, count)
    return _alimited(items, count)


async def _alimited(items: AsyncIterator[Any], count: int) -> AsyncIterator[Any]:
    if count <= 0:
        return
    async for item in items:
        yield item
        count -= 1
        if not count:
            return


def snapshot(container: Any, fetch: Callable[[], Any]) -> Iterator[Any] | AsyncIterator[Any]:
    """Iterate what the command ``fetch()`` returns (read once, when iteration starts):
    an iterator on a sync client, an async generator on an asyncio one. Cost: that of
    ``fetch`` (1 round trip for a single command)."""
    if container._async:
        return _asnapshot(fetch)
    items: list[Any] = fetch()
    return iter(items)


async def _asnapshot(fetch: Callable[[], Any]) -> AsyncIterator[Any]:
    for item in await fetch():
        yield item


def sync_only(target: Any, operation: str, instead: str) -> None:
    """TypeError for ``operation`` (an operator Python cannot await) on an object of an
    asyncio client, naming the awaitable ``instead``. No Redis work."""
    if target._async:
        raise TypeError(
            f"{target!r} is on an asyncio client: {operation} cannot be awaited, use {instead}"
        )
