"""Dropped connections on the local Redis Cluster (#25 part 1): the cluster client replaces
killed node connections without an error for reads and safe writes, and a lost reply of a
command that is not safe to resend raises ``OutcomeUnknownError`` (never resent by redis-py's
cluster loop)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from tests.support.cluster_server import LocalCluster
from walrus import Database
from walrus.retry import OutcomeUnknownError

pytestmark = pytest.mark.cluster


@pytest.fixture
def cluster_db(redis_cluster: LocalCluster) -> Iterator[Database]:
    db = Database.from_url(redis_cluster.url())
    db.flushall()
    yield db
    redis_cluster.flushall()
    db.close()


def _kill_all(cluster: LocalCluster) -> None:
    for client in cluster.clients():
        client.client_kill_filter(_type="normal", skipme=True)
        client.close()


def test_kill_between_operations(redis_cluster: LocalCluster, cluster_db: Database) -> None:
    keys = [f"k{i}" for i in range(12)]  # spread over the three primaries
    for step in range(10):
        _kill_all(redis_cluster)
        for key in keys:
            assert cluster_db.set(key, step)
            assert cluster_db.get(key) == str(step).encode()
        assert cluster_db.incr("counter") == step + 1
        assert cluster_db.run_script("cache_incr", keys=["script-counter"], args=[1, 0]) == step + 1


def test_lost_reply_of_incr(redis_cluster: LocalCluster, cluster_db: Database) -> None:
    cluster_db.set("n", 0)
    node = cluster_db.get_node_from_key("n")
    raw = redis.Redis(host=node.host, port=node.port)
    raw.client_pause(600, all=False)  # writes wait inside the server: sent, not answered
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = cluster_db.incr("n")
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.2)
    raw.client_kill_filter(_type="normal", skipme=True)
    thread.join()
    raw.close()
    assert isinstance(outcome.get("error"), OutcomeUnknownError), outcome
    assert cluster_db.get("n") in (b"0", b"1")  # at most once
