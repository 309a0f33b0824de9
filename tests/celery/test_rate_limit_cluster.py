"""walrus_rate_limit with its budget on the local 3-primary Redis Cluster: two real prefork
workers (broker, results and probe keys on the single test server; ``walrus_url`` the
cluster's, in the workers through ``CELERY_WALRUS_TEST_LOCK_URL``) share one exact budget."""

from __future__ import annotations

import importlib
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

import celery_walrus

pytestmark = pytest.mark.cluster

HERE = Path(__file__).resolve().parent
TEST_DB = int(os.environ.get("WALRUS_TEST_DB", "9"))


def _worker_class() -> Any:
    """The ``Worker`` harness of this directory's conftest, loaded by path (conftest modules
    are not importable by name under ``--import-mode=importlib``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("celery_rl_worker_harness", HERE / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Worker


class ClusterWorker(_worker_class()):  # type: ignore[misc]
    def __init__(self, url: str, lock_url: str) -> None:
        super().__init__(url)
        self.lock_url = lock_url

    def env(self) -> dict[str, str]:
        env = super().env()
        env["CELERY_WALRUS_TEST_LOCK_URL"] = self.lock_url
        return env


@pytest.fixture(scope="module")
def broker_url(redis_server: Any) -> Iterator[str]:
    client = redis_server.client(TEST_DB)
    client.flushdb()
    yield redis_server.url(TEST_DB)
    client.flushdb()
    client.close()


@pytest.fixture(scope="module")
def cluster_app(broker_url: str, redis_cluster: Any) -> Iterator[Any]:
    """``celery_test_app`` with its walrus_url on the cluster for this module (put back after)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CELERY_WALRUS_TEST_URL", broker_url)
        patch.delenv("CELERY_WALRUS_TEST_LOCK_URL", raising=False)
        module = importlib.import_module("celery_test_app")
        if module.URL != broker_url:
            module = importlib.reload(module)
    saved = module.app.conf.get("walrus_url")
    module.app.conf.update(walrus_url=redis_cluster.url())
    celery_walrus.reset(module.app)
    try:
        assert celery_walrus.get_database(module.app).is_cluster
        yield module
    finally:
        module.app.conf.update(walrus_url=saved)
        celery_walrus.reset(module.app)


@pytest.fixture(scope="module")
def two_cluster_workers(
    broker_url: str, redis_cluster: Any, cluster_app: Any
) -> Iterator[list[Any]]:
    handles = [ClusterWorker(broker_url, redis_cluster.url()) for _ in range(2)]
    try:
        for handle in handles:
            handle.start(cluster_app.app)
        yield handles
    finally:
        for handle in handles:
            handle.stop()
            handle.log.close()
            os.unlink(handle.log.name)


def wait_for(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(0.05)


def test_exact_across_two_workers_on_a_cluster(
    two_cluster_workers: Any, cluster_app: Any, broker_url: str
) -> None:
    probe = redis.Redis.from_url(broker_url)
    token = uuid.uuid4().hex[:10]
    try:
        results = [cluster_app.limited.apply_async((token, n)) for n in range(12)]
        wait_for(
            lambda: (
                sum(r.state == "RETRY" for r in results) == 7
                and probe.llen(f"probe:limited:{token}") == 5
            ),
            30,
        )
        time.sleep(1.0)
        assert probe.llen(f"probe:limited:{token}") == 5
        database = celery_walrus.get_database(cluster_app.app)
        # the budget lives on the cluster, its client key hash-tagged
        assert database.llen(f"celery_walrus:rl:celery_test_app.limited:{{{token}}}") == 5
        for result in results:
            result.revoke()
    finally:
        probe.close()
