"""The Flask example (example_projects/flask_app) over HTTP, started as its README says, on the
real test server: pages, rate limits (429 with Retry-After), the cached report, the lock."""

from __future__ import annotations

import threading
from typing import Any

import redis

from tests.e2e.e2e_helpers import Client, Site

E2E_DB = 13


def test_index_renders_and_counts_visits(flask_site: Site) -> None:
    client = Client(flask_site.url)
    first = client.get("")
    assert first.status == 200 and "walrus Flask example" in first.body
    second = client.get("")
    assert "visit" in second.body and first.body != second.body
    assert client.get("").headers["X-RateLimit-Limit"] == "60"  # the app-wide default limit


def test_hello_is_limited_to_five_per_minute(flask_site: Site) -> None:
    client = Client(flask_site.url)
    for expected in range(4, -1, -1):
        answer = client.get("api/hello?name=Ada")
        assert answer.status == 200
        assert answer.json() == {"message": "Hello, Ada!"}
        assert answer.headers["X-RateLimit-Limit"] == "5"
        assert answer.headers["X-RateLimit-Remaining"] == str(expected)
    refused = client.get("api/hello?name=Ada")
    assert refused.status == 429
    body: Any = refused.json()
    assert body["error"] == "rate limit exceeded" and body["retry_after"] >= 1
    assert int(refused.headers["Retry-After"]) >= 1
    # Other views keep their own budget.
    assert client.get("").status == 200


def test_login_scope_refuses_the_fourth_attempt(flask_site: Site) -> None:
    client = Client(flask_site.url)
    assert client.post("login", {"password": "nope"}).status == 401
    assert client.post("login", {"password": "walrus"}).status == 200
    assert client.post("login", {"password": "nope"}).status == 401
    refused = client.post("login", {"password": "walrus"})
    assert refused.status == 429 and "Retry-After" in refused.headers


def test_report_is_cached(flask_site: Site, flushed_db: tuple[str, redis.Redis]) -> None:
    client = Client(flask_site.url)
    first: Any = client.get("report").json()
    second: Any = client.get("report").json()
    assert first == second  # same build, same timestamp: a cache hit
    assert first["builds"] == 1
    raw = flushed_db[1]
    assert raw.get("flask_example:report-builds") == b"1"
    assert list(raw.scan_iter("flask_example:cache:*"))
    assert not list(raw.scan_iter("lock:flask_example:report"))  # released after the build


def test_cleanup_job_runs_one_at_a_time(
    flask_site: Site, flushed_db: tuple[str, redis.Redis]
) -> None:
    results: list[Any] = []

    def run(seconds: float) -> None:
        results.append(Client(flask_site.url).post(f"jobs/cleanup?seconds={seconds}", {}))

    slow = threading.Thread(target=run, args=(1.0,))
    slow.start()
    raw = flushed_db[1]
    for _ in range(100):  # wait until the slow job holds the lock
        if raw.exists("lock:flask_example:cleanup"):
            break
        threading.Event().wait(0.02)
    busy = Client(flask_site.url).post("jobs/cleanup?seconds=0", {})
    slow.join(timeout=10)
    assert busy.status == 409 and busy.json() == {
        "status": "busy",
        "detail": "a cleanup is already running",
    }
    assert [r.status for r in results] == [200]
    assert not raw.exists("lock:flask_example:cleanup")
    assert Client(flask_site.url).post("jobs/cleanup?seconds=0", {}).status == 200
