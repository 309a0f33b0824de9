"""celery_walrus with a real prefork worker whose locks live on the local 3-primary cluster.

The broker, the result backend and the tasks' ``probe:*`` keys stay on the single test
redis-server; only ``walrus_url`` is the cluster's ``redis+cluster://`` URL: in the worker
through ``CELERY_WALRUS_TEST_LOCK_URL`` (read by ``tests/celery/celery_test_app.py``), in this
process by setting it on the imported app. So every lock operation (enqueue here; take,
renew and release in the pool processes; the releases the worker's main process does on a
revoke) goes to the cluster, and the tests look for the lock keys there.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import celery_walrus
from celery_walrus import TaskLocked, list_locks
from celery_walrus.config import LEASE_FACTOR
from tests.support.cluster_server import LocalCluster
from tests.support.redis_server import RedisServer
from walrus.cluster import key_slot
from walrus.database import ClusterDatabase

pytestmark = pytest.mark.cluster

CELERY_TESTS = Path(__file__).resolve().parents[1] / "celery"
TEST_DB = int(os.environ.get("WALRUS_TEST_DB", "9"))
APP_MODULE = "celery_test_app"


def _load_worker_class() -> type:
    """The ``Worker`` harness of ``tests/celery/conftest.py`` (loaded by path: conftest
    modules are not importable by name under ``--import-mode=importlib``)."""
    spec = importlib.util.spec_from_file_location(
        "celery_worker_harness", CELERY_TESTS / "conftest.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Worker


_Worker: Any = _load_worker_class()


class ClusterLockWorker(_Worker):  # type: ignore[misc, valid-type]
    """The celery tests' worker, with its locks on ``lock_url``."""

    def __init__(self, url: str, lock_url: str) -> None:
        super().__init__(url)
        self.lock_url = lock_url

    def env(self) -> dict[str, str]:
        env = super().env()
        env["CELERY_WALRUS_TEST_LOCK_URL"] = self.lock_url
        return env


def token() -> str:
    return uuid.uuid4().hex[:10]


def wait_for(check: Callable[[], Any], timeout: float, step: float = 0.05) -> float:
    """Poll ``check`` until truthy; returns the seconds it took (fails after ``timeout``)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(step)
    return time.monotonic() - start


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broker_url(redis_server: RedisServer) -> Iterator[str]:
    """Broker / result backend / probe keys: the test DB of the single server (flushed
    before and after the module)."""
    client = redis_server.client(TEST_DB)
    client.flushdb()
    yield redis_server.url(TEST_DB)
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def test_app(broker_url: str, redis_cluster: LocalCluster) -> Iterator[Any]:
    """The ``celery_test_app`` module on the test server, its ``walrus_url`` pointed at the
    cluster for this module's tests and put back afterwards. Imported as ``tests/celery``
    imports it, so once per session: a second import would register every task twice
    (``app.task`` also adds it to each app finalized later), with warnings."""
    if str(CELERY_TESTS) not in sys.path:
        sys.path.insert(0, str(CELERY_TESTS))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CELERY_WALRUS_TEST_URL", broker_url)
        patch.delenv("CELERY_WALRUS_TEST_LOCK_URL", raising=False)
        module = importlib.import_module(APP_MODULE)
        if module.URL != broker_url:
            module = importlib.reload(module)
    saved = module.app.conf.get("walrus_url")
    module.app.conf.update(walrus_url=redis_cluster.url())
    celery_walrus.reset(module.app)  # settings are read on first use: read them again
    try:
        assert celery_walrus.get_database(module.app).is_cluster
        yield module
    finally:
        module.app.conf.update(walrus_url=saved)
        celery_walrus.reset(module.app)


@pytest.fixture(scope="module")
def worker(broker_url: str, redis_cluster: LocalCluster, test_app: Any) -> Iterator[Any]:
    """A running prefork worker (2 processes); stopped by its pid at teardown."""
    handle = ClusterLockWorker(broker_url, redis_cluster.url())
    handle.start(test_app.app)
    try:
        yield handle
    finally:
        handle.stop()
        handle.log.close()
        os.unlink(handle.log.name)


@pytest.fixture
def probe(broker_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(broker_url)
    yield client
    client.close()


def where(key: str, redis_cluster: LocalCluster, probe: redis.Redis) -> list[int]:
    """Ports of the cluster primaries that store ``key`` (each node asked for its own keys
    in the key's slot, so no redirection); fails if the single server has it."""
    assert probe.exists(key) == 0, f"{key} is on the broker's server"
    slot = key_slot(key)
    ports = []
    for node, client in zip(redis_cluster.nodes, redis_cluster.clients(), strict=True):
        try:
            stored = client.execute_command("CLUSTER GETKEYSINSLOT", slot, 1000)
        finally:
            client.close()
        if key in [k.decode() if isinstance(k, bytes) else k for k in stored]:
            ports.append(node.port)
    return ports


# -- tests ----------------------------------------------------------------------------------


def test_execute_lock_on_the_cluster_lets_one_delivery_run(
    worker: Any,
    test_app: Any,
    probe: redis.Redis,
    cluster_db: ClusterDatabase,
    redis_cluster: LocalCluster,
) -> None:
    t = token()
    lock = test_app.exclusive.lock_for(t)
    first = test_app.exclusive.apply_async((t, 1.5))
    second = test_app.exclusive.apply_async((t, 1.5))  # execute lock: both are delivered
    wait_for(lambda: probe.exists(f"probe:running:{t}"), 10)
    holder = cluster_db.get(lock.key)
    assert holder in (first.id.encode(), second.id.encode())
    assert len(where(lock.key, redis_cluster, probe)) == 1  # on one primary, not the broker
    assert 0 < cluster_db.pttl(lock.key) <= test_app.RENEW_INTERVAL * LEASE_FACTOR * 1000
    outcomes = [first.get(timeout=15, propagate=False), second.get(timeout=15, propagate=False)]
    assert t in outcomes
    refused = [o for o in outcomes if o != t]
    assert len(refused) == 1 and isinstance(refused[0], TaskLocked), (outcomes, worker.output())
    assert holder.decode() in str(refused[0])  # refused because the running one held it
    assert int(probe.get(f"probe:runs:{t}")) == 1
    assert probe.get(f"probe:overlap:{t}") is None
    assert cluster_db.exists(lock.key) == 0  # released on the cluster by the pool process
    again = test_app.exclusive.apply_async((t, 0.0))
    assert again.get(timeout=15) == t
    assert int(probe.get(f"probe:runs:{t}")) == 2 and probe.get(f"probe:overlap:{t}") is None
    assert cluster_db.exists(lock.key) == 0


def test_different_keys_on_different_primaries_run_in_parallel(
    worker: Any,
    test_app: Any,
    probe: redis.Redis,
    cluster_db: ClusterDatabase,
    redis_cluster: LocalCluster,
) -> None:
    ports: dict[int, str] = {}
    while len(ports) < 2:  # two tokens whose locks hash to different primaries
        t = token()
        ports.setdefault(cluster_db.get_node_from_key(test_app.exclusive.lock_for(t).key).port, t)
    a, b = ports.values()
    results = [test_app.exclusive.apply_async((a, 1.0)), test_app.exclusive.apply_async((b, 1.0))]
    wait_for(lambda: probe.exists(f"probe:running:{a}") and probe.exists(f"probe:running:{b}"), 10)
    held = [where(test_app.exclusive.lock_for(x).key, redis_cluster, probe) for x in (a, b)]
    assert len(held[0]) == len(held[1]) == 1 and held[0] != held[1]
    assert [r.get(timeout=15) for r in results] == [a, b]
    starts = [float(probe.lrange(f"probe:starts:{x}", 0, 0)[0]) for x in (a, b)]
    ends = [float(probe.lrange(f"probe:ends:{x}", 0, 0)[0]) for x in (a, b)]
    assert max(starts) < min(ends)  # the two runs overlapped
    assert list_locks(test_app.app) == []


def test_both_lock_on_the_cluster_deduplicates_queued_and_running(
    worker: Any,
    test_app: Any,
    probe: redis.Redis,
    cluster_db: ClusterDatabase,
    redis_cluster: LocalCluster,
) -> None:
    lease_ms = test_app.RENEW_INTERVAL * LEASE_FACTOR * 1000
    t = token()
    lock = test_app.singleton.lock_for(t)
    first = test_app.singleton.apply_async((t, 2.0), countdown=1)
    # Queued (the countdown): the enqueue lock is on the cluster, owned by the task id,
    # with the enqueue ttl (30 s + the countdown).
    assert cluster_db.get(lock.key) == first.id.encode()
    assert 29_000 < cluster_db.pttl(lock.key) <= 31_000
    assert len(where(lock.key, redis_cluster, probe)) == 1
    assert test_app.singleton.apply_async((t, 0.0)).id == first.id
    wait_for(lambda: probe.exists(f"probe:running:{t}"), 10)
    # Running: the pool process adopted the lock (same owner) and holds a renewed lease.
    assert cluster_db.get(lock.key) == first.id.encode()
    assert 0 < cluster_db.pttl(lock.key) <= lease_ms
    time.sleep(lease_ms / 1000 + 0.2)  # past one lease: only renewal keeps it
    assert cluster_db.get(lock.key) == first.id.encode()
    assert test_app.singleton.apply_async((t, 0.0)).id == first.id
    assert first.get(timeout=15) == t
    assert int(probe.get(f"probe:runs:{t}")) == 1
    assert cluster_db.exists(lock.key) == 0
    fresh = test_app.singleton.apply_async((t, 0.0))  # done: a new one may run
    assert fresh.id != first.id
    assert fresh.get(timeout=15) == t
    assert int(probe.get(f"probe:runs:{t}")) == 2 and probe.get(f"probe:overlap:{t}") is None
    assert cluster_db.exists(lock.key) == 0


def test_main_process_frees_cluster_locks_of_revoked_tasks(
    worker: Any, test_app: Any, probe: redis.Redis, cluster_db: ClusterDatabase
) -> None:
    # A queued task revoked: the worker's main process frees its enqueue lock (task_revoked).
    t = token()
    queued = test_app.singleton.apply_async((t, 0.0), countdown=2)
    lock = test_app.singleton.lock_for(t)
    assert cluster_db.get(lock.key) == queued.id.encode()
    test_app.app.control.revoke(queued.id)
    wait_for(lambda: not cluster_db.exists(lock.key), 10)
    # A running task terminated with SIGKILL: nothing runs in its pool process; the main
    # process frees its 30 s lock (owner-checked by task id) long before the lease lapses.
    s = token()
    running = test_app.sleeper.apply_async((s, 30.0))
    held = test_app.sleeper.lock_for(s, 30.0)
    wait_for(lambda: probe.exists(f"probe:running:{s}"), 10)
    assert cluster_db.get(held.key) == running.id.encode()
    assert cluster_db.pttl(held.key) > 20_000
    test_app.app.control.revoke(running.id, terminate=True, signal="SIGKILL")
    wait_for(lambda: not cluster_db.exists(held.key), 10)
    wait_for(lambda: running.state == "REVOKED", 10)
    assert probe.llen(f"probe:ends:{s}") == 0  # the task's finally never ran
    assert probe.get(f"probe:runs:{t}") is None  # the revoked queued task never ran
    assert test_app.sleeper.apply_async((s, 0.0)).get(timeout=15) == s
    assert int(probe.get(f"probe:runs:{s}")) == 2


def test_killed_worker_cluster_lock_lapses_within_the_lease(
    worker: Any, test_app: Any, probe: redis.Redis, cluster_db: ClusterDatabase
) -> None:
    lease = test_app.RENEW_INTERVAL * LEASE_FACTOR  # the default lease: no lock_ttl on the task
    assert test_app.exclusive.lock_ttl is None and lease * 50 < test_app.exclusive.time_limit
    t = token()
    result = test_app.exclusive.apply_async((t, 30.0))
    lock = test_app.exclusive.lock_for(t)
    wait_for(lambda: probe.exists(f"probe:running:{t}"), 10)
    time.sleep(lease + 0.1)  # past one lease: renewal is what keeps it
    assert cluster_db.get(lock.key) == result.id.encode()
    assert 0 < cluster_db.pttl(lock.key) <= lease * 1000  # a lease, not the time limit + margin
    infos = list_locks(test_app.app)  # SCAN over the primaries
    assert [(i.name, i.task_id, i.task) for i in infos] == [
        (lock.name, result.id, test_app.exclusive.name)
    ]
    assert infos[0].key == lock.key and cluster_db.get(infos[0].key) == result.id.encode()
    worker.kill()
    # Nothing renews it now: it lapses on the cluster within one lease (slack for a loaded
    # machine), not after the task's 120 s time limit.
    wait_for(lambda: not cluster_db.exists(lock.key), lease + 1.5)
    assert probe.llen(f"probe:ends:{t}") == 0  # killed mid-run
    worker.start(test_app.app)
    assert test_app.exclusive.apply_async((t, 0.0)).get(timeout=15) == t
    assert int(probe.get(f"probe:runs:{t}")) == 2
    assert cluster_db.exists(lock.key) == 0
