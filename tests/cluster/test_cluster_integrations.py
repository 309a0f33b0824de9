"""flask_walrus and celery_walrus on a real 3-primary Redis Cluster, configured by URL only."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from flask import Flask

import celery_walrus
from celery_walrus import WalrusLockedTask, clear_locks, list_locks, release_lock
from flask_walrus import Walrus
from tests.support.cluster_server import LocalCluster
from walrus.cluster import key_slot
from walrus.database import ClusterDatabase

pytestmark = pytest.mark.cluster


# -- Flask --------------------------------------------------------------------------------------


@pytest.fixture
def flask_app(cluster_db: ClusterDatabase, redis_cluster: LocalCluster) -> tuple[Flask, Walrus]:
    app = Flask("cluster-test")
    app.config.update(TESTING=True, SECRET_KEY="k", WALRUS_URL=redis_cluster.url())
    ext = Walrus()
    ext.init_app(app)
    return app, ext


def test_flask_runs_on_a_cluster_url(flask_app: tuple[Flask, Walrus]) -> None:
    app, ext = flask_app
    with app.app_context():
        assert ext.database.is_cluster
    with pytest.raises(ValueError, match="db 0"):
        _bad_url_app("redis+cluster://h:7000/2")
    with pytest.raises(ValueError, match="service name"):
        _bad_url_app("redis+sentinel://:pw@s1:26379")


def _bad_url_app(url: str) -> None:
    app = Flask(f"bad-{uuid.uuid4().hex[:6]}")
    app.config.update(WALRUS_URL=url)
    Walrus().init_app(app)


def test_flask_rate_limits_and_cli_on_a_cluster(
    flask_app: tuple[Flask, Walrus], cluster_db: ClusterDatabase
) -> None:
    app, w = flask_app

    @app.get("/a")
    @w.rate_limited(["3/minute", "10/hour"])
    def a() -> str:
        return "a"

    @app.get("/b")
    @w.rate_limited("2/minute", scope="shared")
    def b() -> str:
        return "b"

    client = app.test_client()
    assert [client.get("/a").status_code for _ in range(4)] == [200, 200, 200, 429]
    client.get("/b")
    client.get("/a", environ_base={"REMOTE_ADDR": "10.1.1.1"})
    keys = sorted(k.decode() for k in cluster_db.scan_iter(match="flask_walrus:rl:*"))
    assert (
        "flask_walrus:rl:a:3/1m:{127.0.0.1}" in keys and "flask_walrus:rl:a:3/1m:{10.1.1.1}" in keys
    )
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["walrus", "ratelimit", "show", "127.0.0.1"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert any(line.startswith("a  3/60s  remaining 0/3") for line in lines)
    assert any(line.startswith("a  10/3600s  remaining 7/10") for line in lines)
    assert any(line.startswith("shared  2/60s  remaining 1/2") for line in lines)
    assert len(lines) == 3
    scoped = runner.invoke(args=["walrus", "ratelimit", "show", "127.0.0.1", "--scope", "shared"])
    assert scoped.output.count("\n") == 1 and "shared" in scoped.output
    cleared = runner.invoke(args=["walrus", "ratelimit", "clear", "127.0.0.1"])
    assert cleared.exit_code == 0 and "Cleared 3 rate-limit key(s)" in cleared.output, (
        cleared.output
    )
    assert client.get("/a").status_code == 200
    assert cluster_db.exists("flask_walrus:rl:a:3/1m:{10.1.1.1}") == 1
    empty = runner.invoke(args=["walrus", "ratelimit", "show", ""])
    assert empty.exit_code != 0 and "empty key" in empty.output


def test_flask_rate_limit_concurrency_lets_exactly_limit_through(
    flask_app: tuple[Flask, Walrus],
) -> None:
    app, w = flask_app
    limit = 20

    @app.get("/hot")
    @w.rate_limited(f"{limit}/minute")
    def hot() -> str:
        return "ok"

    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def hammer() -> None:
        client = app.test_client()
        barrier.wait()
        for _ in range(8):
            status = client.get("/hot").status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(statuses) == 48
    assert statuses.count(200) == limit and statuses.count(429) == 48 - limit


def test_flask_cached_views_and_flush_on_a_cluster(
    flask_app: tuple[Flask, Walrus], cluster_db: ClusterDatabase
) -> None:
    app, w = flask_app
    calls: list[int] = []

    @app.get("/page/<int:n>")
    @w.cached(timeout=30)
    def page(n: int) -> str:
        calls.append(n)
        return f"page {n}"

    client = app.test_client()
    for n in range(12):
        assert client.get(f"/page/{n}").data == f"page {n}".encode()
        assert client.get(f"/page/{n}").data == f"page {n}".encode()
    assert calls == list(range(12))
    cached = [k for k in cluster_db.scan_iter(match="flask_walrus:cache:*")]
    assert len({cluster_db.get_node_from_key(k).name for k in cached}) > 1  # spread over the shards
    cluster_db.set("unrelated", "keep")
    done = app.test_cli_runner().invoke(args=["walrus", "flush", "--yes"])
    assert done.exit_code == 0 and "Deleted 12 key(s)" in done.output, done.output
    assert list(cluster_db.scan_iter()) == [b"unrelated"]
    info = app.test_cli_runner().invoke(args=["walrus", "info"])
    assert (
        info.exit_code == 0 and "cluster (3 primaries)" in info.output and "keys: 1" in info.output
    )


# -- Celery -------------------------------------------------------------------------------------


@pytest.fixture
def celery_app(cluster_db: ClusterDatabase, redis_cluster: LocalCluster) -> Iterator[Celery]:
    app = Celery(f"cluster-{uuid.uuid4().hex[:8]}", set_as_current=False)
    app.conf.update(
        broker_url="memory://",
        result_backend="cache+memory://",
        task_always_eager=True,
        task_eager_propagates=True,
        walrus_url=redis_cluster.url(),
    )
    yield app
    celery_walrus.reset(app)


def test_celery_locked_tasks_on_a_cluster(celery_app: Celery, cluster_db: ClusterDatabase) -> None:
    seen: dict[str, Any] = {}

    @celery_app.task(base=WalrusLockedTask, bind=True, name="proj.work")
    def work(self: Any, x: int) -> int:
        lock = self.lock_for(x)
        seen["owner"] = cluster_db.get(lock.key)
        seen["id"] = self.request.id
        seen["slots"] = {key_slot(lock.key), key_slot(lock.event)}
        return x * 2

    assert celery_walrus.get_database(celery_app).is_cluster
    assert work.delay(21).get() == 42
    assert seen["owner"] == seen["id"].encode() and len(seen["slots"]) == 1
    assert not work.lock_for(21).locked()
    held = cluster_db.lock(work.lock_name_for(5), ttl=30_000, lock_id="other-task")
    assert held.acquire(block=False)
    assert work.delay(5).get() is None  # duplicate: on_duplicate="return" skips it
    assert work.delay(6).get() == 12
    held.release()


def test_celery_list_release_and_clear_locks_on_a_cluster(
    celery_app: Celery, cluster_db: ClusterDatabase
) -> None:
    @celery_app.task(base=WalrusLockedTask, name="proj.a")
    def a(x: int) -> None:
        return None

    locks = [cluster_db.lock(a.lock_name_for(i), ttl=20_000, lock_id=f"id-{i}") for i in range(12)]
    for lock in locks:
        assert lock.acquire(block=False)
    assert len({cluster_db.get_node_from_key(lock.key).name for lock in locks}) > 1
    cluster_db.set("lock:elsewhere", "x")
    infos = list_locks(celery_app)
    assert sorted(i.name for i in infos) == sorted(lock.name for lock in locks)
    assert {i.owner for i in infos} == {f"id-{i}" for i in range(12)}
    assert all(i.task == "proj.a" and 19 < (i.ttl or 0) <= 20 for i in infos)
    assert release_lock(locks[0].name, celery_app, token="id-0") is True
    assert clear_locks(celery_app, task="proj.a") == 11
    assert list_locks(celery_app) == [] and cluster_db.get("lock:elsewhere") == b"x"
