"""Cache, rate limit, lock, full-text index, autocomplete, graph and counter on a real cluster."""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.cluster_server import LocalCluster
from walrus.cluster import CrossSlotError, key_slot
from walrus.database import ClusterDatabase
from walrus.rate_limit import RateSpec, check_rates
from walrus.roundtrips import RoundTripCounter

pytestmark = pytest.mark.cluster


def nodes_holding(db: ClusterDatabase, keys: list[str]) -> set[str]:
    return {str(db.get_node_from_key(key).name) for key in keys}


def run_threads(count: int, target: object) -> None:
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        target(index)  # type: ignore[operator]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)


# -- cache --------------------------------------------------------------------------------


def test_cache_many_calls_across_slots(cluster_db: ClusterDatabase) -> None:
    cache = cluster_db.cache("c", default_timeout=None)
    items = {f"k{i}": {"n": i} for i in range(60)}
    assert len(nodes_holding(cluster_db, [cache.make_key(k) for k in items])) == 3
    assert cache.set_many(items)
    assert cluster_db.get("c:k7") is not None  # single-server layout: untagged
    with RoundTripCounter() as rt:
        found = cache.get_many([*items, "missing"])
    assert found == items
    assert rt.count <= 3  # one pipelined batch per node
    assert cache.delete_many(["k1", "k2", "k3", "missing"]) == 3
    assert cache.get("k1") is None and cache.get("k4") == {"n": 4}
    assert cache.incr("hits", 2) == 2 and cache.incr("hits") == 3


def test_cache_keys_and_flush_visit_every_primary(
    cluster_db: ClusterDatabase, redis_cluster: LocalCluster
) -> None:
    cache = cluster_db.cache("c")
    cache.set_many({f"k{i}": i for i in range(60)})
    cluster_db.set("other:1", "x")
    assert len(cache.keys()) == 60
    per_node_before = []
    for client in redis_cluster.clients():
        per_node_before.append(client.dbsize())
        client.close()
    assert all(n > 0 for n in per_node_before)
    assert cache.flush() == 60
    assert cache.keys() == [] and cluster_db.get("other:1") == b"x"


# -- rate limit ---------------------------------------------------------------------------


def test_rate_limit_concurrency_lets_exactly_limit_through(cluster_db: ClusterDatabase) -> None:
    limit = 25
    rl = cluster_db.rate_limit("api", limit=limit, per=60)
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer(_: int) -> None:
        for _ in range(10):
            ok = rl.check("client-1").allowed
            with lock:
                allowed.append(ok)

    run_threads(8, hammer)
    assert len(allowed) == 80 and sum(allowed) == limit
    assert cluster_db.exists("api:{client-1}")
    assert rl.remaining("client-1") == 0
    assert rl.reset("client-1") and rl.remaining("client-1") == limit


def test_stacked_rates_share_a_slot_or_are_refused(cluster_db: ClusterDatabase) -> None:
    specs = [RateSpec("rl:minute", "10.0.0.1", 2, 60), RateSpec("rl:hour", "10.0.0.1", 3, 3600)]
    keys = [spec.storage_key(cluster_db) for spec in specs]
    assert keys == ["rl:minute:{10.0.0.1}", "rl:hour:{10.0.0.1}"]
    assert key_slot(keys[0]) == key_slot(keys[1])
    assert [r.allowed for r in check_rates(cluster_db, specs)] == [True, True]
    mixed = [RateSpec("rl:minute", "10.0.0.1", 2, 60), RateSpec("rl:user", "bob", 2, 60)]
    assert key_slot(mixed[0].storage_key(cluster_db)) != key_slot(mixed[1].storage_key(cluster_db))
    with pytest.raises(CrossSlotError, match="rate limits checked together.*rl:user:\\{bob\\}"):
        check_rates(cluster_db, mixed)
    assert not cluster_db.exists("rl:user:{bob}")
    assert check_rates(cluster_db, specs[:1], cost=0)[0].remaining == 1  # unchanged
    with pytest.raises(ValueError, match="empty key"):
        check_rates(cluster_db, [RateSpec("rl:minute", "", 2, 60)])


# -- lock ---------------------------------------------------------------------------------


def test_lock_keys_are_tagged_and_work(cluster_db: ClusterDatabase) -> None:
    lock = cluster_db.lock("report", ttl=2000)
    assert (lock.key, lock.event) == ("lock:{report}", "lock.event:{report}")
    assert lock.acquire(block=False)
    assert not cluster_db.lock("report").acquire(block=False)
    assert lock.extend(1000) > 2000
    assert lock.release()
    assert cluster_db.lock(b"raw").key == b"lock:{raw}"


def test_lock_concurrency_never_two_holders(cluster_db: ClusterDatabase) -> None:
    holders = 0
    peak = 0
    entries = 0
    guard = threading.Lock()

    def work(_: int) -> None:
        nonlocal holders, peak, entries
        lock = cluster_db.lock("shared", ttl=5000)
        for _ in range(5):
            assert lock.acquire(timeout=20)
            with guard:
                holders += 1
                entries += 1
                peak = max(peak, holders)
            time.sleep(0.002)
            with guard:
                holders -= 1
            lock.release()

    run_threads(8, work)
    assert entries == 40 and peak == 1
    assert not cluster_db.lock("shared").locked()


# -- search, autocomplete, graph, counter --------------------------------------------------------


def test_fts_index_on_cluster(cluster_db: ClusterDatabase) -> None:
    index = cluster_db.Index("articles")
    assert index.members_key == "fts.{articles}"
    index.add("1", "The quick brown fox jumps", category="animals")
    index.add("2", "A lazy dog sleeps all day", category="animals")
    index.add("3", "Foxes and dogs are friends")
    assert sorted(d["content"] for d in index.search("fox")) == [
        "Foxes and dogs are friends",
        "The quick brown fox jumps",
    ]
    assert sorted(doc_id for doc_id, _ in index.search_items("dog OR fox")) == ["1", "2", "3"]
    assert [doc_id for doc_id, _ in index.search_items("fox AND dog")] == ["3"]
    assert index.search('"lazy dog"')[0]["category"] == "animals"
    index.update("1", "a slow green turtle")
    assert [d["content"] for d in index.search("fox")] == ["Foxes and dogs are friends"]
    index.remove("3")
    assert len(index) == 2 and index.search("fox") == []
    assert key_slot(index.document_key("2")) == key_slot(index.token_key("dog"))
    # temporaries of the query script went away
    assert not list(cluster_db.scan_iter(match="temp.*"))


def test_autocomplete_on_cluster(cluster_db: ClusterDatabase) -> None:
    ac = cluster_db.autocomplete("titles")
    assert ac.data_key == "{titles}:d"
    ac.store("python programming", data={"id": 1})
    ac.store("pyramid schemes", data={"id": 2})
    ac.store("rust book", data={"id": 3})
    assert ac.search("py") == [{"id": 2}, {"id": 1}]
    ac.boost_object("python programming", multiplier=10)
    assert ac.search("py")[0] == {"id": 1}
    assert ac.remove("rust book") and ac.search("rust") == []
    assert ac.flush() > 0 and ac.search("py") == []


def test_graph_and_counter_on_cluster(cluster_db: ClusterDatabase) -> None:
    g = cluster_db.graph("people")
    g.store_many(("alice", "knows", "bob"), ("bob", "knows", "carol"), ("alice", "likes", "tea"))
    assert g.query(s="alice", p="knows") == [{"s": "alice", "p": "knows", "o": "bob"}]
    x = g.v.x
    found = g.search({"s": "alice", "p": "knows", "o": x}, {"s": x, "p": "knows", "o": "carol"})
    assert found == {"x": {"bob"}}
    counter = cluster_db.counter("visits")
    counter.incr(5)
    counter -= 2
    assert counter.value() == 3


def test_listener_on_cluster(cluster_db: ClusterDatabase) -> None:
    got: list[bytes] = []

    @cluster_db.listener(channels=["news"], is_async=True)
    def handle(**message: object) -> None:
        got.append(message["data"])  # type: ignore[arg-type]
        raise StopIteration

    thread = handle()
    assert thread is not None
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        cluster_db.publish("news", "hello")
        time.sleep(0.05)
    assert thread.stop()
    assert got and got[0] == b"hello"


def test_held_locks_on_every_primary(cluster_db: ClusterDatabase) -> None:
    from walrus.lock import held_locks

    names = [f"job:{i}" for i in range(12)]  # spread over the three primaries' slots
    for name in names:
        assert cluster_db.lock(name, ttl=5000, lock_id=f"owner-{name}").acquire()
    found = held_locks(cluster_db, "job:")
    assert sorted(h.name for h in found) == sorted(names)
    assert all(h.owner == f"owner-{h.name}" for h in found)
    assert all(h.key == f"lock:{{{h.name}}}" and cluster_db.exists(h.key) for h in found)
