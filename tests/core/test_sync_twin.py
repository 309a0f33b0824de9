"""containers.sync_twin: the sync twin of a steps method behaves as its driven steps do."""

from __future__ import annotations

import inspect
import traceback
from typing import Any

import pytest
from redis.exceptions import ResponseError

from walrus import Database
from walrus.calls import call
from walrus.containers import Hash, List, Set, ZSet
from walrus.containers.running import Returns, command
from walrus.containers.sync_twin import sync_twin


class Probe:
    """A minimal command host: ``database`` and ``_async``, errors raised as they come."""

    _explain_error = None

    def __init__(self, database: Any) -> None:
        self.database = database
        self._async = False

    @command
    def roundtrip(self, key: str) -> Returns[list[Any]]:
        yield call.set(key, "1")
        first = yield call.get(key)
        try:
            yield call.incrbyfloat(key, "not a number")
        except ResponseError as exc:  # the reply error comes back at the yield
            caught = type(exc).__name__
        doubled = yield from self._double(key)
        exists = [(yield call.exists(key)), (yield call.exists(key, "missing"))]
        return [first, caught, doubled, exists]

    def _double(self, key: str) -> Returns[int]:
        value = int((yield call.get(key)))
        return value * 2

    @command
    def fails(self, key: str) -> Returns[None]:
        yield call.hget(key, "f")  # WRONGTYPE on a string key


def _twin_of(method: Any) -> Any:
    cells = zip(method.__code__.co_freevars, method.__closure__, strict=True)
    return dict((name, cell.cell_contents) for name, cell in cells)["twin"]


def test_twin_and_driven_steps_give_the_same_results(db: Database) -> None:
    probe = Probe(db)
    assert _twin_of(Probe.roundtrip) is not None
    by_twin = probe.roundtrip("k")
    driven = Probe.roundtrip.__wrapped__  # type: ignore[attr-defined]
    from walrus.containers.running import _run

    by_steps = _run(probe, driven(probe, "k2"), ("k2",))
    assert by_twin == by_steps == [b"1", "ResponseError", 2, [1, 1]]
    assert by_twin == by_steps


def test_a_twin_traceback_points_at_the_source_as_written(db: Database) -> None:
    db.set("s", "text")
    with pytest.raises(ResponseError) as raised:
        Probe(db).fails("s")
    frames = traceback.extract_tb(raised.value.__traceback__)
    line = inspect.getsourcelines(Probe.fails.__wrapped__)[1]  # type: ignore[attr-defined]
    mine = [f for f in frames if f.name == "fails"]
    assert mine and mine[0].filename == __file__ and mine[0].lineno == line + 2
    assert "call.hget" in (mine[0].line or "")


def test_the_containers_methods_have_twins() -> None:
    # Methods wrapped by another decorator (the stream error translation) drive their steps.
    commands = [
        (f"{cls.__name__}.{name}", member)
        for cls in (Hash, List, Set, ZSet)
        for name, member in vars(cls).items()
        if inspect.isfunction(member) and member.__code__.co_name == "run"  # @command
    ]
    assert len(commands) > 60
    assert [name for name, member in commands if _twin_of(member) is None] == []


def test_what_cannot_be_compiled_falls_back() -> None:
    def outer() -> Any:
        hidden = 1

        def closure(self: Any) -> Returns[int]:
            yield call.ping()
            return hidden

        return closure

    assert sync_twin(outer()) is None  # a closure's free variables exist only in its cell

    def nested_generator(self: Any) -> Returns[list[int]]:
        def inner() -> Any:
            yield 1  # a nested generator keeps its own yield

        reply = yield call.ping()
        return [reply, *inner()]

    twin = sync_twin(nested_generator)
    assert twin is not None

    class Host:
        _async = False

        def __init__(self) -> None:
            self.database = type("C", (), {"ping": lambda self: True})()

    assert twin(Host()) == [True, 1]
