"""The memory:// engine keeps compiled scripts: same results and errors as compiling every call."""

from __future__ import annotations

import uuid

import pytest
import redis

from walrus import Database


def memory_db() -> Database:
    return Database.from_url(f"memory://scripts-{uuid.uuid4().hex}")


def test_memory_scripts_run_many_times_with_fresh_keys_and_args() -> None:
    db = memory_db()
    script = db.register_script(
        "redis.call('SET', KEYS[1], ARGV[1]) return {KEYS[1], ARGV[1], #ARGV}"
    )
    for i in range(300):  # past the full-collection period
        assert script(keys=[f"k{i}"], args=[i]) == [f"k{i}".encode(), str(i).encode(), 1]
    assert db.get("k299") == b"299"


def test_memory_script_errors_are_unchanged() -> None:
    db = memory_db()
    with pytest.raises(redis.ResponseError):
        db.eval("return +", 0)  # a syntax error, every time
    with pytest.raises(redis.ResponseError):
        db.eval("return +", 0)
    with pytest.raises(redis.ResponseError, match="global"):
        db.eval("leaked = 1 return 1", 0)
    with pytest.raises(redis.ResponseError, match="global"):
        db.eval("leaked = 1 return 1", 0)
    assert db.eval("return redis.error_reply('no') and 1", 0) == 1
    with pytest.raises(redis.ResponseError, match="no"):
        db.eval("return redis.error_reply('no')", 0)


def test_memory_edited_script_runs_its_new_source() -> None:
    db = memory_db()
    assert db.eval("return 1", 0) == 1
    assert db.eval("return 2", 0) == 2
    sha = db.script_load("return 3")
    db.script_flush()
    with pytest.raises(redis.exceptions.NoScriptError):
        db.evalsha(sha, 0)
    assert db.eval("#!lua flags=no-writes\nreturn 4", 0) == 4
