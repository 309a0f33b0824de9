"""The memory:// engine's fast script path (walrus.embedded_scripts) and its unparsed commands
(walrus.embedded_commands): the same replies and errors as fakeredis' generic path (a plain
fakeredis client on its own server) and, where fakeredis agrees with it, as the real server,
on the same data: binary values, missing, expired and wrong-typed keys, bad arguments."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import fakeredis
import pytest
import redis

from walrus import Database
from walrus.embedded import EMBEDDED_VERSION
from walrus.roundtrips import RoundTripCounter

BINARY = b"v\x00\xff\r\n end"

SEED = """
redis.call('SET', 's', ARGV[1])
redis.call('SET', 'n', '41')
redis.call('HSET', 'h', 'f', '1', 'g', ARGV[1])
redis.call('SADD', 'st', 'a', 'b', ARGV[1])
redis.call('ZADD', 'z', 1, 'a', 2.5, 'b', 3, ARGV[1])
redis.call('RPUSH', 'l', 'x', 'y')
redis.call('SET', 'gone', 'soon', 'PX', 1)
redis.call('HSET', 'hgone', 'f', 'soon')
redis.call('PEXPIRE', 'hgone', 1)
return 1
"""

# (id, script, keys, args, compared with): "both" fakeredis' generic path and the real server;
# "generic" only fakeredis (the real server's wording differs, or the case is fakeredis'
# own); "real" only the real server (fakeredis' generic path fails there with a Python
# error or lacks the feature, and the fast path answers as Redis does).
CASES: list[tuple[str, str, list[str], list[Any], str]] = [
    ("get-binary", "return redis.call('GET', KEYS[1])", ["s"], [], "both"),
    ("get-missing", "return redis.call('GET', KEYS[1])", ["nope"], [], "both"),
    ("get-expired", "return redis.call('GET', KEYS[1])", ["gone"], [], "both"),
    ("get-wrongtype", "return redis.call('GET', KEYS[1])", ["h"], [], "both"),
    ("get-lowercase", "return redis.call('get', KEYS[1])", ["s"], [], "both"),
    ("get-mixedcase", "return redis.call('GeT', KEYS[1])", ["s"], [], "both"),
    ("set-status", "return redis.call('SET', KEYS[1], ARGV[1])", ["k"], [BINARY], "both"),
    (
        "set-options",
        "local old = redis.call('SET', KEYS[1], ARGV[1], 'PX', 100000, 'GET') "
        "return {old, redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]) > 0}",
        ["s"],
        [b"new\x00"],
        "both",
    ),
    (
        "set-nx-existing",
        "return tostring(redis.call('SET', KEYS[1], 'x', 'NX'))",
        ["s"],
        [],
        "both",
    ),
    (
        "set-drops-ttl",
        "redis.call('SET', KEYS[1], 'a', 'EX', 100) redis.call('SET', KEYS[1], 'b') "
        "return redis.call('TTL', KEYS[1])",
        ["k"],
        [],
        "both",
    ),
    (
        "set-lua-numbers",
        "redis.call('SET', KEYS[1], 3.5) redis.call('SET', KEYS[2], 10) "
        "redis.call('SET', KEYS[3], 1e20) "
        "return redis.call('MGET', KEYS[1], KEYS[2], KEYS[3])",
        ["a", "b", "c"],
        [],
        "both",
    ),
    ("set-syntax", "return redis.call('SET', KEYS[1], 'v', 'EX')", ["k"], [], "both"),
    ("set-on-expired-as-set", "return redis.call('SADD', KEYS[1], 'x')", ["gone"], [], "both"),
    (
        "incr",
        "return {redis.call('INCR', KEYS[1]), redis.call('INCRBY', KEYS[1], 5)}",
        ["n"],
        [],
        "both",
    ),
    ("incr-missing", "return redis.call('INCR', KEYS[1])", ["nope"], [], "both"),
    ("incr-expired", "return redis.call('INCR', KEYS[1])", ["gone"], [], "both"),
    ("incr-not-number", "return redis.call('INCR', KEYS[1])", ["s"], [], "both"),
    ("incrby-bad-arg", "return redis.call('INCRBY', KEYS[1], 'x')", ["n"], [], "both"),
    ("incr-wrongtype", "return redis.call('INCR', KEYS[1])", ["h"], [], "both"),
    ("incrbyfloat", "return redis.call('INCRBYFLOAT', KEYS[1], '0.25')", ["n"], [], "both"),
    (
        "hash-reads",
        "return {redis.call('HGET', KEYS[1], 'g'), redis.call('HGET', KEYS[1], 'nope'), "
        "redis.call('HLEN', KEYS[1]), redis.call('HEXISTS', KEYS[1], 'f')}",
        ["h"],
        [],
        "both",
    ),
    ("hgetall", "return redis.call('HGETALL', KEYS[1])", ["h"], [], "both"),
    ("hgetall-missing", "return redis.call('HGETALL', KEYS[1])", ["nope"], [], "both"),
    ("hgetall-expired", "return redis.call('HGETALL', KEYS[1])", ["hgone"], [], "both"),
    ("hmget-holes", "return redis.call('HMGET', KEYS[1], 'f', 'nope', 'g')", ["h"], [], "both"),
    (
        "hset-hdel",
        "return {redis.call('HSET', KEYS[1], 'f', ARGV[1], 'new', 'x'), "
        "redis.call('HDEL', KEYS[1], 'new', 'nope'), redis.call('HGET', KEYS[1], 'f')}",
        ["h"],
        [BINARY],
        "both",
    ),
    ("hset-odd-args", "return redis.call('HSET', KEYS[1], 'f')", ["h"], [], "both"),
    ("hget-wrongtype", "return redis.call('HGET', KEYS[1], 'f')", ["s"], [], "both"),
    ("hset-wrongtype", "return redis.call('HSET', KEYS[1], 'f', 'v')", ["z"], [], "both"),
    (
        "hdel-last-field-removes-key",
        "redis.call('HDEL', KEYS[1], 'f', 'g') return redis.call('EXISTS', KEYS[1])",
        ["h"],
        [],
        "both",
    ),
    (
        "sets",
        "local m = redis.call('SMEMBERS', KEYS[1]) table.sort(m) "
        "return {m, redis.call('SISMEMBER', KEYS[1], ARGV[1]), "
        "redis.call('SISMEMBER', KEYS[1], 'zz'), redis.call('SCARD', KEYS[1]), "
        "redis.call('SREM', KEYS[1], 'a', 'zz'), redis.call('SADD', KEYS[1], 'a', 'c')}",
        ["st"],
        [BINARY],
        "both",
    ),
    ("sismember-missing", "return redis.call('SISMEMBER', KEYS[1], 'a')", ["nope"], [], "both"),
    ("sismember-wrongtype", "return redis.call('SISMEMBER', KEYS[1], 'a')", ["l"], [], "both"),
    ("sadd-wrongtype", "return redis.call('SADD', KEYS[1], 'a')", ["s"], [], "both"),
    (
        "sinter",
        "local m = redis.call('SINTER', KEYS[1], KEYS[2]) table.sort(m) return m",
        ["st", "nope"],
        [],
        "both",
    ),
    (
        "srem-last-removes-key",
        "redis.call('SREM', KEYS[1], 'a', 'b', ARGV[1]) return redis.call('TYPE', KEYS[1])",
        ["st"],
        [BINARY],
        "both",
    ),
    (
        "zset-reads",
        "return {redis.call('ZSCORE', KEYS[1], 'b'), redis.call('ZSCORE', KEYS[1], 'nope'), "
        "redis.call('ZCARD', KEYS[1]), redis.call('ZCOUNT', KEYS[1], '(1', '+inf'), "
        "redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')}",
        ["z"],
        [],
        "both",
    ),
    (
        "zrangebyscore",
        "return {redis.call('ZRANGEBYSCORE', KEYS[1], 1, 3, 'WITHSCORES', 'LIMIT', 1, 2), "
        "redis.call('ZRANGEBYSCORE', KEYS[1], '(1', 'inf')}",
        ["z"],
        [],
        "both",
    ),
    ("zrangebyscore-bad", "return redis.call('ZRANGEBYSCORE', KEYS[1], 'x', 3)", ["z"], [], "both"),
    (
        "zadd-zrem",
        "return {redis.call('ZADD', KEYS[1], 7, 'c', 2, 'a'), "
        "redis.call('ZREM', KEYS[1], 'b', 'q'), redis.call('ZADD', KEYS[1], 'XX', 'INCR', 1, 'c')}",
        ["z"],
        [],
        "both",
    ),
    ("zadd-bad-score", "return redis.call('ZADD', KEYS[1], 'x', 'a')", ["z"], [], "both"),
    ("zadd-wrongtype", "return redis.call('ZADD', KEYS[1], 1, 'a')", ["st"], [], "both"),
    ("zscore-wrongtype", "return redis.call('ZSCORE', KEYS[1], 'a')", ["h"], [], "both"),
    (
        "zstore",
        "return {redis.call('ZUNIONSTORE', KEYS[2], 2, KEYS[1], KEYS[3]), "
        "redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES'), "
        "redis.call('ZINTERSTORE', KEYS[2], 1, KEYS[1], 'WEIGHTS', 2), "
        "redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')}",
        ["z", "out", "st"],
        [],
        "both",
    ),
    (
        "keys",
        "return {redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3], KEYS[1]), "
        "redis.call('TYPE', KEYS[1]), redis.call('TYPE', KEYS[2]), redis.call('TYPE', KEYS[3]), "
        "redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]), redis.call('EXISTS', KEYS[1])}",
        ["s", "gone", "nope"],
        [],
        "both",
    ),
    (
        "expire",
        "return {redis.call('PEXPIRE', KEYS[1], 100000), redis.call('TTL', KEYS[1]), "
        "redis.call('PEXPIRE', KEYS[2], 10), redis.call('TTL', KEYS[2]), "
        "redis.call('PEXPIRE', KEYS[1], 'x')}",
        ["s", "nope"],
        [],
        "generic",  # TTL of a fresh key: fakeredis and Redis agree, wording of PEXPIRE x not
    ),
    ("pexpire-bad", "return redis.call('PEXPIRE', KEYS[1], 'x')", ["s"], [], "both"),
    (
        "lists",
        "return {redis.call('LPUSH', KEYS[1], 'w'), redis.call('LRANGE', KEYS[1], 0, -1)}",
        ["l"],
        [],
        "both",
    ),
    ("arity-none", "return redis.call('GET')", [], [], "both"),
    ("arity-short", "return redis.call('SET', KEYS[1])", ["k"], [], "both"),
    ("arity-long", "return redis.call('GET', KEYS[1], 'x')", ["k"], [], "both"),
    ("unknown-command", "return redis.call('NOPE', KEYS[1])", ["k"], [], "real"),
    ("nil-argument", "return redis.call('GET', nil)", [], [], "both"),
    ("table-argument", "return redis.call('GET', {})", [], [], "both"),
    ("table-command", "return redis.call({}, 'x')", [], [], "real"),
    ("no-command", "return redis.call()", [], [], "real"),
    ("number-command", "return redis.call(1, 'x')", [], [], "real"),
    ("not-in-scripts", "return redis.call('EVAL', 'return 1', 0)", [], [], "both"),
    ("pcall-wrongtype", "return redis.pcall('HGET', KEYS[1], 'f')['err']", ["s"], [], "both"),
    ("pcall-unknown", "return type(redis.pcall('NOPE'))", [], [], "both"),
    ("pcall-arity", "return type(redis.pcall('GET'))", [], [], "both"),
    ("pcall-reply", "return redis.pcall('GET', KEYS[1])", ["s"], [], "both"),
    ("pcall-error-returned", "return redis.pcall('INCR', KEYS[1])", ["s"], [], "both"),
    ("status-reply", "return redis.status_reply('FINE')", [], [], "both"),
    ("error-reply", "return redis.error_reply('ERR mine')", [], [], "both"),
    (
        "nested-replies",
        "return {1, 'two', {3, {false, 'x'}}, redis.status_reply('S'), 3.99, true, false, 'end'}",
        [],
        [],
        "both",
    ),
    ("array-stops-at-nil", "return {1, 2, nil, 4}", [], [], "both"),
    ("number-truncated", "return -3.7", [], [], "both"),
    ("true", "return true", [], [], "both"),
    ("false", "return false", [], [], "both"),
    ("nothing", "local x = 1", [], [], "both"),
    ("long-array", "local t = {} for i = 1, 5000 do t[i] = i end return t", [], [], "both"),
    (
        "many-keys",
        "return {#KEYS, #ARGV, KEYS[1], KEYS[300], ARGV[2]}",
        [f"k{i}" for i in range(300)],
        ["a", BINARY],
        "both",
    ),
    ("argv-binary", "return {KEYS[1], ARGV[1], #ARGV[1]}", ["k\x00"], [BINARY], "both"),
    ("global-before-call", "leak = 1 return redis.call('GET', KEYS[1])", ["s"], [], "generic"),
    ("global-at-end", "leak2 = 1 return 1", [], [], "generic"),
    ("global-rawset", "rawset(_G, 'leak3', 1) return 1", [], [], "generic"),
    ("global-pcall", "leak4 = 1 return redis.pcall('GET', KEYS[1])", ["s"], [], "generic"),
    ("syntax-error", "return +", [], [], "generic"),
    ("runtime-error", "return nil + 1", [], [], "generic"),
    ("error-function", "error('custom') return 1", [], [], "generic"),
    ("multiple-returns", "return 1, 2", [], [], "real"),
    ("shebang", "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])", ["s"], [], "real"),
]


def outcome(client: redis.Redis, script: str, keys: list[str], args: list[Any]) -> Any:
    """("ok", reply) or ("error", exception class name, message) of one EVAL."""
    try:
        return ("ok", client.eval(script, len(keys), *keys, *args))
    except redis.ResponseError as exc:
        return ("error", type(exc).__name__, str(exc))


def seeded(client: redis.Redis) -> redis.Redis:
    client.flushdb()
    client.eval(SEED, 0, BINARY)
    time.sleep(0.01)  # past the 1 ms expiries
    return client


@pytest.fixture
def engines(redis_url: str) -> Iterator[tuple[redis.Redis, redis.Redis, redis.Redis]]:
    """(memory:// fast path, plain fakeredis, the real server)."""
    version = tuple(int(part) for part in EMBEDDED_VERSION.split("."))
    fast = Database.from_url(f"memory://fastpath-{uuid.uuid4().hex}")
    generic = fakeredis.FakeRedis(server=fakeredis.FakeServer(version=version))
    real = redis.Redis.from_url(redis_url)
    yield fast, generic, real
    for client in (fast, generic, real):
        client.close()


def first_word(result: Any) -> Any:
    return result[:2] + (result[2].split()[0],) if result[0] == "error" else result


@pytest.mark.parametrize(
    ("script", "keys", "args", "against"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_script_matches_generic_path_and_real_server(
    engines: tuple[redis.Redis, redis.Redis, redis.Redis],
    script: str,
    keys: list[str],
    args: list[Any],
    against: str,
) -> None:
    fast, generic, real = engines
    got = outcome(seeded(fast), script, keys, args)
    if against != "real":
        assert got == outcome(seeded(generic), script, keys, args)
        # The data the script left behind is the same too.
        assert dump(fast) == dump(generic)
    if against != "generic":
        # Error wording differs between fakeredis and Redis (script positions): the kind of
        # error (its first word) must agree, replies exactly.
        assert first_word(got) == first_word(outcome(seeded(real), script, keys, args))
    # The engine is still healthy: no global left behind, the next script runs.
    assert fast.eval("return redis.call('EXISTS', KEYS[1])", 1, "s") in (0, 1)


def dump(client: redis.Redis) -> dict[bytes, Any]:
    """Every key with its type, value and whether it has a TTL."""
    out: dict[bytes, Any] = {}
    for key in sorted(client.keys("*")):
        kind = client.type(key)
        if kind == b"string":
            value: Any = client.get(key)
        elif kind == b"hash":
            value = client.hgetall(key)
        elif kind == b"set":
            value = sorted(client.smembers(key))
        elif kind == b"zset":
            value = client.zrange(key, 0, -1, withscores=True)
        elif kind == b"list":
            value = client.lrange(key, 0, -1)
        else:
            value = kind
        out[key] = (kind, value, client.pttl(key) > 0)
    return out


def test_a_leaked_global_is_refused_then_forgotten() -> None:
    db = Database.from_url(f"memory://fastpath-{uuid.uuid4().hex}")
    db.set("s", "v")
    with pytest.raises(redis.ResponseError, match="global"):
        db.eval("leak = 1 redis.call('SET', KEYS[1], 'changed') return 1", 1, "s")
    assert db.get("s") == b"v"  # refused at the redis.call, before the write
    with pytest.raises(redis.ResponseError, match="global"):
        db.eval("rawset(_G, 'sneaky', 1) return 1", 0)
    assert db.eval("return type(leak) .. type(sneaky)", 0) == b"nilnil"
    db.close()


def test_script_writes_dirty_a_watch_and_expire_keys_like_commands() -> None:
    name = f"memory://fastpath-{uuid.uuid4().hex}"
    db, other = Database.from_url(name), Database.from_url(name)
    db.set("w", "1")
    with db.pipeline() as pipe:
        pipe.watch("w")
        other.eval("return redis.call('INCR', KEYS[1])", 1, "w")
        pipe.multi()
        pipe.set("w", "overwritten")
        with pytest.raises(redis.WatchError):
            pipe.execute()
    assert db.get("w") == b"2"
    db.eval("return redis.call('SET', KEYS[1], 'x', 'PX', 20)", 1, "short")
    assert db.exists("short") == 1
    time.sleep(0.05)
    assert db.eval("return redis.call('EXISTS', KEYS[1])", 1, "short") == 0
    assert db.dbsize() == 1
    db.close()
    other.close()


def test_script_writes_send_keyspace_notifications() -> None:
    db = Database.from_url(f"memory://fastpath-{uuid.uuid4().hex}")
    db.config_set("notify-keyspace-events", "KEA")
    pubsub = db.pubsub()
    pubsub.psubscribe("__keyspace@0__:*")
    assert pubsub.get_message(timeout=1)["type"] == "psubscribe"
    db.eval("redis.call('HSET', KEYS[1], 'f', 'v') return redis.call('DEL', KEYS[1])", 1, "h")
    events = [pubsub.get_message(timeout=1) for _ in range(2)]
    assert [(e["channel"], e["data"]) for e in events if e] == [
        (b"__keyspace@0__:h", b"hset"),
        (b"__keyspace@0__:h", b"del"),
    ]
    pubsub.close()
    db.close()


VALUES: list[Any] = [
    "text",
    "ünï\u2603",
    b"\x00\xff\r\n",
    bytearray(b"ba\x00"),
    memoryview(b"mv\x00"),
    0,
    -12,
    2**70,
    1.5,
    1e-20,
    float("inf"),
    "",
]


@pytest.mark.parametrize("value", VALUES, ids=[repr(v)[:20] for v in VALUES])
def test_commands_arrive_as_the_packed_bytes_would(redis_url: str, value: Any) -> None:
    fast = Database.from_url(f"memory://fastpath-{uuid.uuid4().hex}")
    real = redis.Redis.from_url(redis_url)
    for client in (fast, real):
        client.set("k", value)
        field = value if isinstance(value, (str, bytes, int, float)) else "m"
        client.hset("h", mapping={field: value})
    assert fast.get("k") == real.get("k")
    assert fast.hgetall("h") == real.hgetall("h")
    fast.close()
    real.close()


def test_command_names_with_spaces_and_round_trips(redis_url: str) -> None:
    fast = Database.from_url(f"memory://fastpath-{uuid.uuid4().hex}")
    real = redis.Redis.from_url(redis_url)
    for client in (fast, real):
        client.execute_command("CLIENT SETNAME", "named")
        assert client.execute_command(b"CLIENT GETNAME") == b"named"
        with RoundTripCounter() as rt:
            client.set("k", "v")
            client.get("k")
        assert rt.count == 2
    fast.close()
    real.close()


@pytest.mark.parametrize("bad", [True, None, {"a": 1}, [1]], ids=repr)
def test_values_redis_py_refuses_are_refused_before_sending(bad: Any) -> None:
    fast = Database.from_url(f"memory://fastpath-{uuid.uuid4().hex}")
    with RoundTripCounter() as rt, pytest.raises(redis.DataError):
        fast.set("k", bad)
    assert rt.count == 0
    assert fast.exists("k") == 0
    fast.close()


def parse_resp_command(data: bytes) -> list[bytes]:
    """The arguments of one RESP command (an array of bulk strings)."""
    end = data.index(b"\r\n")
    count, pos, args = int(data[1:end]), end + 2, []
    for _ in range(count):
        end = data.index(b"\r\n", pos)
        length, pos = int(data[pos + 1 : end]), end + 2
        args.append(data[pos : pos + length])
        pos += length + 2
    assert pos == len(data)
    return args


COMMANDS: list[tuple[Any, ...]] = [
    ("SET", "k", "ünï", "EX", 10),
    ("CLIENT SETNAME", "x y"),
    (b"CLIENT GETNAME",),
    (b"GET", bytearray(b"\x00k")),
    ("HSET", memoryview(b"h"), 1.5, -(2**70)),
    ("EVALSHA", "0" * 40, 1, "k", b"\xff" * 300),
]


@pytest.mark.parametrize("command", COMMANDS, ids=[repr(c[0]) for c in COMMANDS])
def test_sent_bytes_are_redis_py_packing_and_the_fields_its_parse(command: tuple[Any, ...]) -> None:
    fast = Database.from_url(f"memory://fastpath-{uuid.uuid4().hex}")
    connection = fast.connection_pool.get_connection()
    sent: list[Any] = []
    connection.send_packed_command = lambda packed, check_health=True: sent.extend(packed)  # type: ignore[method-assign]
    connection.send_command(*command)
    expected = b"".join(bytes(chunk) for chunk in connection.pack_command(*command))
    assert len(sent) == 1 and bytes(sent[0]) == expected
    assert sent[0].fields == parse_resp_command(expected)
    del connection.send_packed_command
    fast.connection_pool.release(connection)
    fast.close()
