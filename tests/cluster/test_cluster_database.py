"""ClusterDatabase: construction, URLs, tags, scripts and keyspace tools on a real cluster."""

from __future__ import annotations

import socket

import pytest
import redis
from redis.cluster import RedisCluster

from tests.support.cluster_server import LocalCluster
from walrus import Database
from walrus.cluster import (
    ClusterClientTooOldError,
    CrossSlotError,
    command_keys,
    has_hash_tag,
    hash_tag,
    key_slot,
    parse_cluster_url,
    parse_sentinel_url,
    require_cluster_transactions,
)
from walrus.database import ClusterDatabase, DatabaseBase
from walrus.keyspace import delete_matching, iter_matching, server_summary
from walrus.roundtrips import RoundTripCounter

pytestmark = pytest.mark.cluster


def node_of(db: ClusterDatabase, key: str) -> str:
    return str(db.get_node_from_key(key).name)


def keys_on_every_node(db: ClusterDatabase, prefix: str, count: int = 60) -> list[str]:
    keys = [f"{prefix}{i}" for i in range(count)]
    assert len({node_of(db, k) for k in keys}) == 3, "test keys must span all three primaries"
    return keys


# -- construction ---------------------------------------------------------------------------


def test_from_url_gives_a_cluster_database(redis_cluster: LocalCluster) -> None:
    db = Database.from_url(redis_cluster.url())
    try:
        assert type(db) is ClusterDatabase
        assert db.is_cluster is True
        assert isinstance(db, Database) and isinstance(db, DatabaseBase)
        assert isinstance(db, RedisCluster)
        # honest about what it is not: no redis.Redis (no connection_pool), no subclass
        assert not isinstance(db, redis.Redis) and not issubclass(ClusterDatabase, Database)
        assert len(db.get_primaries()) == 3
        db.set("from-url", "1")
        assert db.get("from-url") == b"1"
    finally:
        db.delete("from-url")
        db.close()


def test_cluster_database_from_plain_redis_url_and_options(redis_cluster: LocalCluster) -> None:
    node = redis_cluster.nodes[1]
    db = ClusterDatabase.from_url(f"redis://{node.host}:{node.port}", decode_responses=True)
    try:
        assert len(db.get_primaries()) == 3  # discovered from one startup node
        db.set("opt", "v")
        assert db.get("opt") == "v"
        assert db.connection_options["decode_responses"] is True
    finally:
        db.delete("opt")
        db.close()


def test_single_server_database_is_not_cluster(db: Database) -> None:
    assert db.is_cluster is False
    assert db.tag("name") == "name"
    assert db.tag(b"name") == b"name"


def test_tag_on_cluster(cluster_db: ClusterDatabase) -> None:
    assert cluster_db.tag("users") == "{users}"
    assert cluster_db.tag(b"users") == b"{users}"
    assert cluster_db.tag("{team}:report") == "{team}:report"  # an existing tag is kept
    assert key_slot("lock:" + cluster_db.tag("x")) == key_slot("lock.event:" + cluster_db.tag("x"))


def test_hash_tag_rules() -> None:
    assert has_hash_tag("a{b}c") and not has_hash_tag("a{}c") and not has_hash_tag("abc")
    assert hash_tag("a{}c") == "{a{}c}"
    with pytest.raises(ValueError, match="starting with '}'"):
        hash_tag("}x")
    with pytest.raises(ValueError, match="empty"):
        hash_tag("")


def test_parse_cluster_url() -> None:
    hosts, options = parse_cluster_url(
        "rediss+cluster://user:p%40ss@h1:7000,h2,[::1]:7002?socket_timeout=2"
    )
    assert hosts == [("h1", 7000), ("h2", 6379), ("::1", 7002)]
    assert options == {"username": "user", "password": "p@ss", "ssl": True, "socket_timeout": 2.0}
    with pytest.raises(ValueError, match="only db 0"):
        parse_cluster_url("redis+cluster://h:1/3")
    with pytest.raises(ValueError, match="bad port"):
        parse_cluster_url("redis+cluster://h:x")
    with pytest.raises(ValueError, match="scheme"):
        parse_cluster_url("redis://h:1")
    with pytest.raises(ValueError, match="unsupported URL scheme"):
        Database.from_url("redis+shard://h:1")


def test_parse_sentinel_url() -> None:
    hosts, service, options = parse_sentinel_url(
        "redis+sentinel://secret@s1:26379,s2:26380/mymaster/2"
    )
    assert hosts == [("s1", 26379), ("s2", 26380)]
    assert service == "mymaster"
    assert options == {"password": "secret", "db": 2}
    hosts, service, options = parse_sentinel_url("rediss+sentinel://u:pw@s1/svc")
    assert (hosts, service) == ([("s1", 6379)], "svc")
    assert options == {"username": "u", "password": "pw", "ssl": True}
    with pytest.raises(ValueError, match="service name"):
        parse_sentinel_url("redis+sentinel://s1:26379")
    with pytest.raises(ValueError, match="db must be an integer"):
        parse_sentinel_url("redis+sentinel://s1:26379/svc/x")


@pytest.mark.parametrize("version", ["5.0.8", "5.3.1", "6.0.0", "dev"])
def test_redis_py_without_cluster_transactions_is_refused(version: str) -> None:
    with pytest.raises(
        ClusterClientTooOldError, match=rf"redis-py >= 6\.1 .*redis-py {version} is installed"
    ):
        require_cluster_transactions(version)


@pytest.mark.parametrize("version", ["6.1.0", "6.4.0", "7.0.0b1", "8.2.0", "10.0"])
def test_redis_py_with_cluster_transactions_passes(version: str) -> None:
    require_cluster_transactions(version)


def test_cluster_database_checks_redis_py_before_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setattr(redis, "__version__", "5.0.8")
    # ClusterClientTooOldError, not a connection error: nothing was attempted.
    with pytest.raises(ClusterClientTooOldError, match="5.0.8"):
        ClusterDatabase(host="127.0.0.1", port=port)
    with pytest.raises(ClusterClientTooOldError):
        Database.from_url(f"redis+cluster://127.0.0.1:{port}")
    monkeypatch.setattr(redis, "__version__", "6.1.0")
    with pytest.raises(redis.exceptions.RedisClusterException):  # now it does try to connect
        ClusterDatabase(host="127.0.0.1", port=port)


# -- scripts ------------------------------------------------------------------------------


def test_run_script_survives_script_flush_on_every_node(cluster_db: ClusterDatabase) -> None:
    keys = keys_on_every_node(cluster_db, "cas")
    for key in keys:
        cluster_db.set(key, "a")
        assert cluster_db.cas(key, "a", "b")  # first run per node: EVAL
    with RoundTripCounter() as rt:
        assert cluster_db.cas(keys[0], "b", "c")  # known on that node: one EVALSHA
    assert rt.count == 1
    cluster_db.set(keys[0], "b")
    assert cluster_db.script_flush()  # every primary forgets every script
    for key in keys:
        assert cluster_db.cas(key, "b", "c")  # NOSCRIPT on each node -> reloaded there
    assert all(cluster_db.get(key) == b"c" for key in keys)


def test_run_script_refuses_keys_of_several_slots(cluster_db: ClusterDatabase) -> None:
    cluster_db.set("a", "1")
    with pytest.raises(CrossSlotError, match="'a' \\(slot"):
        cluster_db.run_script("lock_release", keys=["a", "b"], args=["x", 1])
    assert cluster_db.get("a") == b"1"


def test_run_script_queued_on_a_cluster_pipeline(cluster_db: ClusterDatabase) -> None:
    pipe = cluster_db.pipeline(transaction=False)
    cluster_db.set("{p}k", "old")
    cluster_db.run_script("cas", keys=["{p}k"], args=["old", "new"], client=pipe)
    assert pipe.execute() == [1]
    assert cluster_db.get("{p}k") == b"new"


def test_atomic_within_one_slot(cluster_db: ClusterDatabase) -> None:
    with cluster_db.atomic() as pipe:
        pipe.set("{order:1}:a", "1")
        pipe.incr("{order:1}:n")
    assert cluster_db.get("{order:1}:a") == b"1" and cluster_db.get("{order:1}:n") == b"1"


# -- keyspace -----------------------------------------------------------------------------


def test_scan_and_delete_visit_every_primary(
    cluster_db: ClusterDatabase, redis_cluster: LocalCluster
) -> None:
    keys = keys_on_every_node(cluster_db, "scan:", 90)
    for key in keys:
        cluster_db.set(key, "x")
    cluster_db.set("other", "y")
    assert sorted(k.decode() for k in iter_matching(cluster_db, ["scan:*"])) == sorted(keys)
    assert sorted(k.decode() for k in cluster_db.search("scan:*")) == sorted(keys)
    assert len(list(cluster_db)) == 91
    assert server_summary(cluster_db)["keys"] == 91
    progress: list[int] = []
    assert delete_matching(cluster_db, ["scan:*"], batch=25, on_progress=progress.append) == 90
    assert progress == [25, 50, 75, 90]
    per_node = []
    for client in redis_cluster.clients():
        per_node.append(client.dbsize())
        client.close()
    assert sum(per_node) == 1 and cluster_db.get("other") == b"y"


def test_get_key_and_temp_key(cluster_db: ClusterDatabase) -> None:
    cluster_db.Hash("h").update(a="1")
    assert cluster_db.get_key("h").as_dict() == {b"a": b"1"}
    with pytest.raises(KeyError):
        cluster_db.get_key("missing")
    assert cluster_db.get_temp_key().startswith("temp.")


def test_keys_and_dbsize_cover_every_primary(cluster_db: ClusterDatabase) -> None:
    names = [f"k{i}" for i in range(30)]
    for name in names:
        cluster_db.set(name, "v")
    assert len({cluster_db.get_node_from_key(name).name for name in names}) > 1
    assert cluster_db.dbsize() == 30
    assert sorted(cluster_db.keys("k*")) == sorted(name.encode() for name in names)


def test_movable_key_commands_are_routed_locally(cluster_db: ClusterDatabase) -> None:
    assert command_keys(["XREAD", "COUNT", 2, "STREAMS", "a", "b", "0", "0"]) == ["a", "b"]
    assert command_keys(["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"]) == ["s"]
    assert command_keys(["ZUNIONSTORE", "d", 2, "x", "y", "WEIGHTS", 1, 2]) == ["d", "x", "y"]
    assert command_keys(["ZINTER", 2, "x", "y"]) == ["x", "y"]
    assert command_keys(["GET", "a"]) is None
    stream = cluster_db.Stream("{t}s")
    stream.add({"f": "v"}, id="1-0")
    with RoundTripCounter() as rt:
        assert [m for m, _ in stream.read(last_id="0")] == [b"1-0"]
    assert rt.count == 1  # no COMMAND GETKEYS first
    cluster_db.zadd("{t}x", {"m": 1})
    cluster_db.zadd("{t}y", {"m": 2})
    with RoundTripCounter() as rt:
        assert cluster_db.zunionstore("{t}d", ["{t}x", "{t}y"]) == 1
    assert rt.count == 1 and cluster_db.zscore("{t}d", "m") == 3
    # Streams of several slots are refused before anything is sent.
    with pytest.raises(CrossSlotError, match="XREAD"):
        cluster_db.xread({"s1": "0", "s2": "0"})
