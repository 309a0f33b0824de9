"""walrus.events and walrus.prometheus: what the core reports, on every backend."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from redis.exceptions import ResponseError

from walrus import Database, events
from walrus.events import Event, subscribe
from walrus.prometheus import install


@pytest.fixture
def seen() -> Any:
    got: list[Event] = []
    unsubscribe = subscribe(got.append)
    yield got
    unsubscribe()


def test_cache_rate_limit_and_lock_events(db: Database, seen: list[Event]) -> None:
    cache = db.cache("pages", signing_key="k")
    cache.get("a")
    cache.set("a", 1)
    cache.get("a")
    cache.get_many(["a", "b"])
    limit = db.rate_limit("login", limit=1, per=60)
    limit.limit("ip")
    limit.limit("ip")
    limit.remaining("ip")  # a peek records nothing and reports nothing
    lock = db.lock("job", ttl=300)
    assert lock.acquire()
    assert not db.lock("job").acquire(block=False)
    waiter = db.lock("job", ttl=1000)
    assert waiter.acquire(timeout=2)  # waits for the first one to expire
    assert not db.lock("job").acquire(timeout=0.05)
    pairs = [(e.kind, e.name, e.outcome) for e in seen if e.kind != "script"]  # scripts: below
    assert pairs == [
        ("cache", "pages", "miss"), ("cache", "pages", "hit"),
        ("cache", "pages", "hit"), ("cache", "pages", "miss"),
        ("rate_limit", "login", "allowed"), ("rate_limit", "login", "refused"),
        ("lock", "job", "acquired"), ("lock", "job", "timeout"),
        ("lock", "job", "waited"), ("lock", "job", "timeout"),
    ]  # fmt: skip
    waited = [e for e in seen if e.outcome == "waited"][0]
    assert 0.1 < waited.duration < 2


def test_a_broken_subscriber_never_breaks_the_operation(db: Database, caplog: Any) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    unsubscribe = subscribe(broken)
    try:
        cache = db.cache("x", signing_key="k")
        cache.set("a", 1)
        assert cache.get("a") == 1
    finally:
        unsubscribe()
    assert "subscriber bug" in caplog.text
    assert broken not in events.listeners
    with pytest.raises(TypeError, match="callable"):
        subscribe("not a function")  # type: ignore[arg-type]


def test_nothing_is_emitted_when_nobody_listens(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "listeners", ())  # whatever other tests of this process left

    def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("emit called with no listener")

    monkeypatch.setattr(events, "emit", must_not_run)
    cache = db.cache("quiet", signing_key="k")
    cache.set("a", 1)
    assert cache.get("a") == 1 and cache.get_many(["a"]) == {"a": 1}
    assert db.rate_limit("q", limit=5, per=60).limit("ip") is False
    with db.lock("q", ttl=1000):
        pass


def test_prometheus_collector_counts_into_its_registry(db: Database) -> None:
    registry = CollectorRegistry()
    metrics = install(registry)
    assert install(registry) is metrics  # idempotent per registry
    try:
        cache = db.cache("prom", signing_key="k")
        cache.get("a")
        cache.set("a", 1)
        for _ in range(3):
            cache.get("a")
        limit = db.rate_limit("api", limit=2, per=60)
        for _ in range(3):
            limit.limit("ip")
        threads = [
            threading.Thread(target=lambda: db.lock("p", ttl=200).acquire(timeout=1))
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(0)
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(generate_latest(registry).decode())
            for s in family.samples
        }
    finally:
        metrics.unsubscribe()
    assert samples[("walrus_cache_requests_total", (("cache", "prom"), ("result", "hit")))] == 3
    assert samples[("walrus_cache_requests_total", (("cache", "prom"), ("result", "miss")))] == 1
    assert (
        samples[("walrus_rate_limit_decisions_total", (("decision", "allowed"), ("limit", "api")))]
        == 2
    )
    assert (
        samples[("walrus_rate_limit_decisions_total", (("decision", "refused"), ("limit", "api")))]
        == 1
    )
    assert samples[("walrus_lock_acquisitions_total", (("result", "acquired"),))] == 1
    assert samples[("walrus_lock_acquisitions_total", (("result", "waited"),))] == 1
    assert samples[("walrus_lock_wait_seconds_count", ())] == 1


def test_unreadable_cache_values_are_reported_as_errors(db: Database, seen: list[Event]) -> None:
    cache = db.cache("signed", signing_key="k")
    db.set(cache.make_key("forged"), b"not signed at all")
    assert cache.get("forged", "miss") == "miss"
    assert [(e.kind, e.outcome) for e in seen if e.kind == "cache"] == [
        ("cache", "error"),
        ("cache", "miss"),
    ]


def test_script_calls_are_reported_with_their_latency(db: Database, seen: list[Event]) -> None:
    db.set("k", "a")
    assert db.cas("k", "a", "b") is True
    db.rate_limit("scripted", limit=5, per=60).limit("ip")
    with pytest.raises(ResponseError):
        db.run_script("cas", keys=["k"], args=[])  # ARGV missing: the script fails
    scripts = [(e.name, e.outcome) for e in seen if e.kind == "script"]
    assert scripts == [("cas", "ok"), ("rate_limit", "ok"), ("cas", "error")]
    assert all(0 < e.duration < 5 for e in seen if e.kind == "script")


def test_prometheus_script_histogram(db: Database) -> None:
    registry = CollectorRegistry()
    metrics = install(registry)
    try:
        db.set("k", "a")
        db.cas("k", "a", "b")
        text = generate_latest(registry).decode()
    finally:
        metrics.unsubscribe()
    assert 'walrus_script_calls_total{result="ok",script="cas"} 1.0' in text
    assert 'walrus_script_duration_seconds_count{script="cas"} 1.0' in text
