"""Database: construction, scripts, keyspace helpers, atomic()."""

from __future__ import annotations

import pytest

from walrus import Database
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
    with pytest.raises(KeyError):
        db.get_key("missing")
    with pytest.raises(KeyError):
        db["missing"]


def test_atomic_commits_on_exit_and_discards_on_error(db: Database) -> None:
    with db.atomic() as pipe:
        assert db.pipe is pipe
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
            assert db.pipe is inner
            inner.set("inner", 1)
        assert db.get("inner") == b"1"
        assert db.pipe is outer
        assert db.get("outer") is None
    assert db.get("outer") == b"1"


def test_xsetid(db: Database) -> None:
    db.xadd("s", {"a": 1}, id="5-0")
    assert db.xsetid("s", "10-0")
    assert db.xinfo_stream("s")["last-generated-id"] in (b"10-0", "10-0")


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
