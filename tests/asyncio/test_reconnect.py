"""Safe reconnection on asyncio (docs/reliability.md): ``AsyncDatabase`` resends what the sync
``Database`` resends, raises ``OutcomeUnknownError`` where it does, and takes the same options.

Real faults only, on a server of each test alone: ``CLIENT KILL`` from a second client (while
the server holds writes with ``CLIENT PAUSE WRITE``, or while a blocking read waits), and a
loopback proxy that lets a command reach the server, drops its reply and refuses new
connections (``fault_injectors.ReplyDropper``). Each situation runs on the sync client too,
and both must end the same way.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import redis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ConstantBackoff
from redis.retry import Retry

from tests.support.fault_injectors import ReplyDropper
from tests.support.redis_server import RedisServer, start_redis_server
from walrus import Database, OutcomeUnknownError, WalrusError
from walrus.asyncio import AsyncDatabase
from walrus.asyncio.reconnect import AsyncWalrusRetry
from walrus.retry import WalrusRetry
from walrus.roundtrips import RoundTripCounter

NOWHERE = "redis://127.0.0.1:9/0"  # nothing listens there: options must fail before connecting
Outcome = tuple[Any, ...]


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A server of this test alone (its clients get killed and paused)."""
    started = start_redis_server("--hz", "50")
    try:
        yield started
    finally:
        started.stop()


def _outcome(value: Any, error: BaseException | None) -> Outcome:
    """What a caller sees: the value, or the error's kind, command and ``resent`` flag."""
    if error is None:
        return ("value", value)
    if isinstance(error, OutcomeUnknownError):
        return ("OutcomeUnknownError", error.command, error.resent)
    return (type(error).__name__, isinstance(error, redis.ConnectionError))


def _run_sync(call: Callable[[], Any]) -> Outcome:
    try:
        return _outcome(call(), None)
    except redis.RedisError as exc:
        return _outcome(None, exc)


async def _run_async(call: Callable[[], Awaitable[Any]]) -> Outcome:
    try:
        return _outcome(await call(), None)
    except redis.RedisError as exc:
        return _outcome(None, exc)


# -- a reply lost behind a proxy (the command ran) -------------------------------------------


def _dropped_sync(server: RedisServer, marker: bytes, call: Callable[[Database], Any]) -> Outcome:
    proxy = ReplyDropper(server)
    db = Database.from_url(f"redis://127.0.0.1:{proxy.port}/0", retries=2, retry_backoff=0.01)
    try:
        db.ping()  # connected through the proxy before the fault
        proxy.drop_reply_to(marker)
        outcome = _run_sync(lambda: call(db))
        assert proxy.wait_dropped(), "the proxy never saw the command"
        return outcome
    finally:
        db.close()
        proxy.close()


def _dropped_async(
    server: RedisServer, marker: bytes, call: Callable[[AsyncDatabase], Awaitable[Any]]
) -> Outcome:
    async def main() -> Outcome:
        proxy = ReplyDropper(server)
        db = AsyncDatabase.from_url(
            f"redis://127.0.0.1:{proxy.port}/0", retries=2, retry_backoff=0.01
        )
        try:
            await db.ping()
            proxy.drop_reply_to(marker)
            outcome = await _run_async(lambda: call(db))
            assert proxy.wait_dropped(), "the proxy never saw the command"
            return outcome
        finally:
            await db.aclose()
            proxy.close()

    return asyncio.run(main())


def test_lost_reply_of_incr_is_outcome_unknown_and_applied_once(server: RedisServer) -> None:
    raw = server.client()
    try:
        outcome = _dropped_async(server, b"INCR", lambda db: db.incr("n"))
        assert outcome == ("OutcomeUnknownError", "INCRBY", False)  # not resent
        assert raw.get("n") == b"1"  # it ran, exactly once
        assert _dropped_sync(server, b"INCR", lambda db: db.incr("n")) == outcome
        assert raw.get("n") == b"2"
    finally:
        raw.close()


def test_the_error_is_walrus_and_redis_py_kind(server: RedisServer) -> None:
    async def main() -> BaseException:
        proxy = ReplyDropper(server)
        db = AsyncDatabase.from_url(f"redis://127.0.0.1:{proxy.port}/0", retry_backoff=0)
        try:
            await db.ping()
            proxy.drop_reply_to(b"INCR")
            with pytest.raises(OutcomeUnknownError) as raised:
                await db.incr("n")
            return raised.value
        finally:
            await db.aclose()
            proxy.close()

    error = asyncio.run(main())
    assert isinstance(error, redis.ConnectionError) and isinstance(error, WalrusError)
    assert "INCRBY" in str(error) and "may or may not" in str(error)


def test_resent_write_whose_resends_fail_is_outcome_unknown(server: RedisServer) -> None:
    """SET is resent after its lost reply; the proxy then refuses every resend: the first
    attempt was applied, so a plain ConnectionError would report a success as a failure."""
    raw = server.client()
    try:
        outcome = _dropped_async(server, b"SET", lambda db: db.set("k", "v"))
        assert outcome == ("OutcomeUnknownError", "SET", True)
        assert raw.get("k") == b"v"
        assert _dropped_sync(server, b"SET", lambda db: db.set("k", "w")) == outcome
    finally:
        raw.close()


def test_resent_read_whose_resends_fail_stays_a_connection_error(server: RedisServer) -> None:
    raw = server.client()
    raw.set("k", "v")
    raw.close()
    outcome = _dropped_async(server, b"GET", lambda db: db.get("k"))
    assert outcome == ("ConnectionError", True)
    assert _dropped_sync(server, b"GET", lambda db: db.get("k")) == outcome


def test_lost_read_reply_is_resent_once_the_server_is_back(server: RedisServer) -> None:
    """The proxy drops a GET's reply and refuses connections for a while; the resends wait
    with backoff and the read succeeds on a fresh connection."""

    async def main() -> tuple[Any, Any]:
        proxy = ReplyDropper(server)
        db = AsyncDatabase.from_url(
            f"redis://127.0.0.1:{proxy.port}/0",
            retries=40,
            retry_backoff=0.01,
            retry_backoff_cap=0.02,
        )
        try:
            await db.set("k", "v")
            proxy.drop_reply_to(b"GET")

            def reopen() -> None:
                assert proxy.wait_dropped()
                time.sleep(0.05)  # a few resends are refused first
                proxy.reopen()

            reopening = asyncio.ensure_future(asyncio.to_thread(reopen))
            value = await db.get("k")
            await reopening
            return value, await db.incr("after")  # the client keeps working
        finally:
            await db.aclose()
            proxy.close()

    assert asyncio.run(main()) == (b"v", 1)


# -- CLIENT KILL from a second client --------------------------------------------------------


def _kill_others(server: RedisServer) -> int:
    raw = server.client()
    try:
        return int(raw.client_kill_filter(_type="normal", skipme=True))
    finally:
        raw.close()


def _blocked_read_killed_sync(server: RedisServer, **options: Any) -> Outcome:
    db = Database.from_url(server.url(0), **options)
    result: dict[str, Outcome] = {}
    thread = threading.Thread(
        target=lambda: result.setdefault(
            "o", _run_sync(lambda: _entries(db.xread({"s": "$"}, block=3000)))
        )
    )
    try:
        db.ping()
        thread.start()
        time.sleep(0.2)  # XREAD BLOCK is waiting inside the server
        assert _kill_others(server) >= 1
        time.sleep(0.3)  # resent (or failed): a resent XREAD waits again
        _add_entry(server)
        thread.join(5)
        return result["o"]
    finally:
        db.close()


def _blocked_read_killed_async(server: RedisServer, **options: Any) -> Outcome:
    async def main() -> Outcome:
        db = AsyncDatabase.from_url(server.url(0), **options)
        try:
            await db.ping()

            async def read() -> Any:
                return _entries(await db.xread({"s": "$"}, block=3000))

            reading = asyncio.ensure_future(_run_async(read))
            await asyncio.sleep(0.2)
            assert _kill_others(server) >= 1
            await asyncio.sleep(0.3)
            _add_entry(server)
            return await reading
        finally:
            await db.aclose()

    return asyncio.run(main())


def _entries(reply: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
    return [(stream, fields) for stream, items in reply for _, fields in items]


def _add_entry(server: RedisServer) -> None:
    raw = server.client()
    try:
        raw.xadd("s", {"f": "v"})
    finally:
        raw.close()


def test_read_is_resent_after_its_connection_was_killed(server: RedisServer) -> None:
    outcome = _blocked_read_killed_async(server)
    assert outcome == ("value", [(b"s", {b"f": b"v"})])  # no error: the XREAD was resent
    assert _blocked_read_killed_sync(server) == outcome


def test_retries_0_raises_the_connection_error(server: RedisServer) -> None:
    outcome = _blocked_read_killed_async(server, retries=0)
    assert outcome == ("ConnectionError", True)  # a plain one: a read applies nothing
    assert _blocked_read_killed_sync(server, retries=0) == outcome


def _paused_then_killed_async(
    server: RedisServer, call: Callable[[AsyncDatabase], Awaitable[Any]], **options: Any
) -> Outcome:
    """Run ``call`` while the server holds writes (sent, not answered), then kill its
    connection: the reply is lost, the command did not run."""

    async def main() -> Outcome:
        db = AsyncDatabase.from_url(server.url(0), **options)
        raw = server.client()
        try:
            await db.ping()
            raw.client_pause(600, all=False)  # WRITE mode: reads and CLIENT KILL still run
            running = asyncio.ensure_future(_run_async(lambda: call(db)))
            await asyncio.sleep(0.2)
            raw.client_kill_filter(_type="normal", skipme=True)
            return await running
        finally:
            raw.close()
            await db.aclose()

    return asyncio.run(main())


def _paused_then_killed_sync(
    server: RedisServer, call: Callable[[Database], Any], **options: Any
) -> Outcome:
    db = Database.from_url(server.url(0), **options)
    raw = server.client()
    result: dict[str, Outcome] = {}
    thread = threading.Thread(target=lambda: result.setdefault("o", _run_sync(lambda: call(db))))
    try:
        db.ping()
        raw.client_pause(600, all=False)
        thread.start()
        time.sleep(0.2)
        raw.client_kill_filter(_type="normal", skipme=True)
        thread.join(10)
        return result["o"]
    finally:
        raw.close()
        db.close()


def test_idempotent_write_is_resent(server: RedisServer) -> None:
    outcome = _paused_then_killed_async(server, lambda db: db.set("k", "v", ex=60))
    assert outcome == ("value", True)
    assert _paused_then_killed_sync(server, lambda db: db.set("k", "v", ex=60)) == outcome


def test_lost_transaction_and_read_pipeline(server: RedisServer) -> None:
    async def transaction(db: AsyncDatabase) -> Any:
        async with db.pipeline(transaction=True) as pipe:
            return await pipe.incr("t").get("r").execute()

    def sync_transaction(db: Database) -> Any:
        with db.pipeline(transaction=True) as pipe:
            return pipe.incr("t").get("r").execute()

    outcome = _paused_then_killed_async(server, transaction)
    assert outcome == ("OutcomeUnknownError", "MULTI/EXEC [INCRBY, GET]", False)
    assert _paused_then_killed_sync(server, sync_transaction) == outcome

    async def writes_and_reads(db: AsyncDatabase) -> Any:
        async with db.pipeline(transaction=False) as pipe:
            return await pipe.set("s", "x").get("s").hgetall("none").execute()

    outcome = _paused_then_killed_async(server, writes_and_reads)
    assert outcome == ("value", [True, b"x", {}])


def test_write_script_is_resent_with_request_ids(server: RedisServer) -> None:
    def script(key: str) -> Callable[[Any], Any]:
        return lambda db: db.run_script("cache_incr", [key], [1, 0])

    outcome = _paused_then_killed_async(server, script("a"))
    assert outcome == ("OutcomeUnknownError", "EVAL cache_incr", False)
    assert _paused_then_killed_sync(server, script("c")) == outcome
    with_ids = _paused_then_killed_async(server, script("b"), request_ids=True)
    assert with_ids == ("value", 1)  # resent, and run once
    assert _paused_then_killed_sync(server, script("d"), request_ids=True) == with_ids
    raw = server.client()
    try:
        assert [raw.get(k) for k in "abcd"] == [None, b"1", None, b"1"]
    finally:
        raw.close()


def test_kill_between_operations_surfaces_nothing_at_the_same_cost(server: RedisServer) -> None:
    """Connections the server closed while pooled are replaced before a command is written,
    even with resending off, at the sync client's round trips."""

    async def main() -> list[int]:
        db = AsyncDatabase.from_url(server.url(0), retries=0)
        costs = []
        try:
            await asyncio.gather(*(db.ping() for _ in range(4)))  # 4 pooled connections
            for step in range(5):
                assert _kill_others(server) >= 1
                await asyncio.sleep(0.01)
                with RoundTripCounter() as rt:
                    assert await db.incr("n") == step + 1
                    assert await db.get("n") == str(step + 1).encode()
                costs.append(rt.count)
        finally:
            await db.aclose()
        return costs

    costs = asyncio.run(main())
    sync_db = Database.from_url(server.url(0), retries=0)
    sync_costs = []
    try:
        for step in range(5):
            sync_db.ping()
            assert _kill_others(server) >= 1
            time.sleep(0.01)
            with RoundTripCounter() as rt:
                assert sync_db.incr("m") == step + 1
                assert sync_db.get("m") == str(step + 1).encode()
            sync_costs.append(rt.count)
    finally:
        sync_db.close()
    assert costs == sync_costs == [2] * 5


# -- options ---------------------------------------------------------------------------------


def _retry(db: Any) -> Any:
    return db.connection_pool.connection_kwargs["retry"]


def _policy(retry: Any) -> tuple[Any, ...]:
    return (retry._retries, type(retry._backoff).__name__, vars(retry._backoff))


def test_options_and_defaults_match_the_sync_client() -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        (NOWHERE, {}),
        (NOWHERE, {"retries": 7, "retry_backoff": 0, "request_ids": True}),
        (NOWHERE + "?retries=2&retry_backoff=0.1&request_ids=yes&socket_timeout=3", {}),
        (NOWHERE + "?retries=2", {"retries": 5}),  # keyword arguments win
        (NOWHERE, {"retry": Retry(ConstantBackoff(0.2), 4)}),
        ("redis+sentinel://127.0.0.1:9/mymaster/0?retries=6&retry_backoff_cap=2", {}),
        ("unix:///tmp/nowhere.sock?db=1", {"retries": 1}),
    ]
    for url, options in cases:
        sync_db = Database.from_url(url, **options)
        db = AsyncDatabase.from_url(url, **options)
        assert isinstance(_retry(db), AsyncWalrusRetry) and isinstance(_retry(sync_db), WalrusRetry)
        assert _policy(_retry(db)) == _policy(_retry(sync_db)), url
        assert db.request_ids == sync_db.request_ids, url
        base = sync_db.connection_pool.connection_class.__name__
        assert db.connection_pool.connection_class.__name__ == base, url  # Walrus<Connection>
        sync_db.close()
        asyncio.run(db.aclose())
    # redis.asyncio's own Retry is accepted too (its backoff and count kept), and host=...
    db = AsyncDatabase.from_url(NOWHERE, retry=AsyncRetry(ConstantBackoff(0.2), 4))
    assert isinstance(_retry(db), AsyncWalrusRetry) and _retry(db)._retries == 4
    built = AsyncDatabase(host="127.0.0.1", port=9, retries=1, request_ids=True)
    sync_built = Database(host="127.0.0.1", port=9, retries=1, request_ids=True)
    assert _policy(_retry(built)) == _policy(_retry(sync_built)) and built.request_ids
    default = AsyncDatabase(host="127.0.0.1", port=9)
    assert _policy(_retry(default)) == _policy(_retry(Database(host="127.0.0.1", port=9)))
    assert _retry(default)._retries == 3 and not default.request_ids
    for client in (db, built, default):
        asyncio.run(client.aclose())
    sync_built.close()


def test_memory_accepts_and_ignores_the_options_as_the_sync_client_does() -> None:
    async def main() -> None:
        for url, options in (
            ("memory://async-retry-options/0?retries=2", {"retry_backoff": 1}),
            ("memory://async-retry-options/0", {"retries": -1, "request_ids": True}),
        ):
            Database.from_url(url, **options).close()  # the sync client takes them
            db = AsyncDatabase.from_url(url, **options)
            try:
                assert db.is_embedded and not db.request_ids
                assert await db.incr("n") >= 1
            finally:
                await db.aclose()

    asyncio.run(main())


BAD = [
    ({"retries": -1}, NOWHERE, "retries must be >= 0"),
    ({"retries": 1.5}, NOWHERE, "retries must be an int"),
    ({"retries": True}, NOWHERE, "retries must be an int"),
    ({}, NOWHERE + "?retries=many", "retries must be an integer"),
    ({"retry_backoff": "slow"}, NOWHERE, "retry_backoff must be a number"),
    ({"retry_backoff_cap": -2}, NOWHERE, "retry_backoff_cap must be >= 0"),
    ({"request_ids": "maybe"}, NOWHERE, "request_ids must be True or False"),
    ({}, NOWHERE + "?request_ids=perhaps", "request_ids must be True or False"),
    ({"retry": Retry(ConstantBackoff(0), 1), "retries": 2}, NOWHERE, "either retry"),
    ({}, "redis+sentinel://127.0.0.1:9/mymaster?retries=-3", "retries must be >= 0"),
    ({"retry_backoff": -1}, "rediss://127.0.0.1:9/0", "retry_backoff must be >= 0"),
]


@pytest.mark.parametrize(("options", "url", "message"), BAD)
def test_bad_options_are_refused_before_connecting(
    options: dict[str, Any], url: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        AsyncDatabase.from_url(url, **options)
    with pytest.raises(ValueError) as sync_raised:
        Database.from_url(url, **options)
    assert str(raised.value) == str(sync_raised.value)  # the same words as the sync client
    if "?" not in url and "sentinel" not in url:
        with pytest.raises(ValueError, match=message):
            AsyncDatabase(host="127.0.0.1", port=9, **options)


def test_a_retry_that_is_not_a_retry_is_refused() -> None:
    with pytest.raises(ValueError, match=r"retry must be a redis\.asyncio\.retry\.Retry or "):
        AsyncDatabase.from_url(NOWHERE, retry=3)
    with pytest.raises(ValueError, match="got int"):
        AsyncDatabase(host="127.0.0.1", port=9, retry=3)


# -- the pieces an asyncio Redis Cluster client wires in ---------------------------------------


@pytest.mark.cluster
def test_cluster_wiring_tracks_node_connections(redis_cluster: Any) -> None:
    """How walrus.asyncio.cluster uses these pieces on redis-py's asyncio cluster client: its
    retry loop resends a SET whose reply was lost and raises OutcomeUnknownError for an
    INCR (it retries exactly ConnectionError and TimeoutError, not their subclasses)."""
    from redis.asyncio.cluster import ClusterNode, RedisCluster

    from walrus.asyncio.reconnect import pop_async_retry_options, track_cluster_connections

    class Cluster(RedisCluster):
        def __init__(self, **kwargs: Any) -> None:
            retry_kwargs, self.request_ids = pop_async_retry_options(kwargs)
            super().__init__(retry=retry_kwargs["retry"], **kwargs)
            track_cluster_connections(self)

    host, port = redis_cluster.host, redis_cluster.ports[0]

    async def main() -> tuple[Outcome, Outcome, Any]:
        db = Cluster(startup_nodes=[ClusterNode(host, port)], retries=2, retry_backoff=0.01)
        try:
            assert isinstance(db.retry, AsyncWalrusRetry) and db.retry._retries == 2
            await db.set("{w}k", "0")
            node = db.get_node_from_key("{w}k")
            assert all(type(c).__name__ == "WalrusConnection" for c in node._connections), (
                node._connections
            )
            outcomes = []
            for call in (lambda: db.set("{w}k", "v"), lambda: db.incr("{w}n")):
                raw = redis.Redis(host=node.host, port=node.port)
                raw.client_pause(600, all=False)
                running = asyncio.ensure_future(_run_async(call))
                await asyncio.sleep(0.2)
                raw.client_kill_filter(_type="normal", skipme=True)
                raw.client_unpause()
                raw.close()
                outcomes.append(await running)
            return outcomes[0], outcomes[1], await db.mget("{w}k", "{w}n")
        finally:
            await db.aclose()

    set_outcome, incr_outcome, values = asyncio.run(main())
    assert set_outcome == ("value", True)
    assert incr_outcome == ("OutcomeUnknownError", "INCRBY", False)
    assert values == [b"v", None]  # the INCR was held by the pause, and never resent


def test_a_lost_reply_in_one_task_never_changes_another_tasks_error(server: RedisServer) -> None:
    """Lost write replies are counted per task: task A's SET (reply lost, resends refused)
    is OutcomeUnknownError; task B's read, killed meanwhile in the same thread and event
    loop, stays a plain ConnectionError."""

    async def main() -> tuple[Outcome, Outcome]:
        proxy = ReplyDropper(server)
        a = AsyncDatabase.from_url(
            f"redis://127.0.0.1:{proxy.port}/0", retries=2, retry_backoff=0.01
        )
        b = AsyncDatabase.from_url(server.url(0), retries=0)
        try:
            await a.ping()
            await b.ping()
            reading = asyncio.ensure_future(_run_async(lambda: b.xread({"s": "$"}, block=3000)))
            await asyncio.sleep(0.1)  # B waits inside the server
            proxy.drop_reply_to(b"SET")
            writing = await _run_async(lambda: a.set("k", "v"))
            assert _kill_others(server) >= 1  # B's connection
            return writing, await reading
        finally:
            await a.aclose()
            await b.aclose()
            proxy.close()

    writing, reading = asyncio.run(main())
    assert writing == ("OutcomeUnknownError", "SET", True)
    assert reading == ("ConnectionError", True)
