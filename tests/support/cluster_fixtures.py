"""Cluster fixtures shared by several folders (tests/cluster, and the Django and Flask rate
limit tests on a cluster): a pytest plugin, loaded by ``pytest_plugins`` in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.cluster_server import LocalCluster
from walrus.database import ClusterDatabase


@pytest.fixture
def cluster_db(redis_cluster: LocalCluster) -> Iterator[ClusterDatabase]:
    """A ClusterDatabase on the session cluster, FLUSHALL'd on every primary before and after."""
    database = ClusterDatabase.from_url(redis_cluster.url())
    database.flushall()  # routed to every primary
    yield database
    database.flushall()
    database.close()
