"""walrus.Counter: atomic integer counter in ``counter:<name>``."""

from __future__ import annotations

import threading

import pytest

from walrus import Database
from walrus.counter import Counter
from walrus.roundtrips import RoundTripCounter


def test_incr_decr_value(db: Database) -> None:
    c = db.counter("hits")
    assert isinstance(c, Counter)
    assert c.value() == 0
    assert c.incr() == 1
    assert c.incr(5) == 6
    assert c.decr() == 5
    assert c.decr(7) == -2
    assert c.value() == -2
    assert int(c) == -2
    assert db.get("counter:hits") == b"-2"


def test_in_place_operators_keep_the_counter(db: Database) -> None:
    c = db.counter("c")
    c += 10
    assert isinstance(c, Counter)
    c -= 3
    assert isinstance(c, Counter)
    assert c.value() == 7
    other = db.counter("other")
    other.incr(2)
    c += other
    assert c.value() == 9


def test_plus_and_minus_are_upstream_aliases_of_the_in_place_operators(db: Database) -> None:
    # Upstream walrus: ``__add__ = __iadd__``: ``c + n`` increments and returns the counter.
    c = db.counter("c")
    same = c + 5
    assert same is c and c.value() == 5
    assert (c - 2) is c and c.value() == 3
    other = db.counter("other")
    other.incr(10)
    assert (c + other) is c and c.value() == 13
    with RoundTripCounter() as rt:
        c + 1  # noqa: B018 - the addition is the side effect
    assert rt.count == 1
    with pytest.raises(TypeError, match="incr_by must be an int"):
        c + 1.5  # type: ignore[operator]
    with pytest.raises(TypeError, match="decr_by must be an int"):
        c - "1"  # type: ignore[operator]
    assert c.value() == 14


def test_creation_writes_nothing_and_never_resets(db: Database) -> None:
    db.set("counter:shared", 41)
    with RoundTripCounter() as rt:
        c = db.counter("shared")
    assert rt.count == 0
    assert c.value() == 41  # upstream's create-then-set-0 race could have reset this
    assert c.incr() == 42
    fresh = db.counter("fresh")
    assert db.exists("counter:fresh") == 0
    assert fresh.value() == 0


def test_each_call_is_one_round_trip(db: Database) -> None:
    c = db.counter("c")
    for call in (c.incr, c.decr, c.value, c.reset, c.clear):
        with RoundTripCounter() as rt:
            call()
        assert rt.count == 1, call


def test_reset_and_clear(db: Database) -> None:
    c = db.counter("c")
    c.incr(3)
    c.reset(100)
    assert c.value() == 100
    c.reset()
    assert c.value() == 0
    c.incr()
    c.clear()
    assert db.exists("counter:c") == 0 and c.value() == 0


def test_bytes_name(db: Database) -> None:
    c = db.counter(b"raw")
    c.incr(2)
    assert db.get(b"counter:raw") == b"2"


def test_bad_input_is_rejected_before_writing(db: Database) -> None:
    with pytest.raises(TypeError, match="counter name"):
        db.counter(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        db.counter("")
    c = db.counter("c")
    c.incr(4)
    with pytest.raises(TypeError, match="incr_by"):
        c.incr(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="incr_by"):
        c.incr(True)
    with pytest.raises(TypeError, match="decr_by"):
        c.decr("2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="value"):
        c.reset("x")  # type: ignore[arg-type]
    assert c.value() == 4


def test_increments_from_8_threads_sum_exactly(db: Database) -> None:
    per_thread = 200
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            counter = db.counter("race")  # each thread creates its own instance
            barrier.wait()
            for _ in range(per_thread):
                counter.incr()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert db.counter("race").value() == 8 * per_thread
