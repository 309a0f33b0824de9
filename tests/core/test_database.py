"""Database: construction, scripts, keyspace helpers, atomic()."""

from __future__ import annotations

import gc
import ssl
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis

from walrus import Database, Stream
from walrus.containers.streams import StreamIdError, StreamNotFoundError
from walrus.embedded import reset_memory_server
from walrus.exceptions import ScriptNotFound
from walrus.roundtrips import RoundTripCounter


def test_from_url_memory_shares_named_server() -> None:
    a = Database.from_url("memory://shared-test/2")
    b = Database.from_url("memory://shared-test/2")
    c = Database.from_url("memory://shared-test/3")
    a.set("k", "v")
    assert b.get("k") == b"v"
    assert c.get("k") is None
    assert a.is_embedded


def test_from_url_rejects_unknown_scheme() -> None:
    with pytest.raises(ValueError, match="unsupported URL scheme 'http'"):
        Database.from_url("http://localhost")
    with pytest.raises(ValueError, match="database must be an integer"):
        Database.from_url("memory://x/notanumber")


def test_from_url_redis(redis_server) -> None:
    database = Database.from_url(redis_server.url(9))
    assert database.ping()
    assert not database.is_embedded


def test_from_url_rediss_builds_an_ssl_pool_without_connecting() -> None:
    # Only the pool is built: nothing is contacted (nothing listens on loopback port 9).
    database = Database.from_url(
        "rediss://:secret@127.0.0.1:9/4?ssl_cert_reqs=none", socket_timeout=2
    )
    pool = database.connection_pool
    assert issubclass(pool.connection_class, redis.SSLConnection)  # walrus.retry subclass
    kwargs = pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("127.0.0.1", 9, 4)
    assert kwargs["password"] == "secret" and kwargs["socket_timeout"] == 2
    assert pool._created_connections == 0  # type: ignore[attr-defined]
    # Building a connection object does not connect either; it carries the TLS settings.
    connection = pool.make_connection()
    assert isinstance(connection, redis.SSLConnection)
    assert connection.cert_reqs == ssl.CERT_NONE
    assert connection._sock is None  # type: ignore[attr-defined]
    assert not database.is_embedded
    database.close()


# redis-py 5.0 (the oldest supported) leaves the socket of a failed unix:// connect open; later
# releases close it. Only that third-party warning is let through, and only here.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
def test_from_url_unix_socket_builds_a_socket_pool_without_connecting(tmp_path: Path) -> None:
    socket_path = tmp_path / "redis.sock"  # nothing listens there
    database = Database.from_url(f"unix://{socket_path}?db=3", client_name="walrus-test")
    pool = database.connection_pool
    assert issubclass(pool.connection_class, redis.UnixDomainSocketConnection)
    kwargs = pool.connection_kwargs
    assert kwargs["path"] == str(socket_path)
    assert kwargs["db"] == 3 and kwargs["client_name"] == "walrus-test"
    assert pool._created_connections == 0  # type: ignore[attr-defined]
    with pytest.raises(redis.ConnectionError):
        database.ping()  # proves the path is the one used: nothing listens there
    database.close()
    gc.collect()  # redis-py 5.0's leaked socket warns here, where it is let through


def test_unix_socket_url_keeps_its_path_with_reconnection_options(tmp_path: Path) -> None:
    """walrus's options in a unix:// query string are taken out without losing the socket
    path (the URL's empty authority must survive), for the sync and the asyncio client."""
    from walrus.asyncio import AsyncDatabase

    socket_path = tmp_path / "redis.sock"
    url = f"unix://{socket_path}?db=2&retries=5&request_ids=true"
    database = Database.from_url(url)
    kwargs = database.connection_pool.connection_kwargs
    assert kwargs["path"] == str(socket_path) and kwargs["db"] == 2
    assert kwargs["retry"]._retries == 5 and database.request_ids is True
    database.close()
    async_database = AsyncDatabase.from_url(url)
    kwargs = async_database.connection_pool.connection_kwargs
    assert kwargs["path"] == str(socket_path) and kwargs["db"] == 2
    assert kwargs["retry"]._retries == 5 and async_database.request_ids is True


def _script_dir(tmp_path: Path) -> Path:
    (tmp_path / "triple.lua").write_text("return tonumber(ARGV[1]) * 3")
    return tmp_path


def test_from_url_passes_script_dir_to_redis_database(redis_url: str, tmp_path: Path) -> None:
    database = Database.from_url(redis_url, script_dir=_script_dir(tmp_path))
    try:
        assert database.script_dir == tmp_path
        assert database.run_script("triple", args=[14]) == 42
        database.set("k", "a")
        assert database.cas("k", "a", "b")  # packaged scripts are still found
    finally:
        database.close()


def test_from_url_passes_script_dir_to_memory_database(tmp_path: Path) -> None:
    name = f"script-dir-{uuid.uuid4().hex}"
    database = Database.from_url(f"memory://{name}/0", script_dir=_script_dir(tmp_path))
    try:
        assert database.is_embedded and database.script_dir == tmp_path
        assert database.run_script("triple", args=[14]) == 42
    finally:
        database.close()
        reset_memory_server(name)


def test_cas(db: Database) -> None:
    assert db.cas("k", "a", "b") is False
    assert db.get("k") is None
    db.set("k", "a", ex=100)
    assert db.cas("k", "x", "b") is False
    assert db.get("k") == b"a"
    assert db.cas("k", "a", "b") is True
    assert db.get("k") == b"b"
    assert db.ttl("k") > 0


def test_run_script_survives_script_flush(db: Database) -> None:
    db.set("k", "a")
    assert db.cas("k", "a", "b")
    db.script_flush()
    assert db.cas("k", "b", "c")
    assert db.get("k") == b"c"


def test_run_script_costs_one_round_trip_once_loaded(db: Database) -> None:
    db.set("k", "a")
    db.cas("k", "a", "b")
    with RoundTripCounter() as rt:
        db.cas("k", "b", "c")
    assert rt.count == 1


def test_run_script_unknown_name(db: Database) -> None:
    with pytest.raises(ScriptNotFound, match="no Lua script named 'nope'"):
        db.run_script("nope")


def test_script_dir_override(db: Database, tmp_path) -> None:
    (tmp_path / "double.lua").write_text("return tonumber(ARGV[1]) * 2")
    custom = Database(connection_pool=db.connection_pool, script_dir=tmp_path)
    assert custom.run_script("double", args=[21]) == 42
    # Packaged scripts are still found.
    custom.set("k", "a")
    assert custom.cas("k", "a", "z")


def test_run_script_in_pipeline(db: Database) -> None:
    db.set("k", "a")
    pipe = db.pipeline()
    db.run_script("cas", keys=["k"], args=["a", "b"], client=pipe)
    pipe.get("k")
    assert pipe.execute() == [1, b"b"]


def test_temp_key_unique(db: Database) -> None:
    keys = {db.get_temp_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(k.startswith("temp.") for k in keys)


def test_iter_and_search(db: Database) -> None:
    for i in range(30):
        db.set(f"user:{i}", i)
    db.set("other", 1)
    assert sorted(db.search("user:*")) == sorted(f"user:{i}".encode() for i in range(30))
    assert len(set(db)) == 31


def test_get_key(db: Database) -> None:
    db.hset("h", "a", 1)
    db.rpush("l", 1)
    db.sadd("s", 1)
    db.zadd("z", {"a": 1})
    db.set("str", "v")
    assert type(db.get_key("h")).__name__ == "Hash"
    assert type(db.get_key("l")).__name__ == "List"
    assert type(db.get_key("s")).__name__ == "Set"
    assert type(db.get_key("z")).__name__ == "ZSet"
    assert db.get_key("str") == b"v"
    db.xadd("stream", {"f": "v"}, id="7-0")
    stream = db.get_key("stream")
    assert type(stream) is Stream and stream.key == "stream"
    assert stream.range() == [(b"7-0", {b"f": b"v"})]
    with pytest.raises(KeyError):
        db.get_key("missing")
    with pytest.raises(KeyError):
        db["missing"]


def test_atomic_commits_on_exit_and_discards_on_error(db: Database) -> None:
    with db.atomic() as pipe:
        assert db.pipe is pipe.pipe  # the atomic object, as upstream; .pipe is its pipeline
        assert db._transaction_local.pipe is pipe.pipe
        pipe.set("a", 1)
        pipe.set("b", 2)
        assert db.get("a") is None
    assert db.pipe is None
    assert db.mget("a", "b") == [b"1", b"2"]

    with pytest.raises(RuntimeError):
        with db.atomic() as pipe:
            pipe.set("c", 3)
            raise RuntimeError("boom")
    assert db.get("c") is None
    assert db.pipe is None


def test_atomic_nests(db: Database) -> None:
    with db.atomic() as outer:
        outer.set("outer", 1)
        with db.atomic() as inner:
            assert db.pipe is inner.pipe
            inner.set("inner", 1)
        assert db.get("inner") == b"1"
        assert db.pipe is outer.pipe
        assert db.get("outer") is None
    assert db.get("outer") == b"1"


def test_xsetid(db: Database) -> None:
    db.xadd("s", {"a": 1}, id="5-0")
    assert db.xsetid("s", "10-0")
    assert db.xinfo_stream("s")["last-generated-id"] in (b"10-0", "10-0")


def test_xsetid_errors_match_on_every_backend(db: Database) -> None:
    # Real Redis answers "ERR no such key"; the memory:// engine now says the same, so both
    # raise StreamNotFoundError (a KeyError and a ResponseError) and create nothing.
    with pytest.raises(StreamNotFoundError, match="'missing' does not exist") as info:
        db.xsetid("missing", "10-0")
    assert isinstance(info.value, KeyError) and isinstance(info.value, redis.ResponseError)
    with pytest.raises(StreamNotFoundError):
        db.Stream("missing").set_id("10-0")
    assert db.exists("missing") == 0
    db.xadd("s", {"a": 1}, id="5-0")
    with pytest.raises(StreamIdError, match="refused"):
        db.xsetid("s", "4-0")  # below the newest entry
    with pytest.raises(StreamIdError):
        db.xsetid("s", "not-an-id")
    assert db.xinfo_stream("s")["last-generated-id"] in (b"5-0", "5-0")


def test_scripts_cost_one_round_trip_even_on_first_use(db: Database) -> None:
    with RoundTripCounter() as rt:
        db.set("k", "a")
        assert db.cas("k", "a", "b") is True
    assert rt.count == 2
    db.script_flush()
    with RoundTripCounter() as rt:
        assert db.cas("k", "b", "c") is True  # forgotten by the server: EVALSHA, then EVAL
    assert rt.count == 2
    with RoundTripCounter() as rt:
        assert db.cas("k", "c", "d") is True
    assert rt.count == 1
    pipe = db.pipeline()
    db.run_script("cas", keys=["k"], args=["d", "e"], client=pipe)
    with RoundTripCounter() as rt:
        assert pipe.execute() == [1]
    assert rt.count == 1


def test_a_script_line_include_is_replaced_by_the_packaged_helper(
    redis_url: str, tmp_path: Path
) -> None:
    """``--@include <helper>`` expands to ``<helper>.luainc``; an unknown helper is named."""
    (tmp_path / "grow.lua").write_text(
        "--@include variadic_call\n"
        "local call = {'SADD', KEYS[1]}\n"
        "for i = 1, tonumber(ARGV[1]) do call[#call + 1] = 'm' .. i end\n"
        "return call_variadic(call)\n"
    )
    (tmp_path / "broken.lua").write_text("--@include no_such_helper\nreturn 1\n")
    database = Database.from_url(redis_url, script_dir=tmp_path)
    try:
        database.delete("grown")
        # 9,000 members: one SADD would exceed Lua's unpack() limit; the helper splits it
        assert database.run_script("grow", keys=["grown"], args=[9000]) == 9000
        assert database.scard("grown") == 9000
        with pytest.raises(ValueError, match="'broken' includes 'no_such_helper'"):
            database.run_script("broken")
    finally:
        database.delete("grown")
        database.close()


@pytest.mark.parametrize("request_ids", [False, True])
def test_a_client_dropped_after_running_scripts_closes_its_sockets_at_once(
    redis_url: str, request_ids: bool
) -> None:
    """A Database nobody closed is freed (and its pool disconnected) when its last reference
    goes, scripts run or not: no reference cycle leaves its sockets open until the garbage
    collector runs (which, finalizing a cycle in no set order, may warn of an unclosed socket)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        database = Database.from_url(redis_url, request_ids=request_ids)
        database.run_script("cache_incr", keys=["dropped"], args=[1, 0])
        database.rate_limit("dropped-rl", limit=10, per=60).limit("user")
        script = database.get_script("cache_incr")
        (connection,) = database.connection_pool._available_connections
        sock = connection._sock
        assert sock is not None and sock.fileno() != -1
        del database, connection
        assert sock.fileno() == -1  # closed by the pool, without a collection
        with pytest.raises(ReferenceError):  # a script does not keep its client alive
            script(keys=["dropped"], args=[1, 0])
    finally:
        if enabled:
            gc.enable()


def _wrong_type_reply(database: Database) -> None:
    database.set("plain", "x")
    with pytest.raises(redis.ResponseError):
        database.lpush("plain", 1)


def _script_forgotten(database: Database) -> None:
    database.run_script("cache_incr", keys=["n"], args=[1, 0])
    database.script_flush()
    assert database.run_script("cache_incr", keys=["n"], args=[1, 0]) == 2  # NOSCRIPT, then EVAL


def _container_wrong_type(database: Database) -> None:
    from walrus.containers.errors import WrongTypeError

    database.set("plain", "x")
    with pytest.raises(WrongTypeError):
        database.List("plain").append(1)


@pytest.mark.parametrize("fail", [_wrong_type_reply, _script_forgotten, _container_wrong_type])
def test_an_error_on_the_way_leaves_no_cycle_holding_the_client(redis_url: str, fail: Any) -> None:
    """An error reply raised (or handled) inside walrus does not leave a frame<->traceback
    cycle referring to the client: dropped afterwards, it closes its sockets at once."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        database = Database.from_url(redis_url)
        fail(database)
        (connection,) = database.connection_pool._available_connections
        sock = connection._sock
        assert sock is not None
        del database, connection
        assert sock.fileno() == -1
    finally:
        if enabled:
            gc.enable()
