"""django_walrus.cache.WalrusCache beyond Django's contract: options, safety, extras."""

from __future__ import annotations

import logging
import pickle
from typing import Any

import pytest
import redis
from django.core.cache import cache, caches
from django.core.cache.backends.base import InvalidCacheBackendError  # noqa: F401
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from django_walrus import get_database
from django_walrus.cache import WalrusCache
from walrus.roundtrips import RoundTripCounter


def test_values_round_trip_and_ints_stay_native(raw: redis.Redis) -> None:
    cache.set("n", 41)
    cache.set("obj", {"a": [1, 2], "b": b"\xff"})
    assert cache.incr("n") == 42
    assert cache.get("obj") == {"a": [1, 2], "b": b"\xff"}
    assert raw.get(":1:n") == b"42"


def test_incr_missing_and_non_integer(raw: redis.Redis) -> None:
    with pytest.raises(ValueError, match="not found"):
        cache.incr("missing")
    assert not raw.exists(":1:missing")
    cache.set("s", "text")
    with pytest.raises(TypeError, match="not an integer"):
        cache.incr("s")
    assert cache.get("s") == "text"


def test_incr_keeps_ttl(raw: redis.Redis) -> None:
    cache.set("n", 1, timeout=100)
    cache.incr("n", 5)
    assert 90 < raw.ttl(":1:n") <= 100


def test_tampered_pickle_is_a_miss_and_never_unpickled(raw: redis.Redis, caplog: Any) -> None:
    class Boom:
        def __reduce__(self) -> Any:
            return (eval, ("__import__('os').environ.__setitem__('WALRUS_PWNED', '1')",))

    payload = b"\x00" + pickle.dumps(Boom())
    raw.set(":1:evil", payload)
    with caplog.at_level(logging.WARNING, logger="walrus"):
        assert cache.get("evil", "default") == "default"
    import os

    assert "WALRUS_PWNED" not in os.environ
    cache.set("good", [1, 2, 3])
    stored = raw.get(":1:good")
    raw.set(":1:good", stored[:-1] + bytes([stored[-1] ^ 1]))
    assert cache.get("good") is None


def test_unsigned_json_and_compression(
    walrus_url: str, location_options: dict[str, Any], raw: redis.Redis, settings: Any
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": walrus_url,
            "OPTIONS": {
                **location_options,
                "SERIALIZER": "json",
                "SIGN": False,
                "COMPRESS_MIN_LENGTH": 100,
            },
        }
    }
    big = {"text": "x" * 5000}
    cache.set("big", big)
    cache.set("small", {"a": 1})
    assert raw.get(":1:small") == b'{"a":1}'  # the serializer's bytes: nothing in front
    # The frame's NUL, then the body's NUL + zlib's flag + compressed (walrus.codec).
    assert raw.get(":1:big")[:3] == b"\x00\x00\x01"
    assert len(raw.get(":1:big")) < 200
    assert cache.get("big") == big


def test_bad_options_refuse_every_call_before_writing(walrus_url: str, raw: redis.Redis) -> None:
    # Building does not raise (Django's own checks build every cache; `check` reports the
    # problem instead), but the cache talks to no server until the OPTIONS are fixed.
    for options, match in [
        ({"NOPE": 1}, r"unknown OPTIONS\['NOPE'\].*E010"),
        ({"ALIAS": "default"}, "not both"),
        ({"COMPRESS_MIN_LENGTH": -1}, "COMPRESS_MIN_LENGTH"),
        ({"SERIALIZER": "yaml"}, "unknown serializer 'yaml'"),
    ]:
        broken = WalrusCache(walrus_url, {"OPTIONS": options})
        with pytest.raises(ImproperlyConfigured, match=match):
            broken.set("k", 1)
        with pytest.raises(ImproperlyConfigured, match=match):
            broken.get("k")
    assert raw.dbsize() == 0


def test_pool_options_with_alias_are_refused(settings: Any) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "OPTIONS": {"ALIAS": "default", "SOCKET_TIMEOUT": 0.5},
        }
    }
    with pytest.raises(
        ImproperlyConfigured,
        match=r"SOCKET_TIMEOUT need a LOCATION.*WALRUS\['default'\]\['OPTIONS'\]",
    ):
        cache.get("k")
    # The shared pool was not touched.
    assert get_database().connection_pool.connection_kwargs.get("socket_timeout") is None


@pytest.mark.redis_only(reason="socket timeouts and pool size: memory:// ignores them")
def test_timeouts_reach_the_cache_pool(
    settings: Any, walrus_url: str, connection_options: dict[str, Any]
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": walrus_url,
            "OPTIONS": {
                "SOCKET_TIMEOUT": 0.7,
                "SOCKET_CONNECT_TIMEOUT": 0.3,
                "CONNECTION_POOL_KWARGS": {
                    **connection_options,
                    "client_name": "walrus-cache-test",
                    "max_connections": 7,
                },
            },
        }
    }
    pool = cache.database.connection_pool
    assert pool.connection_kwargs["socket_timeout"] == 0.7
    assert pool.connection_kwargs["socket_connect_timeout"] == 0.3
    assert pool.max_connections == 7
    name = cache.database.client_getname()  # redis-py leaves it bytes over RESP3
    assert name in ("walrus-cache-test", b"walrus-cache-test")  # the server saw the kwargs
    cache.set("k", 1)
    assert cache.get("k") == 1


@pytest.mark.redis_only(reason="socket timeouts: memory:// ignores them")
def test_alias_cache_takes_timeouts_from_walrus_options(
    settings: Any, walrus_url: str, connection_options: dict[str, Any]
) -> None:
    options = {**connection_options, "socket_timeout": 0.9}
    settings.WALRUS = {"default": {"URL": walrus_url, "OPTIONS": options}}
    assert cache.database is get_database()
    assert cache.database.connection_pool.connection_kwargs["socket_timeout"] == 0.9


def test_clear_only_touches_this_cache(raw: redis.Redis) -> None:
    raw.set("foreign:key", 1)
    cache.set("a", 1)
    caches["prefixed"].set("a", 2)
    cache.clear()
    assert cache.get("a") is None
    assert caches["prefixed"].get("a") == 2
    assert raw.get("foreign:key") == b"1"
    caches["prefixed"].clear()
    assert caches["prefixed"].get("a") is None
    assert raw.get("foreign:key") == b"1"


def test_multi_key_calls_are_one_round_trip() -> None:
    cache.set("warm", 1)
    with RoundTripCounter() as rt:
        cache.set_many({"a": 1, "b": 2, "c": 3}, timeout=30)
    assert rt.count == 1
    with RoundTripCounter() as rt:
        assert cache.get_many(["a", "b", "c", "zz"]) == {"a": 1, "b": 2, "c": 3}
    assert rt.count == 1
    with RoundTripCounter() as rt:
        cache.delete_many(["a", "b"])
    assert rt.count == 1
    with RoundTripCounter() as rt:
        cache.incr("c")
    assert rt.count == 1


def test_single_key_calls_are_one_round_trip_from_the_first_incr() -> None:
    fresh = caches["default"]
    fresh.set("n", 1)
    for call in (
        lambda: fresh.get("n"),
        lambda: fresh.set("x", {"a": 1}),
        lambda: fresh.add("y", 1),
        lambda: fresh.incr("n"),  # first incr from this cache: EVAL
        lambda: fresh.incr("n"),  # then EVALSHA
        lambda: fresh.set_many({"p": 1, "q": 2}, timeout=None),  # MSET
    ):
        with RoundTripCounter() as rt:
            call()
        assert rt.count == 1
    assert fresh.get_many(["n", "x", "y", "p", "q"]) == {
        "n": 3,
        "x": {"a": 1},
        "y": 1,
        "p": 1,
        "q": 2,
    }


def test_incr_survives_script_flush(raw: redis.Redis) -> None:
    cache.set("n", 1, timeout=100)
    assert cache.incr("n") == 2
    assert cache.incr("n") == 3
    raw.script_flush()
    with RoundTripCounter() as rt:
        assert cache.decr("n", 2) == 1  # NOSCRIPT, then EVAL with the source
    assert rt.count == 2
    with RoundTripCounter() as rt:
        assert cache.incr("n", 10) == 11
    assert rt.count == 1
    assert 90 < raw.ttl(":1:n") <= 100


def test_default_timeout_changed_after_first_use(raw: redis.Redis) -> None:
    cache.set("a", 1)
    assert 290 < raw.ttl(":1:a") <= 300  # Django's default TIMEOUT
    saved = cache.default_timeout
    try:
        cache.default_timeout = 50
        cache.set("b", 1)
        cache.add("c", 1)
        cache.set_many({"d": 1})
        for key in (":1:b", ":1:c", ":1:d"):
            assert 40 < raw.ttl(key) <= 50
        cache.default_timeout = 0  # do not store
        cache.set("b", 2)
        assert cache.get("b") is None
        assert cache.add("e", 1) is True and cache.get("e") is None
    finally:
        cache.default_timeout = saved


def test_extras_ttl_persist_expire_pattern_keys() -> None:
    cache.set("session:1", 1, timeout=100)
    cache.set("session:2", 2, timeout=None)
    cache.set("other", 3)
    assert 90 < cache.ttl("session:1") <= 100
    assert cache.ttl("session:2") is None
    assert cache.ttl("missing") == 0
    assert cache.persist("session:1") is True
    assert cache.ttl("session:1") is None
    assert cache.expire("session:2", 50) is True
    assert 40 < cache.ttl("session:2") <= 50
    assert sorted(cache.iter_keys("session:*")) == ["session:1", "session:2"]
    assert cache.delete_pattern("session:*") == 2
    assert cache.get("other") == 3


def test_lock_is_a_walrus_lock() -> None:
    lock = cache.lock("job", timeout=5)
    assert lock.acquire(block=False)
    other = cache.lock("job", timeout=5)
    assert not other.acquire(block=False)
    lock.release()
    assert other.acquire(block=False)
    other.release()


@pytest.mark.backends("resp2", reason="an outage on a dead port: no backend takes part")
def test_ignore_exceptions_turns_outage_into_miss(
    free_port_url: str, settings: Any, caplog: Any
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": free_port_url,
            "OPTIONS": {
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
            },
        }
    }
    with caplog.at_level(logging.WARNING, logger="django_walrus.cache"):
        assert cache.get("k", "fallback") == "fallback"
        cache.set("k", 1)
        assert cache.get_many(["a"]) == {}
    assert any("ConnectionError" in r.getMessage() for r in caplog.records)
    settings.CACHES = {
        "default": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": free_port_url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2},
        }
    }
    with pytest.raises(redis.ConnectionError):
        cache.get("k")


@pytest.mark.django_db
def test_sessions_use_the_cache_backend(raw: redis.Redis) -> None:
    from django.contrib.auth.models import User

    User.objects.create_user("ann", password="pw-123456")
    client = Client()
    assert client.login(username="ann", password="pw-123456")
    session_key = client.cookies["sessionid"].value
    assert raw.exists(f":1:django.contrib.sessions.cache{session_key}")


def test_glob_characters_in_key_prefix_stay_in_their_cache(
    walrus_url: str, location_options: dict[str, Any]
) -> None:
    # "app[AB]" read as a glob would also select "appA:..." and "appB:..." keys, and miss
    # its own (SCAN MATCH app[AB]:* never matches the literal "app[AB]:" prefix).
    mine = WalrusCache(walrus_url, {"KEY_PREFIX": "app[AB]", "OPTIONS": location_options})
    other_a = WalrusCache(walrus_url, {"KEY_PREFIX": "appA", "OPTIONS": location_options})
    other_star = WalrusCache(walrus_url, {"KEY_PREFIX": "app*", "OPTIONS": location_options})
    for c in (mine, other_a, other_star):
        c.set("user:1", 1)
        c.set("user:2", 2)
    mine.set("job?", 3)
    assert sorted(mine.iter_keys("user:*")) == ["user:1", "user:2"]
    assert sorted(mine.keys()) == ["job?", "user:1", "user:2"]
    assert mine.delete_pattern("user:*") == 2
    assert other_a.get("user:1") == 1 and other_star.get("user:2") == 2
    assert mine.get("job?") == 3
    mine.clear()
    assert mine.keys() == []
    assert sorted(other_a.keys()) == ["user:1", "user:2"] == sorted(other_star.keys())
    other_star.clear()
    assert sorted(other_a.keys()) == ["user:1", "user:2"]


@pytest.mark.redis_only(reason="CONFIG SET maxmemory: a real server's refusal")
def test_incr_keeps_server_errors_their_type(raw: redis.Redis) -> None:
    cache.set("n", 1)
    cache.incr("n")  # the script is loaded before the server fills up
    before = raw.config_get("maxmemory")["maxmemory"]
    raw.config_set("maxmemory", "1")  # every write is refused now (noeviction)
    try:
        with pytest.raises(redis.exceptions.OutOfMemoryError, match="maxmemory") as info:
            cache.incr("n")
        assert not isinstance(info.value, TypeError)  # it used to be "not an integer"
    finally:
        raw.config_set("maxmemory", before)
    assert cache.get("n") == 2


def test_django_redis_expiry_extras(raw: redis.Redis) -> None:
    import time
    from datetime import datetime, timedelta, timezone

    cache.set("a", 1, timeout=None)
    assert cache.pexpire("a", 50_000) is True
    assert 40_000 < raw.pttl(":1:a") <= 50_000
    assert cache.pexpire("a", timedelta(seconds=20)) is True and 10_000 < raw.pttl(":1:a") <= 20_000
    assert cache.pexpire("missing", 1000) is False
    soon = int(time.time()) + 100
    assert cache.expire_at("a", soon) is True and 90 < raw.ttl(":1:a") <= 100
    assert cache.pexpire_at("a", soon * 1000 + 50_000) is True and 140 < raw.ttl(":1:a") <= 150
    naive_utc = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(seconds=60)
    assert cache.expire_at("a", naive_utc) is True and 50 < raw.ttl(":1:a") <= 60
    for bad in ("tomorrow", float("nan"), True, None):
        with pytest.raises(TypeError):
            cache.expire_at("a", bad)
    with pytest.raises(TypeError, match="milliseconds"):
        cache.pexpire("a", "5")
    assert 50 < raw.ttl(":1:a") <= 60  # refusals changed nothing


def test_django_redis_hash_extras(raw: redis.Redis) -> None:
    assert cache.hset("h", "name", {"first": "Ada"}) == 1
    assert cache.hset("h", mapping={"age": 36, "tags": ["x"]}) == 2
    assert cache.hset("h", "age", 37) == 0  # updated, not new
    assert cache.hget("h", "name") == {"first": "Ada"} and cache.hget("h", "age") == 37
    assert cache.hget("h", "nope", "dflt") == "dflt" and cache.hget("h", "nope") is None
    assert cache.hlen("h") == 3
    assert sorted(cache.hkeys("h")) == ["age", "name", "tags"]
    assert cache.hexists("h", "tags") is True and cache.hexists("h", "nope") is False
    assert cache.hdel("h", "tags", "nope") == 1
    assert raw.type(":1:h") == b"hash" and raw.hlen(":1:h") == 2
    before = raw.hgetall(":1:h")
    for call in (
        lambda: cache.hset("h"),
        lambda: cache.hset("h", None, 1, mapping=[("a", 1)]),
        lambda: cache.hset("h", 3, 1),
        lambda: cache.hget("h", ""),
        lambda: cache.hdel("h"),
    ):
        with pytest.raises((TypeError, ValueError)):
            call()
    assert raw.hgetall(":1:h") == before
    # Values are signed like every other value: a tampered field is a miss.
    raw.hset(":1:h", "name", b"forged")
    assert cache.hget("h", "name", "miss") == "miss"


def test_get_or_set_computes_once_under_concurrency(raw: redis.Redis) -> None:
    import threading
    import time

    calls: list[int] = []

    def expensive() -> list[int]:
        calls.append(1)
        time.sleep(0.3)
        return [1, 2, 3]

    results: list[Any] = []
    gate = threading.Barrier(16)

    def one() -> None:
        gate.wait()
        results.append(cache.get_or_set("report", expensive, timeout=60, lock_timeout=3))

    threads = [threading.Thread(target=one) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert calls == [1] and results == [[1, 2, 3]] * 16
    assert cache.get("report") == [1, 2, 3]
    assert cache.get_or_set("none", None) is None and cache.has_key("none")  # Django's contract
    with pytest.raises(ValueError, match="lock_timeout"):
        cache.get_or_set("x", 1, lock_timeout=0)
    assert not raw.exists(":1:x")


@pytest.mark.backends("resp2", reason="the codec alone: no Redis work")
def test_codec_compressors_share_the_core_registry() -> None:
    import zlib

    from walrus.codec import ValueCodec
    from walrus.compression import COMPRESSORS

    value = {"rows": [{"name": "walrus", "kind": "cache entry"}] * 300}
    plain = ValueCodec("json", "key", compressor=None).encode(value)
    for name, compressor in COMPRESSORS.items():
        codec = ValueCodec("json", "key", name, compress_min_length=100, compress_level=None)
        data = codec.encode(value)
        assert isinstance(data, bytes) and codec.decode(data) == value
        # Every codec reads what any other compressor wrote (the flag says which).
        assert ValueCodec("json", "key", compressor="lz4").decode(data) == value
        assert len(data) < len(plain) / 5
        assert compressor.flag in data[:40]  # behind the 32-byte signature
    legacy = b"\x01" + zlib.compress(b'{"old":1}')  # what the backend wrote before, unsigned
    assert ValueCodec("json", None, compressor="zstd").decode(legacy) == {"old": 1}
    with pytest.raises(ValueError, match="zstd compression level"):
        ValueCodec("json", None, "zstd", compress_min_length=10, compress_level=99)


def test_compressor_option_compresses_with_the_named_algorithm(
    walrus_url: str, location_options: dict[str, Any], raw: redis.Redis
) -> None:
    from walrus.compression import COMPRESSORS

    value = {"text": "walrus " * 400}
    for option, name in [("django_redis.compressors.zstd.ZStdCompressor", "zstd"), ("lz4", "lz4"),
                         ("lzma", "lzma"), ("zlib", "zlib")]:  # fmt: skip
        c = WalrusCache(
            walrus_url,
            {
                "KEY_PREFIX": name,
                "OPTIONS": {
                    **location_options,
                    "COMPRESSOR": option,
                    "SIGN": False,
                    "SERIALIZER": "json",
                },
            },
        )
        c.set("big", value)
        c.set("tiny", "x")
        stored = raw.get(f"{name}:1:big")
        assert stored[:3] == b"\x00\x00" + COMPRESSORS[name].flag and len(stored) < 200
        assert raw.get(f"{name}:1:tiny") == b'"x"'  # under django-redis's 15-byte floor
        assert c.get("big") == value and c.get("tiny") == "x"
    options = {**location_options, "SIGN": False, "SERIALIZER": "json"}
    reader = WalrusCache(walrus_url, {"KEY_PREFIX": "zstd", "OPTIONS": options})
    assert reader.get("big") == value  # an uncompressed cache reads compressed entries too


def test_django_and_the_core_cache_read_each_others_entries(
    walrus_url: str, connection_options: dict[str, Any], location_options: dict[str, Any]
) -> None:
    """One stored format (walrus.codec): the core Cache (also Flask's) and WalrusCache read
    what the other wrote, signed, compressed or not."""
    from django.conf import settings

    from walrus import Database
    from walrus.cache import Cache

    database = Database.from_url(walrus_url, **connection_options)
    options = {
        **location_options,
        "SERIALIZER": "json",
        "COMPRESSOR": "zlib",
        "COMPRESS_MIN_LENGTH": 64,
    }
    django_side = WalrusCache(walrus_url, {"KEY_PREFIX": "x", "OPTIONS": options})
    core_side = Cache(
        database,
        "x:1",  # Django's keys are <KEY_PREFIX>:<version>:<key>
        serializer="json",
        signing_key=settings.SECRET_KEY,
        compressor="zlib",
        compress_min_length=64,
    )
    big = {"rows": ["walrus"] * 100}
    django_side.set("from-django", big)
    django_side.set("small", ["a"])
    assert core_side.get("from-django") == big and core_side.get("small") == ["a"]
    core_side.set("from-core", big)
    assert django_side.get("from-core") == big
    django_side.set("count", 5)  # Django stores ints as counters ...
    assert core_side.incr("count", 2) == 7  # ... which the core's incr adds to
    assert django_side.get("count") == 7
    database.close()
