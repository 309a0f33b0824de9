"""AsyncClusterDatabase: walrus.asyncio on the local Redis Cluster, beside the sync
ClusterDatabase on the same data (the whole tests/asyncio suite also runs here; these are
the cluster-only behaviours)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

from tests.support.cluster_server import LocalCluster
from walrus import Database, IntegerField, Model, TextField
from walrus.asyncio import AsyncDatabase, AsyncModel
from walrus.asyncio.cluster import AsyncClusterDatabase, require_async_cluster_transactions
from walrus.asyncio.rate_limit import adecide
from walrus.cluster import CrossSlotError, key_slot
from walrus.database import ClusterDatabase
from walrus.rate_limit import PreparedRate, decide
from walrus.roundtrips import RoundTripCounter

pytestmark = pytest.mark.cluster


def run(
    cluster: LocalCluster, body: Callable[[AsyncClusterDatabase, ClusterDatabase], Awaitable[Any]]
) -> Any:
    """``body(async_db, sync_db)`` on the flushed session cluster, both clients closed after."""
    cluster.flushall()

    async def main() -> Any:
        db = AsyncDatabase.from_url(cluster.url())
        assert isinstance(db, AsyncClusterDatabase)
        sync = ClusterDatabase.from_url(cluster.url())
        try:
            await db.initialize()  # the slot map, read before any count
            return await body(db, sync)
        finally:
            await db.aclose()
            sync.close()

    try:
        return asyncio.run(main())
    finally:
        cluster.flushall()


def spread_keys(prefix: str) -> list[str]:
    """Keys named ``prefix<n>`` covering several hash slots (and so several primaries)."""
    keys = [f"{prefix}{n}" for n in range(40)]
    assert len({key_slot(k) // 5462 for k in keys}) == 3
    return keys


def test_urls_give_an_async_cluster_client(redis_cluster: LocalCluster) -> None:
    node = redis_cluster.nodes[0]

    async def main() -> list[Any]:
        got: list[Any] = []
        db = AsyncDatabase.from_url(redis_cluster.url())
        got += [type(db), db.is_cluster, db.is_embedded, isinstance(db, AsyncRedisCluster)]
        got.append(isinstance(db, redis.asyncio.Redis))  # a cluster client, not a Redis
        got.append(db.tag("orders") == "{orders}" and db.tag("{x}y") == "{x}y")
        await db.set("k", "v")
        await db.aclose()
        # a plain redis:// URL names one startup node; options reach the node connections
        one = AsyncClusterDatabase.from_url(f"redis://{node.host}:{node.port}", socket_timeout=3)
        got.append(await one.get("k"))
        got.append(one.connection_options["socket_timeout"])
        got.append(len(await one.keys("*")) == await one.dbsize() == 1)  # every primary
        await one.aclose()
        return got

    redis_cluster.flushall()
    got = asyncio.run(main())
    redis_cluster.flushall()
    assert got == [AsyncClusterDatabase, True, False, True, False, True, b"v", 3, True]
    require_async_cluster_transactions()  # the installed redis-py has them
    with pytest.raises(ValueError, match="cluster"):
        AsyncDatabase.from_url("redis+cluster://")  # no node
    with pytest.raises(ValueError, match="retries must be >= 0, got -1"):
        AsyncDatabase.from_url(redis_cluster.url(), retries=-1)
    with pytest.raises(ValueError, match="retries"):
        AsyncDatabase.from_url(redis_cluster.url() + "?retries=x")


def test_reads_are_resent_after_a_dropped_node_connection(redis_cluster: LocalCluster) -> None:
    """walrus's reconnection on the async cluster client: a read whose node connection was
    killed between calls is resent on a fresh one; retries=0 raises the ConnectionError."""
    import redis.exceptions

    async def kill_then_get(db: AsyncClusterDatabase) -> Any:
        await db.set("k", "v")
        node = db.get_node_from_key("k")
        for server in redis_cluster.nodes:
            if server.port == node.port:
                with server.client() as admin:
                    admin.client_kill_filter(_type="normal", skipme=True)
        return await db.get("k")

    async def main() -> list[Any]:
        got: list[Any] = []
        for retries in (3, 0):
            db = AsyncDatabase.from_url(redis_cluster.url(), retries=retries)
            try:
                got.append(await kill_then_get(db))
            except redis.exceptions.ConnectionError as exc:
                got.append(type(exc).__name__)
            finally:
                await db.aclose()
        return got

    redis_cluster.flushall()
    got = asyncio.run(main())
    redis_cluster.flushall()
    assert got == [b"v", "ConnectionError"]


def test_containers_helpers_and_scripts_share_data_with_the_sync_client(
    redis_cluster: LocalCluster,
) -> None:
    async def body(db: AsyncClusterDatabase, sync: ClusterDatabase) -> None:
        await db.Hash("h").update(a=1, b=2)
        assert sync.Hash("h").as_dict(decode=True) == {"a": "1", "b": "2"}
        sync.ZSet("{z}a").add({"x": 1, "y": 2})
        await db.ZSet("{z}b").add({"y": 5})
        assert await db.ZSet("{z}a").interstore("{z}c", "{z}b") == db.ZSet("{z}c")
        assert sync.ZSet("{z}c").as_items() == [(b"y", 7.0)]
        # a cache spread over every primary: one MGET per slot, like the sync cache
        cache, sync_cache = db.cache("c", signing_key="k"), sync.cache("c", signing_key="k")
        keys = spread_keys("item")
        await cache.set_many({key: key.upper() for key in keys})
        assert sync_cache.get_many(keys) == await cache.get_many(keys)
        assert await cache.delete_many(keys) == len(keys)
        # scripts: the source once per node, then the SHA; SCRIPT FLUSH is survived
        cas_keys = spread_keys("cas")
        for key in cas_keys:
            await db.set(key, "a")
            assert await db.run_script("cas", keys=[key], args=["a", "b"]) == 1
        with RoundTripCounter() as rt:
            assert await db.run_script("cas", keys=[cas_keys[0]], args=["b", "c"]) == 1
        assert rt.count == 1
        await db.script_flush()
        for key in cas_keys[1:]:
            assert await db.run_script("cas", keys=[key], args=["b", "d"]) == 1
        assert {sync.get(key) for key in cas_keys[1:]} == {b"d"}

    run(redis_cluster, body)


def test_several_slots_in_one_call_are_refused_before_sending(
    redis_cluster: LocalCluster,
) -> None:
    async def body(db: AsyncClusterDatabase, sync: ClusterDatabase) -> int:
        sync.sadd("a", "1")
        sync.sadd("b", "1")
        assert key_slot("a") != key_slot("b")
        with RoundTripCounter() as rt:
            with pytest.raises(CrossSlotError, match="'a' \\(slot"):
                await db.run_script("lock_release", keys=["a", "b"], args=["x", 1])
            with pytest.raises(CrossSlotError, match="needs its keys in one"):
                await (db.Set("a") & db.Set("b"))
            with pytest.raises(CrossSlotError, match="XREAD"):
                await db.xread({"a": "0", "b": "0"})
        assert sync.smembers("a") == {b"1"}
        return rt.count

    assert run(redis_cluster, body) == 0


def test_streams_and_groups_on_one_slot(redis_cluster: LocalCluster) -> None:
    async def body(db: AsyncClusterDatabase, sync: ClusterDatabase) -> None:
        names = ["{feed}a", "{feed}b"]
        group = db.consumer_group("g", names)
        assert await group.create() == {name: True for name in names}
        await db.Stream(names[0]).add({"n": 1}, id="1-0")
        sync.Stream(names[1]).add({"n": 2}, id="2-0")
        read = await group.read(count=10)
        assert [(key, [i for i, _ in items]) for key, items in read] == [
            (b"{feed}a", [b"1-0"]),
            (b"{feed}b", [b"2-0"]),
        ]
        assert sync.xpending(names[0], "g")["pending"] == 1
        series = db.time_series("ts", names)
        await series.create()
        assert [(m.stream, m.data) for m in await series.read()] == [
            ("{feed}a", {"n": "1"}),
            ("{feed}b", {"n": "2"}),
        ]

    run(redis_cluster, body)


def test_rate_limits_decide_per_slot_group_all_or_nothing(redis_cluster: LocalCluster) -> None:
    wide, narrow = PreparedRate("wide", 10, 60), PreparedRate("narrow", 2, 60)

    async def body(db: AsyncClusterDatabase, sync: ClusterDatabase) -> list[Any]:
        keys = ["alice", "bob"]  # "wide:{alice}" and "narrow:{bob}": two slots
        assert key_slot("{alice}") != key_slot("{bob}")
        got = []
        for _ in range(3):
            decision = await adecide(db, [wide, narrow], keys)
            got.append(decision.allowed)
        # the refused third request took back what the first group recorded
        sync_view = decide(sync, [wide, narrow], keys, cost=0)
        got.append([r.remaining for r in sync_view.results])
        with RoundTripCounter() as rt:
            await adecide(db, [wide, narrow], keys)  # refused: one script per group + take-back
        with RoundTripCounter() as sync_rt:
            decide(sync, [wide, narrow], keys)
        got.append((rt.count, sync_rt.count))
        limiter = db.rate_limit("api", limit=3, per=60)
        results = await asyncio.gather(*(limiter.limit(f"user{n % 4}") for n in range(20)))
        got.append(results.count(False))  # 3 allowed per user, exactly
        return got

    assert run(redis_cluster, body) == [True, True, False, [8, 0], (3, 3), 12]


def test_models_on_the_cluster_match_the_sync_models(redis_cluster: LocalCluster) -> None:
    def declare(base: type[Model], database: Any) -> Any:
        class Person(base):  # type: ignore[valid-type, misc]
            __database__ = database
            __namespace__ = "app"
            name = TextField(primary_key=True)
            age = IntegerField(index=True)

        return Person

    async def body(db: AsyncClusterDatabase, sync: ClusterDatabase) -> list[Any]:
        APerson, SPerson = declare(AsyncModel, db), declare(Model, sync)
        got: list[Any] = []
        with RoundTripCounter() as rt:
            await APerson.create(name="ann", age=31)
        with RoundTripCounter() as sync_rt:
            SPerson.create(name="bob", age=25)
        got.append((rt.count, sync_rt.count))
        got.append(SPerson.load("ann").age)
        got.append([p.name async for p in APerson.query(APerson.age > 20, order_by=APerson.age)])
        got.append(await APerson.count())
        await (await APerson.load("bob")).delete()
        got.append([p.name for p in SPerson.query()])
        got.append(all(k.startswith(b"{app|person}") for k in sync.keys("*")))
        return got

    assert run(redis_cluster, body) == [(1, 1), 31, ["bob", "ann"], 2, ["ann"], True]


def test_sync_database_is_untouched(redis_cluster: LocalCluster) -> None:
    """The sync entry point still gives the sync cluster client for the same URL."""
    db = Database.from_url(redis_cluster.url())
    try:
        assert type(db) is ClusterDatabase
    finally:
        db.close()


def test_index_finds_token_sets_on_whichever_node_holds_them(redis_cluster: LocalCluster) -> None:
    """A document whose hash was deleted behind the index's back: its token sets are found
    by SCAN on every primary (the index's slot lives on one of them), then removed."""
    from walrus.fts import Index

    async def body(db: AsyncClusterDatabase, sync: ClusterDatabase) -> list[Any]:
        names = ["alpha", "beta", "gamma", "delta"]  # indexes in slots of several nodes
        nodes = {sync.get_node_from_key(f"fts.{{{n}}}").name for n in names}
        assert len(nodes) > 1
        got = []
        for name in names:
            index = Index(db, name)
            await index.add("d1", "walrus tusks")
            await index.add("d2", "walrus")
            sync.delete(index.document_key("d1"))  # the hash, behind the index's back
            await index.remove("d1")
            got.append((await index.search_items("walrus"), sync.exists(index.token_key("tusk"))))
        return got

    got = run(redis_cluster, body)
    assert got == [([("d2", {"content": "walrus"})], 0)] * 4
