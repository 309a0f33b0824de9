"""walrus.packing: the fast hiredis packer sends exactly redis-py's bytes and raises its errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.connection import Connection
from redis.exceptions import DataError

from walrus import Database
from walrus.packing import FastPacker, fast_packer

# redis-py releases whose hiredis packer encodes each argument in Python first (8.x): the
# ones FastPacker replaces (older ones leave the encoding to hiredis, already fast)
ENCODES_FIRST = getattr(Connection()._command_packer, "_encode", None) is not None
# (without hiredis, or on older redis-py, fast_packer keeps redis-py's packer: the tests
# below then check that, and the comparisons hold trivially)
FAST = ENCODES_FIRST  # the connections' packer is a FastPacker

CASES: list[tuple[Any, ...]] = [
    ("SET", "k", "v"),
    (b"SET", b"k", b"v"),
    ("EVALSHA", "ab" * 20, 3, b"k1", "k2", "ké", 0, -12, 1.5, 6.0, 1e300, -0.333, "", b""),
    ("SCRIPT LOAD", "return 1"),  # a name of two words
    (b"CLIENT LIST",),
    ("HSET", "h", "f", bytearray(b"ba")),  # handed to redis-py
    ("HSET", "h", "f", memoryview(b"mv")),
    ("HSET", "h", "\u00e9t\u00e9", "\U0001f600"),
    ("ZADD", "z", 2**70, "m"),
    ("GET", "tab\tin\tkey"),
]


def _redis_py_packer(**encoder: Any) -> Any:
    connection = Connection(**encoder)  # redis-py's own class: its own packer
    return connection._command_packer


@pytest.mark.parametrize("args", CASES, ids=lambda a: repr(a[0]))
@pytest.mark.parametrize(
    "encoder", [{}, {"encoding": "latin-1", "encoding_errors": "replace"}], ids=["utf8", "latin1"]
)
def test_the_same_bytes_as_redis_py(args: tuple[Any, ...], encoder: dict[str, Any]) -> None:
    base = _redis_py_packer(**encoder)
    fast = fast_packer(base, Connection(**encoder).encoder)
    assert isinstance(fast, FastPacker) is ENCODES_FIRST
    assert _outcome(fast, args) == _outcome(base, args)


def _outcome(packer: Any, args: tuple[Any, ...]) -> bytes | str:
    """The bytes ``packer`` makes of ``args``, or its DataError's message (redis-py 5's
    Python packer refuses a bytearray, for one)."""
    try:
        return b"".join(bytes(p) for p in packer.pack(*args))
    except DataError as exc:
        return f"DataError: {exc}"


@pytest.mark.parametrize("bad", [True, None, {"a": 1}, [1], object()])
def test_the_same_errors_as_redis_py(bad: Any) -> None:
    base = _redis_py_packer()
    fast = fast_packer(base, Connection().encoder)
    with pytest.raises(DataError) as expected:
        base.pack("SET", "k", bad)
    with pytest.raises(DataError) as got:
        fast.pack("SET", "k", bad)
    assert str(got.value) == str(expected.value)


VALUES = {"b": b"\x00\xff", "s": "\u00e9\U0001f600", "i": -(2**62), "f": 0.1, "big": 2**70}
STORED = {
    b"b": b"\x00\xff",
    b"s": "\u00e9\U0001f600".encode(),
    b"i": b"-4611686018427387904",
    b"f": b"0.1",
    b"big": b"1180591620717411303424",
}


@pytest.mark.backends("resp2", "resp3", reason="a redis-py socket connection's packer")
def test_a_database_connection_packs_with_it_and_round_trips(db: Database) -> None:
    """The commands it packs reach the server intact (values of every plain type)."""
    db.hset("packing:h", mapping=VALUES)
    assert db.hgetall("packing:h") == STORED
    if FAST:  # (older redis-py keeps its own packer; get_connection differs in 5.x)
        connection = db.connection_pool.get_connection()
        try:
            assert isinstance(connection._command_packer, FastPacker)
        finally:
            db.connection_pool.release(connection)


def test_an_async_connection_packs_with_it_and_round_trips(redis_server: Any) -> None:
    from walrus.asyncio import AsyncDatabase

    async def main() -> None:
        db = AsyncDatabase.from_url(redis_server.url(9))
        try:
            await db.hset("packing:ah", mapping=VALUES)
            assert await db.hgetall("packing:ah") == STORED
            await db.delete("packing:ah")
            if FAST:
                connection = await db.connection_pool.get_connection()
                try:
                    assert isinstance(connection._command_packer, FastPacker)
                finally:
                    await db.connection_pool.release(connection)
        finally:
            await db.aclose()

    asyncio.run(main())


def test_redis_py_python_packer_is_kept() -> None:
    """Without hiredis redis-py packs in Python: that packer is used as it is."""
    from redis.connection import PythonRespSerializer

    encoder = Connection().encoder
    base = PythonRespSerializer(6000, encoder.encode)
    assert fast_packer(base, encoder) is base
