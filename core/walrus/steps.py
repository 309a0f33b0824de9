"""Drivers of sans-IO calls: one implementation of a call's logic, two ways of sending.

A call written as *steps* is a generator: it yields what to send (a step), receives the reply
(``send``), or the reply's error (``throw``) when that error is one the call handles, and
returns its result. ``drive`` sends each step on a sync client, ``adrive`` awaits each on an
asyncio client; the cache, the rate limiter and Django's cache backend are written once this
way and run on both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any

__all__ = ["Steps", "adrive", "drive"]

Steps = Generator[Any, Any, Any]
"""A call written as steps: yields steps, receives replies, returns the result."""


def drive(
    steps: Steps,
    send: Callable[[Any], Any],
    handled: tuple[type[BaseException], ...] = (),
) -> Any:
    """Run ``steps`` with ``send(step)`` as the I/O; an error of a type in ``handled`` goes
    back into the steps, any other propagates. Cost: one round trip per step sent."""
    try:
        step = next(steps)
        while True:
            try:
                reply = send(step)
            except handled as exc:
                step = steps.throw(exc)
            else:
                step = steps.send(reply)
    except StopIteration as done:
        return done.value


async def adrive(
    steps: Steps,
    send: Callable[[Any], Awaitable[Any]],
    handled: tuple[type[BaseException], ...] = (),
) -> Any:
    """``drive`` on asyncio: each step is awaited. Cost: one round trip per step sent."""
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = steps.throw(error) if error is not None else steps.send(reply)
        except StopIteration as done:
            return done.value
        reply, error = None, None
        try:
            reply = await send(step)
        except handled as exc:
            error = exc
