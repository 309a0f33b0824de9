"""Client calls as data: the steps a container yields, sent by a sync or an asyncio client.

A container method is written once as steps (``walrus.steps``): it yields ``call.hget(key,
field)`` (a ``Call``: a redis-py client method and its arguments) or a ``Batch`` of calls
(one pipeline), and receives the reply. ``send`` makes the call on a sync client,
``asend`` awaits it on a ``redis.asyncio`` one: redis-py builds the command and parses the
reply in both cases, so the two clients answer alike.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar, cast

T = TypeVar("T")
U = TypeVar("U")

__all__ = ["Batch", "Call", "asend", "call", "is_async_client", "ready", "send", "then"]


_ASYNC_CLIENTS: dict[type, bool] = {}


def is_async_client(client: Any) -> bool:
    """True for a ``redis.asyncio`` client (its commands are coroutines). No Redis work."""
    kind = type(client)
    found = _ASYNC_CLIENTS.get(kind)
    if found is None:
        found = _ASYNC_CLIENTS[kind] = inspect.iscoroutinefunction(
            getattr(kind, "execute_command", None)
        )
    return found


Call = tuple[str, tuple[Any, ...], dict[str, Any]]
"""One client method call: ``(name, args, kwargs)``, ``name`` a redis-py client method. A
plain tuple, the cheapest object to build per call and told apart from a ``Batch`` by its
type (``type(step) is tuple``). 1 round trip when sent."""


class Batch(NamedTuple):
    """Calls sent as one pipeline (MULTI/EXEC when ``transaction``); the reply is the list
    of their replies (errors in place when not ``raise_on_error``). 1 round trip."""

    calls: list[Call]
    transaction: bool = True
    raise_on_error: bool = True


class _CallMaker:
    """``call.hget(key, field)`` is the step ``("hget", (key, field), {})``. No Redis work."""

    def __getattr__(self, name: str) -> Callable[..., Call]:
        def make(*args: Any, **kwargs: Any) -> Call:
            return (name, args, kwargs)

        make.__name__ = name
        # Kept on the instance: the next ``call.<name>`` is a plain attribute lookup.
        setattr(self, name, make)
        return make


call = _CallMaker()
"""Builds ``Call`` steps by method name: ``call.hget(key, field)``. No Redis work."""


def send(client: Any, step: Call | Batch) -> Any:
    """Send one step on a sync client and return its reply. Cost: 1 round trip."""
    if type(step) is tuple:
        name, args, kwargs = cast(Call, step)
        return getattr(client, name)(*args, **kwargs)
    return _pipeline(client, step).execute(raise_on_error=step.raise_on_error)  # type: ignore[union-attr]


async def asend(client: Any, step: Call | Batch) -> Any:
    """``send`` on a ``redis.asyncio`` client. Cost: 1 round trip."""
    if type(step) is tuple:
        name, args, kwargs = cast(Call, step)
        return await getattr(client, name)(*args, **kwargs)
    return await _pipeline(client, step).execute(raise_on_error=step.raise_on_error)  # type: ignore[union-attr]


def _pipeline(client: Any, batch: Any) -> Any:
    # The same queueing for both clients: their pipelines take the client's method names.
    pipe = client.pipeline(transaction=batch.transaction)
    for name, args, kwargs in batch.calls:
        getattr(pipe, name)(*args, **kwargs)
    return pipe


def then(result: Any, after: Callable[[Any], U], is_async: bool) -> U:
    """``after(result)``; on an asyncio client ``result`` is an awaitable and so is the
    return value (typed as the sync one). No Redis work of its own."""
    if is_async:
        return _then(result, after)  # type: ignore[return-value]
    return after(result)


async def _then(result: Awaitable[Any], after: Callable[[Any], U]) -> U:
    return after(await result)


def ready(value: T, is_async: bool) -> T:
    """``value``, or on an asyncio client an awaitable of it: for a call answered without
    Redis (a debug limiter, an empty argument list). No Redis work."""
    if is_async:
        return _ready(value)  # type: ignore[return-value]
    return value


async def _ready(value: T) -> T:
    return value
