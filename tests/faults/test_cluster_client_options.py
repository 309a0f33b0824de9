"""A cluster client built directly (as limpyd builds its own) takes the walrus reconnection
options, and refreshes its slot map often enough to follow a failover within a second (#25,
found by the fault suite: the options were silently ignored, redis-py's default policy of 10
resends applied instead, and redis-py's 1 s minimum between two slot-map refreshes let a
client keep trying a dead primary up to a second after its replica had taken over)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis.cluster import ClusterNode

from tests.support.cluster_server import LocalCluster
from walrus.database import _REFRESH_INTERVAL_ARG, TOPOLOGY_REFRESH_MIN_INTERVAL, ClusterDatabase
from walrus.retry import WalrusRetry

pytestmark = pytest.mark.cluster


@pytest.fixture
def nodes(redis_cluster: LocalCluster) -> Iterator[list[ClusterNode]]:
    yield [ClusterNode(node.host, node.port) for node in redis_cluster.nodes]


def _interval(db: ClusterDatabase) -> float | None:
    return getattr(db.nodes_manager, "_topology_refresh_min_interval", None)


def test_constructor_takes_the_retry_options(nodes: list[ClusterNode]) -> None:
    db = ClusterDatabase(startup_nodes=nodes, retries=7, retry_backoff=0.01, request_ids=True)
    try:
        assert isinstance(db.retry, WalrusRetry) and db.retry.get_retries() == 7
        assert db.request_ids and db.ping()
    finally:
        db.close()
    default = ClusterDatabase(startup_nodes=nodes)
    try:
        assert isinstance(default.retry, WalrusRetry) and default.retry.get_retries() == 3
    finally:
        default.close()
    with pytest.raises(ValueError, match="retries"):
        ClusterDatabase(startup_nodes=nodes, retries=-1)


def test_limpyd_cluster_database_takes_them(redis_cluster: LocalCluster) -> None:
    from limpyd.database import RedisDatabase

    database = RedisDatabase(
        cluster_nodes=[(n.host, n.port) for n in redis_cluster.nodes], retries=6, request_ids=True
    )
    try:
        client = database.direct_connection
        assert (
            isinstance(client.retry, WalrusRetry)
            and client.retry.get_retries() == 6
            and client.request_ids
        )
    finally:
        database.close()


def test_slot_map_refresh_interval(redis_cluster: LocalCluster, nodes: list[ClusterNode]) -> None:
    if not _REFRESH_INTERVAL_ARG:
        pytest.skip("this redis-py has no topology_refresh_min_interval (nor its 1 s default)")
    db = ClusterDatabase.from_url(redis_cluster.url())
    try:
        assert _interval(db) == TOPOLOGY_REFRESH_MIN_INTERVAL < 1.0
    finally:
        db.close()
    own = ClusterDatabase(startup_nodes=nodes, topology_refresh_min_interval=2.0)
    try:
        assert _interval(own) == 2.0
    finally:
        own.close()
