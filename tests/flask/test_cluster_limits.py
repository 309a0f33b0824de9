"""flask_walrus rate limits on a real 3-primary Redis Cluster when the limits of one request
name the client differently (different key functions -> different hash slots)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask, request

from flask_walrus import Walrus
from walrus.cluster import key_slot
from walrus.database import ClusterDatabase

pytestmark = pytest.mark.cluster


IP_KEY = "flask_walrus:rl:{view}:{rate}:{{127.0.0.1}}"
USER_KEY = "flask_walrus:rl:{view}:{rate}:{{{user}}}"


def _user() -> str:
    return request.headers.get("X-User", "")


@pytest.fixture
def app(cluster_db: ClusterDatabase, redis_cluster: Any) -> tuple[Flask, Walrus]:
    app = Flask("cluster-limits")
    app.config.update(TESTING=True, WALRUS_URL=redis_cluster.url())
    w = Walrus()
    w.init_app(app)

    # Stacked decorators apply bottom up: /user_first decides the per-user limit first.
    @app.get("/ip_first")
    @w.rate_limited("2/minute", key_func=_user)
    @w.rate_limited("5/minute")
    def ip_first() -> str:
        return "ok"

    @app.get("/user_first")
    @w.rate_limited("5/minute")
    @w.rate_limited("2/minute", key_func=_user)
    def user_first() -> str:
        return "ok"

    return app, w


@pytest.mark.parametrize("view", ["ip_first", "user_first"])
def test_limits_in_different_slots_are_enforced_never_500(
    app: tuple[Flask, Walrus], cluster_db: ClusterDatabase, view: str
) -> None:
    flask_app, _ = app
    client = flask_app.test_client()
    ip_key = IP_KEY.format(view=view, rate="5/1m")
    user_key = USER_KEY.format(view=view, rate="2/1m", user="bob")
    assert key_slot(ip_key) != key_slot(user_key)  # the case plain check_rates refuses
    bob = {"X-User": "bob"}
    answers = [client.get(f"/{view}", headers=bob) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[1].headers["X-RateLimit-Limit"] == "2"  # the tightest limit is reported
    assert answers[1].headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(answers[2].headers["Retry-After"]) <= 60
    # the refused request spent nothing of the per-address budget, whichever slot group
    # was decided first (a group that recorded takes its events back)
    assert cluster_db.llen(user_key) == 2
    assert cluster_db.llen(ip_key) == 2
    # the per-address limit still holds across users
    statuses = [
        client.get(f"/{view}", headers={"X-User": name}).status_code for name in ("al", "cy", "di")
    ]
    assert statuses == [200, 200, 200]
    assert client.get(f"/{view}", headers={"X-User": "ed"}).status_code == 429
    assert cluster_db.llen(ip_key) == 5


def test_empty_client_key_on_a_cluster_is_limited_not_500(
    app: tuple[Flask, Walrus], cluster_db: ClusterDatabase
) -> None:
    flask_app, _ = app
    client = flask_app.test_client()
    # _user() returns "" without the header: a key that cannot be hash-tagged is stored as is
    assert [client.get("/user_first").status_code for _ in range(3)] == [200, 200, 429]
    assert cluster_db.llen("flask_walrus:rl:user_first:2/1m:") == 2


def test_concurrent_requests_across_slot_groups_stay_exact(
    app: tuple[Flask, Walrus], cluster_db: ClusterDatabase
) -> None:
    flask_app, w = app

    @flask_app.get("/hot")  # the per-address group first: it records, then takes back
    @w.rate_limited("7/minute", key_func=_user)
    @w.rate_limited("100/minute")
    def hot() -> str:
        return "ok"

    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def worker() -> None:
        client = flask_app.test_client()
        barrier.wait()
        for _ in range(6):
            status = client.get("/hot", headers={"X-User": "bob"}).status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 7 and statuses.count(429) == 29
    # each refusal took back what the per-address group had recorded for it
    assert cluster_db.llen(IP_KEY.format(view="hot", rate="100/1m")) == 7
    assert cluster_db.llen(USER_KEY.format(view="hot", rate="7/1m", user="bob")) == 7
