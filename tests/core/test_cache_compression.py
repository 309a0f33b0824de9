"""walrus.compression: zlib, lzma, zstd and lz4 for the core Cache (and the names shared with
the Django backend), on every backend."""

from __future__ import annotations

import sys

import pytest

from walrus import Database
from walrus.compression import COMPRESSORS, CompressorUnavailableError, by_flag, get_compressor

DOC = {"items": [{"id": i, "name": f"item {i}", "tags": ["redis", "cache"]} for i in range(200)]}


@pytest.mark.parametrize("name", sorted(COMPRESSORS))
def test_each_compressor_round_trips_and_shrinks(db: Database, name: str) -> None:
    cache = db.cache(f"c-{name}", serializer="json", compressor=name, compress_min_length=256)
    plain = db.cache(f"p-{name}", serializer="json")
    cache.set("doc", DOC)
    plain.set("doc", DOC)
    stored = db.get(cache.make_key("doc"))
    # NUL + flag + data, behind the cache's own NUL (which keeps it apart from counters).
    assert stored[:3] == b"\x00\x00" + COMPRESSORS[name].flag
    assert len(stored) < len(db.get(plain.make_key("doc"))) / 3
    assert cache.get("doc") == DOC
    cache.set("small", [1, 2])  # under compress_min_length: stored as upstream stores it
    assert db.get(cache.make_key("small")) == b"[1,2]" and cache.get("small") == [1, 2]
    assert cache.get_many(["doc", "small"]) == {"doc": DOC, "small": [1, 2]}


def test_entries_read_back_whatever_compressor_wrote_them(db: Database) -> None:
    writers = {
        name: db.cache("shared", serializer="json", compressor=name, compress_min_length=10)
        for name in COMPRESSORS
    }
    reader = db.cache("shared", serializer="json", compressor="zlib", compress_min_length=10)
    for name, writer in writers.items():
        writer.set(name, {"written by": name, "pad": "x" * 50})
    assert {name: reader.get(name)["written by"] for name in COMPRESSORS} == {
        n: n for n in COMPRESSORS
    }
    assert reader.incr("n", 5) == 5 and reader.get("n") == 5  # counters stay plain digits
    nul = db.cache("nul", serializer="msgpack", compressor="lz4", compress_min_length=100)
    nul.set("zero", 0.0)
    nul.set("int0", b"\x00raw")
    assert nul.get("zero") == 0.0 and nul.get("int0") == b"\x00raw"


def test_signed_compressed_values_are_verified_before_decompressing(db: Database) -> None:
    cache = db.cache("sig", signing_key="k", compressor="zstd", compress_min_length=10)
    cache.set("doc", DOC)
    assert cache.get("doc") == DOC
    raw = bytearray(db.get(cache.make_key("doc")))
    raw[-1] ^= 1
    db.set(cache.make_key("doc"), bytes(raw))
    assert cache.get("doc", "miss") == "miss"


def test_bad_compressor_options_are_refused_before_anything_is_written(db: Database) -> None:
    for kwargs, exc, match in [
        ({"compressor": "brotli"}, ValueError, "unknown compressor 'brotli'"),
        ({"compressor": 3}, TypeError, "compressor must be a name"),
        (
            {"compressor": "zlib", "compress_level": 12},
            ValueError,
            "zlib compression level must be an int from -1 to 9",
        ),
        ({"compressor": "lz4", "compress_level": "max"}, ValueError, "lz4 compression level"),
        ({"compressor": "zstd", "compress_min_length": -1}, ValueError, "compress_min_length"),
    ]:
        with pytest.raises(exc, match=match):
            db.cache("bad", **kwargs)
    assert db.dbsize() == 0


def test_django_redis_names_and_missing_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_compressor("django_redis.compressors.zstd.ZStdCompressor") is COMPRESSORS["zstd"]
    assert get_compressor("django_redis.compressors.lz4.Lz4Compressor") is COMPRESSORS["lz4"]
    assert get_compressor("django_redis.compressors.zlib.ZlibCompressor") is COMPRESSORS["zlib"]
    assert get_compressor("django_redis.compressors.lzma.LzmaCompressor") is COMPRESSORS["lzma"]
    assert get_compressor("django_redis.compressors.identity.IdentityCompressor") is None
    assert get_compressor(None) is None and get_compressor("none") is None
    with pytest.raises(ValueError, match="unknown compression flag"):
        by_flag(b"\x09")
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(CompressorUnavailableError, match="pip install zstandard"):
        get_compressor("zstd")
    assert isinstance(CompressorUnavailableError("x"), ImportError)
