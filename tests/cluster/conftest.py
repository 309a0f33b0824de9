"""Fixtures for the tests marked ``cluster``: a limpyd database on the session's local
3-primary Redis Cluster (the ``redis_cluster`` session fixture of ``tests/conftest.py``,
shared with the core suites' cluster backend; ``cluster_db`` comes from
``tests/support/cluster_fixtures.py``) and a Sentinel setup per failover test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cluster_backend import unavailable
from tests.support.cluster_server import LocalCluster
from tests.support.sentinel_server import SentinelSetup, start_sentinel_setup
from walrus.database import ClusterDatabase


@pytest.fixture
def sentinel_setup() -> Iterator[SentinelSetup]:
    """One primary, one replica and one sentinel (quorum 1, down-after 500 ms)."""
    if shutil.which("redis-server") is None:
        unavailable("redis-server not on PATH")
    try:
        setup = start_sentinel_setup()
    except (FileNotFoundError, RuntimeError) as exc:
        unavailable(f"could not start a sentinel setup: {exc}")
    try:
        yield setup
    finally:
        setup.stop()


@pytest.fixture
def limpyd_cluster(cluster_db: ClusterDatabase, redis_cluster: LocalCluster) -> Iterator[Any]:
    """A limpyd ``PipelineDatabase`` on the session cluster (flushed by ``cluster_db``)."""
    from limpyd.contrib.database import PipelineDatabase

    database = PipelineDatabase(
        cluster_nodes=[(redis_cluster.host, p) for p in redis_cluster.ports]
    )
    yield database
    database.close()
