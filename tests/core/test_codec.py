"""walrus.codec.ValueCodec: the one stored format of the core, Flask and Django caches."""

from __future__ import annotations

import pickle
import zlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from walrus.codec import ValueCodec
from walrus.compression import get_compressor
from walrus.serializers import BadSignature, SignedSerializer

VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.sampled_from(["", "48", "-7", "\x00", "\x00\x01x", "0" * 30]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
CODECS = [
    {},
    {"signing_key": "k"},
    {"compressor": "zlib", "compress_min_length": 8},
    {"compressor": "zlib", "compress_min_length": 8, "signing_key": b"k" * 80},
    {"raw_ints": True},
    {"raw_ints": True, "signing_key": "k", "compressor": "lzma", "compress_min_length": 0},
]


@pytest.mark.parametrize("options", CODECS, ids=lambda o: ",".join(o) or "plain")
@pytest.mark.parametrize("serializer", ["pickle", "json", "msgpack"])
@given(value=VALUES)
def test_every_value_reads_back(serializer: str, options: dict[str, Any], value: Any) -> None:
    codec = ValueCodec(serializer, **options)
    stored = codec.encode(value)
    if isinstance(stored, int):  # a counter: only raw_ints writes one, for a 64-bit int
        assert codec.raw_ints and type(value) is int and stored == value
        return
    back = codec.decode(stored)
    assert back == value and type(back) is type(value) or serializer == "json"


def test_unsigned_pickles_are_upstream_walrus_bytes() -> None:
    """An unsigned, uncompressed pickle is pickle's own bytes: upstream walrus reads it."""
    codec = ValueCodec("pickle")
    for value in ({"a": 1}, [1, 2], "text", 3.5, None):
        assert codec.encode(value) == pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        assert codec.decode(pickle.dumps(value, protocol=2)) == value


def test_counters_and_what_looks_like_one() -> None:
    raw = ValueCodec("json", raw_ints=True)
    assert raw.encode(5) == 5 and raw.encode(-(2**63)) == -(2**63)
    assert isinstance(raw.encode(2**63), bytes)  # beyond INCRBY's range: serialized
    assert isinstance(raw.encode(True), bytes)  # a bool is not a counter
    plain = ValueCodec("json")
    stored = plain.encode(48)  # JSON writes b"48": escaped so it is not read as a counter
    assert stored == b"\x0048" and plain.decode(stored) == 48 and not plain.is_counter(stored)
    assert plain.decode(b"48") == 48 and plain.is_counter(b"48")  # what INCRBY wrote
    assert plain.decode("12") == 12  # a client that decodes responses


def test_bad_signatures_are_refused() -> None:
    codec = ValueCodec("pickle", signing_key="k")
    stored = codec.encode({"a": 1})
    assert isinstance(stored, bytes)
    with pytest.raises(BadSignature):
        codec.decode(stored[:-1] + bytes([stored[-1] ^ 1]))
    with pytest.raises(BadSignature):
        ValueCodec("pickle", signing_key="other").decode(stored)
    with pytest.raises(BadSignature):  # an unsigned pickle is never loaded by a signed codec
        codec.decode(pickle.dumps({"planted": True}))


def test_compression_is_read_whatever_the_setting_is_now() -> None:
    value = {"blob": "x" * 500}
    for name in ("zlib", "lzma"):
        stored = ValueCodec("json", compressor=name, compress_min_length=10).encode(value)
        assert isinstance(stored, bytes) and len(stored) < 100
        assert ValueCodec("json").decode(stored) == value
        assert ValueCodec("json", compressor="zlib").decode(stored) == value
    short = ValueCodec("json", compressor="zlib", compress_min_length=1000).encode(value)
    assert short == b'{"blob":"' + b"x" * 500 + b'"}'


def test_django_walrus_earlier_layout_still_reads() -> None:
    """django_walrus wrote ``[tag] flag payload`` before the format was shared."""
    payload = b'{"old":1}'
    zlib_flag = get_compressor("zlib").flag  # type: ignore[union-attr]
    unsigned = [b"\x00" + payload, zlib_flag + zlib.compress(payload)]
    for data in unsigned:
        assert ValueCodec("json").decode(data) == {"old": 1}
    signer = SignedSerializer(_Raw(), "k")
    for data in unsigned:
        assert ValueCodec("json", signing_key="k").decode(signer.dumps(data)) == {"old": 1}
    with pytest.raises(BadSignature):
        ValueCodec("json", signing_key="other").decode(signer.dumps(unsigned[1]))


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="compress_min_length"):
        ValueCodec(compressor="zlib", compress_min_length=-1)
    with pytest.raises(ValueError, match="compress_min_length"):
        ValueCodec(compressor="zlib", compress_min_length=True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown serializer"):
        ValueCodec("yaml")
    with pytest.raises(ValueError):
        ValueCodec(compressor="zlib", compress_level=99)
    with pytest.raises(ValueError):
        ValueCodec(compressor="brotli")


class _Raw:
    def dumps(self, value: bytes) -> bytes:
        return value

    def loads(self, data: bytes) -> bytes:
        return data
