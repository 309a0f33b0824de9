"""Fixtures for the tests marked ``cluster``: a real local 3-primary Redis Cluster for the
session (started and torn down here, about 2-4 s) and a Sentinel setup per failover test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from cluster_server import LocalCluster, start_cluster
from sentinel_server import SentinelSetup, start_sentinel_setup

from walrus.database import ClusterDatabase


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI needs redis-server and redis-cli for the cluster tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalCluster]:
    """Three primaries on free loopback ports; stopped (by pid) at the end of the session."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        _unavailable("redis-server / redis-cli not on PATH")
    try:
        cluster = start_cluster(3)
    except (FileNotFoundError, RuntimeError) as exc:
        _unavailable(f"could not start a local cluster: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster_db(redis_cluster: LocalCluster) -> Iterator[ClusterDatabase]:
    """A ClusterDatabase on the session cluster, FLUSHALL'd on every primary before and after."""
    database = ClusterDatabase.from_url(redis_cluster.url())
    database.flushall()  # routed to every primary
    yield database
    database.flushall()
    database.close()


@pytest.fixture
def sentinel_setup() -> Iterator[SentinelSetup]:
    """One primary, one replica and one sentinel (quorum 1, down-after 500 ms)."""
    if shutil.which("redis-server") is None:
        _unavailable("redis-server not on PATH")
    try:
        setup = start_sentinel_setup()
    except (FileNotFoundError, RuntimeError) as exc:
        _unavailable(f"could not start a sentinel setup: {exc}")
    try:
        yield setup
    finally:
        setup.stop()


@pytest.fixture
def limpyd_cluster(cluster_db: ClusterDatabase, redis_cluster: LocalCluster) -> Iterator[Any]:
    """A limpyd ``PipelineDatabase`` on the session cluster (flushed by ``cluster_db``)."""
    from limpyd.contrib.database import PipelineDatabase

    database = PipelineDatabase(cluster_nodes=[(redis_cluster.host, p) for p in redis_cluster.ports])
    yield database
    database.close()
