"""Stampede protection (walrus.stampede through Cache.get_or_set and @cached(lock_timeout=)):
concurrent callers missing one key compute it once, on every backend."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from walrus import Database
from walrus.roundtrips import RoundTripCounter


def _crowd(n: int, call: Any) -> tuple[list[Any], list[float]]:
    """Run ``call()`` in ``n`` threads released together; their results and durations."""
    results: list[Any] = [None] * n
    waited: list[float] = [0.0] * n
    start = threading.Barrier(n)

    def one(i: int) -> None:
        start.wait()
        began = time.monotonic()
        results[i] = call()
        waited[i] = time.monotonic() - began

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads)
    return results, waited


def test_sixteen_threads_missing_one_key_compute_it_once(db: Database) -> None:
    cache = db.cache("pages", signing_key="k")
    calls: list[int] = []

    def slow_report() -> dict[str, int]:
        calls.append(1)
        time.sleep(0.3)
        return {"total": 42}

    results, waited = _crowd(
        16, lambda: cache.get_or_set("report", slow_report, timeout=60, lock_timeout=2)
    )
    assert calls == [1]
    assert results == [{"total": 42}] * 16
    assert max(waited) < 2  # nobody waited longer than the lock's timeout
    assert cache.get("report") == {"total": 42}
    assert db.keys() == [cache.make_key("report").encode()]  # no lock, no wake-up list left
    assert not db.exists("lock:pages:report:fill") and not db.exists("lock:{pages:report:fill}")
    with RoundTripCounter() as rt:
        assert cache.get_or_set("report", slow_report, lock_timeout=2) == {"total": 42}
    assert rt.count == 1 and calls == [1]  # a hit is one round trip


def test_cached_function_with_lock_timeout_runs_once(db: Database) -> None:
    cache = db.cache("fn", signing_key="k")
    calls: list[int] = []

    @cache.cached(timeout=60, lock_timeout=2, metrics=True)
    def price(item: str) -> float:
        calls.append(1)
        time.sleep(0.2)
        return 9.5

    results, _ = _crowd(16, lambda: price("tea"))
    assert results == [9.5] * 16 and calls == [1]
    assert price.metrics["misses"] == 1 and price.metrics["hits"] == 15


def test_a_dead_filler_only_delays_waiters_until_its_lock_expires(db: Database) -> None:
    cache = db.cache("dead", signing_key="k")
    # A filler that took the lock and died: its lock lapses after 0.4 s.
    assert db.lock("dead:k:fill", ttl=400).acquire(block=False)
    began = time.monotonic()
    assert cache.get_or_set("k", lambda: "fresh", lock_timeout=5) == "fresh"
    assert 0.3 < time.monotonic() - began < 2


def test_a_failing_computation_releases_the_lock(db: Database) -> None:
    cache = db.cache("fail", signing_key="k")

    def boom() -> None:
        raise RuntimeError("backend down")

    with pytest.raises(RuntimeError):
        cache.get_or_set("k", boom, lock_timeout=5)
    assert cache.get_or_set("k", lambda: "ok", lock_timeout=5) == "ok"  # no wait for a stale lock


def test_early_recompute_serves_the_old_value_meanwhile(db: Database) -> None:
    cache = db.cache("early", signing_key="k")
    cache.set("k", "old", timeout=1)
    time.sleep(0.5)  # now within the last 0.8 s of its life
    calls: list[int] = []

    def refresh() -> str:
        calls.append(1)
        time.sleep(0.3)
        return "new"

    results, waited = _crowd(
        8, lambda: cache.get_or_set("k", refresh, timeout=60, lock_timeout=5, early=0.8)
    )
    assert calls == [1]
    assert sorted(results) == ["new"] + ["old"] * 7
    assert sorted(waited)[-2] < 0.2  # only the refreshing caller waited for the computation
    assert cache.get("k") == "new" and db.pttl(cache.make_key("k")) > 50_000


def test_stampede_options_are_checked(db: Database) -> None:
    cache = db.cache("opts", signing_key="k")
    for bad, exc in (
        (0, ValueError),
        (-1, ValueError),
        (float("inf"), ValueError),
        ("5", TypeError),
        (True, TypeError),
    ):
        with pytest.raises(exc, match="lock_timeout"):
            cache.get_or_set("k", 1, lock_timeout=bad)
        with pytest.raises(exc, match="early"):
            cache.get_or_set("k", 1, early=bad)
    with pytest.raises(ValueError, match="lock_timeout"):
        cache.cached(lock_timeout=0)
    assert not db.exists(cache.make_key("k"))
