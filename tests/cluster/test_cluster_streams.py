"""Streams and MONITOR on a Redis Cluster client: reads cost one round trip; stream_log is a
clear error (MONITOR has no single server there)."""

from __future__ import annotations

import pytest

from walrus import WalrusError
from walrus.containers.streams import GroupNotFoundError
from walrus.database import ClusterDatabase
from walrus.pubsub import MonitorUnavailableError
from walrus.roundtrips import RoundTripCounter

pytestmark = pytest.mark.cluster


def test_stream_read_is_one_round_trip(cluster_db: ClusterDatabase) -> None:
    stream = cluster_db.Stream("events")
    for i in range(1, 4):
        stream.add({"i": i}, id=f"{i}-0")
    with RoundTripCounter() as rt:
        assert [m for m, _ in stream.read(count=2, last_id="1-0")] == [b"2-0", b"3-0"]
    assert rt.count == 1
    with RoundTripCounter() as rt:
        assert stream.read(block=10, last_id="$") == []
    assert rt.count == 1


def test_group_reads_are_one_round_trip(cluster_db: ClusterDatabase) -> None:
    cg = cluster_db.consumer_group("grp", ["{jobs}a", "{jobs}b"], consumer="w1")
    cg.create()
    cluster_db.xadd("{jobs}a", {"n": 1}, id="1-0")
    cluster_db.xadd("{jobs}b", {"n": 2}, id="2-0")
    with RoundTripCounter() as rt:
        got = cg.read()
    assert rt.count == 1
    assert [(key, [m for m, _ in entries]) for key, entries in got] == [
        (b"{jobs}a", [b"1-0"]),
        (b"{jobs}b", [b"2-0"]),
    ]
    with RoundTripCounter() as rt:
        own = cg.stream("{jobs}a").read(last_id="0-0")  # w1's own pending messages
    assert rt.count == 1 and [m for m, _ in own] == [b"1-0"]
    with pytest.raises(GroupNotFoundError):
        cluster_db.consumer_group("nope", ["{jobs}a"]).stream("{jobs}a").read()


def test_stream_log_is_refused_before_sending_anything(cluster_db: ClusterDatabase) -> None:
    called: list[bytes] = []
    with RoundTripCounter() as rt:
        with pytest.raises(MonitorUnavailableError, match="Redis Cluster") as info:
            cluster_db.stream_log(called.append)
    assert isinstance(info.value, WalrusError)
    assert rt.count == 0 and called == []
    assert cluster_db.ping()
