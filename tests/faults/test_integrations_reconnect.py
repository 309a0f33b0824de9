"""The Django cache and a Flask app built from URLs keep answering while their connections are
killed (#25 part 1): no error reaches a cache call or a request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from tests.support.redis_server import RedisServer, start_redis_server


@pytest.fixture
def server() -> Iterator[RedisServer]:
    started = start_redis_server()
    try:
        yield started
    finally:
        started.stop()


def _kill_loop(
    server: RedisServer, seconds: float, work: Callable[[], None], threads: int = 3
) -> int:
    """Run ``work`` in a loop on several threads while every client is killed each 10 ms."""
    raw = server.client()
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            work()

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for worker in workers:
        worker.start()
    kills = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        kills += int(raw.client_kill_filter(_type="normal", skipme=True))
        time.sleep(0.01)
    stop.set()
    for worker in workers:
        worker.join()
    return kills


def test_django_cache(settings: Any, server: RedisServer) -> None:
    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": server.url(0),
            # A kill lands every 10 ms, so the default 4 attempts can all be killed (an
            # error by design once the budget is spent); 11 make that vanishingly rare.
            "OPTIONS": {"SERIALIZER": "json", "RETRIES": 10},
        }
    }
    errors: list[BaseException] = []
    calls = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal calls
        cache = caches["default"]
        me = threading.get_ident()  # keys of this thread: the asserts race no other thread
        try:
            cache.set(f"k{me}", {"v": 1}, 60)
            assert cache.get(f"k{me}") == {"v": 1}
            cache.set_many({f"a{me}": 1, f"b{me}": 2})
            assert cache.get_many([f"a{me}", f"b{me}"]) == {f"a{me}": 1, f"b{me}": 2}
            cache.delete(f"a{me}")
            with lock:
                calls += 1
        except redis.RedisError as exc:
            errors.append(exc)

    raw = server.client()
    for _ in range(10):  # between calls
        raw.client_kill_filter(_type="normal", skipme=True)
        work()
    kills = _kill_loop(server, 1.5, work)
    assert errors == [], errors[:3]
    assert kills > 20 and calls > 50, (kills, calls)


def test_flask_app(server: RedisServer) -> None:
    from flask import Flask

    from flask_walrus import Walrus

    app = Flask("faults")
    # "deny": a Redis error would answer 429, so any 429 here is an error that surfaced.
    # Request ids: a rate-limit script whose reply was lost is resent (applied once);
    # without them that reply raises OutcomeUnknownError, which the policy turns into a 429.
    app.config.update(
        TESTING=True,
        WALRUS_URL=server.url(0),
        WALRUS_RATELIMIT_ON_ERROR="deny",
        WALRUS_REQUEST_IDS=True,
        # A kill lands every 10 ms: the default 4 attempts can all be killed (1 request in
        # 736 in one CI run, a 429 by design once the budget is spent); 11 make it vanishingly
        # rare, so a 429 means an error that a resend should have hidden.
        WALRUS_RETRIES=10,
    )
    ext = Walrus()
    ext.init_app(app)

    @app.get("/limited")
    @ext.rate_limited(10**6, 60)
    def limited() -> str:
        return "ok"

    @app.get("/cached")
    @ext.cached(timeout=30)
    def cached() -> str:
        return "page"

    statuses: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        client = app.test_client()
        for path in ("/limited", "/cached"):
            status = client.get(path).status_code
            with lock:
                statuses.append(status)

    raw = server.client()
    for _ in range(10):  # between requests
        raw.client_kill_filter(_type="normal", skipme=True)
        work()
    kills = _kill_loop(server, 1.5, work)
    assert kills > 20 and len(statuses) > 50, (kills, len(statuses))
    assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
