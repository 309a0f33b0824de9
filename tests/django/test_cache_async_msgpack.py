"""WalrusCache's async ``a*`` methods and the msgpack serializer, on every backend."""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
import pytest
import redis
from django.core.cache import cache


def test_async_methods(raw: redis.Redis) -> None:
    async def scenario() -> None:
        await cache.aset("a", {"x": 1}, timeout=100)
        assert raw.exists(":1:a") and 90 < raw.ttl(":1:a") <= 100
        assert await cache.aget("a") == {"x": 1}
        assert await cache.aget("missing", "dflt") == "dflt"
        assert await cache.aadd("a", "other") is False
        assert await cache.aadd("b", 2) is True
        assert await cache.aset_many({"c": 3, "d": [4]}) == []
        assert await cache.aget_many(["a", "b", "c", "d", "zz"]) == {
            "a": {"x": 1},
            "b": 2,
            "c": 3,
            "d": [4],
        }
        assert await cache.aincr("c", 5) == 8
        assert await cache.adecr("c") == 7
        assert raw.get(":1:c") == b"7"
        with pytest.raises(ValueError, match="not found"):
            await cache.aincr("zz")
        assert await cache.ahas_key("d") is True
        assert await cache.atouch("d", 50) is True
        assert 40 < raw.ttl(":1:d") <= 50
        assert await cache.adelete("d") is True
        assert await cache.adelete("d") is False
        assert await cache.ahas_key("d") is False
        assert await cache.aget_or_set("e", 5) == 5
        await cache.adelete_many(["e"])
        assert not raw.exists(":1:e")
        raw.set("foreign", 1)
        await cache.aclear()
        assert await cache.aget("a") is None
        assert sorted(raw.keys()) == [b"foreign"]  # clear() stays in this cache's key space
        await cache.aclose()
        assert await cache.aget("b") is None  # still usable after close

    asyncio.run(scenario())


@pytest.fixture
def msgpack_cache(settings: Any, walrus_url: str, location_options: dict[str, Any]) -> str:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": walrus_url,
            "OPTIONS": {**location_options, "SERIALIZER": "msgpack", "SIGN": False},
        }
    }
    return walrus_url


def test_msgpack_serializer_round_trip(msgpack_cache: str, raw: redis.Redis) -> None:
    value = {"name": "walrus", "blob": b"\xff\x00", "n": [1, 2.5, None, True], "nested": {"k": "v"}}
    cache.set("v", value)
    stored = raw.get(":1:v")
    assert stored == msgpack.packb(value, use_bin_type=True)  # msgpack's bytes, as they are
    assert cache.get("v") == value
    cache.set("t", (1, 2))
    assert cache.get("t") == [1, 2]  # msgpack has no tuples
    cache.set("n", 10)
    assert cache.incr("n") == 11  # integers stay native, whatever the serializer
    assert cache.get_many(["v", "n"]) == {"v": value, "n": 11}


def test_msgpack_refuses_what_it_cannot_pack_before_writing(
    msgpack_cache: str, raw: redis.Redis
) -> None:
    with pytest.raises(TypeError):
        cache.set("obj", object())
    assert not raw.exists(":1:obj")


def test_msgpack_signed_by_default(
    settings: Any, walrus_url: str, location_options: dict[str, Any], raw: redis.Redis
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": walrus_url,
            "OPTIONS": {**location_options, "SERIALIZER": "msgpack"},
        }
    }
    cache.set("v", {"a": 1})
    assert cache.get("v") == {"a": 1}
    stored = raw.get(":1:v")
    raw.set(":1:v", stored[:-1] + bytes([stored[-1] ^ 1]))
    assert cache.get("v", "miss") == "miss"
