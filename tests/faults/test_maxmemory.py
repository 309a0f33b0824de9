"""A full server (#25 part 3): with ``maxmemory`` small and ``noeviction``, every walrus write
script is refused before it runs (its ``#!lua`` flags), with
``redis.exceptions.OutOfMemoryError``, and the data is byte-for-byte what it was; reads and
read-only scripts still answer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support import fault_injectors as injectors
from tests.support.redis_server import RedisServer, start_redis_server
from walrus import Database, IntegerField, Model, TextField
from walrus.retry import script_flags

SCRIPTS = Path(__file__).resolve().parents[2] / "core" / "walrus" / "scripts"


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    started = start_redis_server("--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
    try:
        yield started
    finally:
        started.stop()


class Account(Model):
    name = TextField(index=True)
    score = IntegerField(index=True)


@pytest.fixture
def full(server: RedisServer) -> Iterator[tuple[Database, redis.Redis]]:
    raw = server.client()
    raw.flushall()
    db = Database.from_url(server.url(0))
    Account.__database__ = db
    Account.create(name="ann", score=3)
    db.Array("array").extend([b"a", b"b"])
    db.autocomplete().store("walrus house")
    injectors.fill_until_refused(db)
    yield db, raw
    raw.flushall()


def test_every_packaged_script_declares_its_flags() -> None:
    for path in sorted(SCRIPTS.glob("*.lua")):
        source = path.read_text(encoding="utf-8")
        flags = script_flags(source)
        assert flags is not None, f"{path.name} has no #!lua line"
        assert flags <= {"no-writes", "allow-oom"}, path.name
        assert "-- Flags:" in source.split("\n", 2)[1], f"{path.name} says why in its header"


def test_write_scripts_are_refused_and_nothing_is_written(
    full: tuple[Database, redis.Redis],
) -> None:
    db, raw = full
    before = injectors.dump_keys(raw)
    lock = db.lock("job", ttl=10_000)
    refused = {
        "Model.create": lambda: Account.create(name="bob", score=4),
        "Model.save": lambda: _rename(Account.load(1)),
        "script cache incr": lambda: db.cache("c", serializer="json").incr("hits"),
        "cache set": lambda: db.cache("c", serializer="json").set("k", 1),
        "rate limit": lambda: db.rate_limit("rl", limit=5, per=60).limit("user"),
        "lock acquire": lambda: lock.acquire(block=True, timeout=0.05),
        "lock script": lambda: db.run_script("lock_acquire", keys=["lock:x"], args=["token", 1000]),
        "cas": lambda: db.cas("fill:20000:0", "x", "y"),
        "array append": lambda: db.Array("array").append(b"c"),
        "autocomplete store": lambda: db.autocomplete().store("other entry"),
    }
    for label, call in refused.items():
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            call()
        assert injectors.dump_keys(raw) == before, f"{label} wrote something"


def _rename(account: Any) -> None:
    account.name = "renamed"
    account.save()


def test_reads_and_read_only_scripts_still_answer(full: tuple[Database, redis.Redis]) -> None:
    db, raw = full
    before = injectors.dump_keys(raw)
    assert Account.load(1).name == "ann"
    assert [a.name for a in Account.query(Account.score == 3)] == ["ann"]  # model_query (allow-oom)
    assert db.Array("array")[1] == b"b" and list(db.Array("array")) == [b"a", b"b"]  # no-writes
    assert db.autocomplete().search("wal") == ["walrus house"]
    assert db.get("fill:20000:0") == b"x" * 20_000
    assert injectors.dump_keys(raw) == before


def test_a_script_without_flags_would_have_written(full: tuple[Database, redis.Redis]) -> None:
    """Why the flags matter: an unflagged script is checked only at its first write command
    that is refused under OOM; a DEL first lets everything after it through."""
    db, raw = full
    unflagged = "redis.call('DEL', KEYS[2]) return redis.call('SET', KEYS[1], ARGV[1])"
    assert db.eval(unflagged, 2, "sneaked", "nothing", "v")
    assert raw.get("sneaked") == b"v"
    # full again: the server frees client buffers in the background (clientsCron), which can
    # bring it back under the limit between two commands
    injectors.fill_until_refused(raw)
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        db.eval("#!lua\n" + unflagged, 2, "sneaked2", "nothing", "v")
    assert raw.get("sneaked2") is None
