"""walrus.BitField, BitFieldOperation and BloomFilter."""

from __future__ import annotations

import hashlib
import math
import struct

import pytest

from walrus import BitField, BitFieldOperation, BloomFilter, Database, WalrusError
from walrus.containers.errors import ContainerTypeError, ContainerValueError, WrongTypeError
from walrus.roundtrips import RoundTripCounter

# -- BitFieldOperation -------------------------------------------------------------------------


def test_chained_operations_run_in_one_command(db: Database) -> None:
    bf = db.bit_field("bf")
    assert isinstance(bf, BitField)
    op = (
        bf.set("u8", 0, 255)
        .get("u8", 0)
        .incrby("u8", 0, 2)
        .get("u4", 0)
        .set("i8", 8, -5)
        .get("i8", "#1")
    )
    assert isinstance(op, BitFieldOperation)
    with RoundTripCounter() as rt:
        assert op.execute() == [0, 255, 1, 0, 0, -5]
    assert rt.count == 1
    assert db.get("bf") == b"\x01\xfb"
    assert list(bf.get("u16", 0)) == [0x01FB]  # iteration executes
    assert BitFieldOperation(db, "bf").get("u8", 8).execute() == [0xFB]
    with RoundTripCounter() as rt:
        assert bf.operation().execute() == []
    assert rt.count == 0
    assert "GET u16 0" in repr(bf.get("u16", 0))


def test_incrby_overflow_modes(db: Database) -> None:
    bf = db.bit_field("bf")
    bf.set("u8", 0, 250).execute()
    assert bf.incrby("u8", 0, 10).execute() == [4]  # WRAP by default
    bf.set("u8", 0, 250).execute()
    assert bf.incrby("u8", 0, 10, overflow="SAT").execute() == [255]
    assert bf.incrby("u8", 0, 1, overflow="fail").execute() == [None]  # refused
    assert bf.get("u8", 0).execute() == [255]
    # The mode stays for the rest of the chain until changed; WRAP can be asked back.
    op = (
        bf.incrby("i4", 8, 10, overflow="SAT")
        .incrby("i4", 12, 10)
        .incrby("u8", 0, 1, overflow="WRAP")
    )
    assert op.execute() == [7, 7, 0]
    assert [o[0] for o in op.operations].count("OVERFLOW") == 2


@pytest.mark.parametrize("fmt", ["u64", "u0", "i65", "x8", "8", "u", "", "u8 ", "i 8"])
def test_bad_formats(db: Database, fmt: str) -> None:
    bf = db.bit_field("bf")
    bf.set_raw(b"\x0f")
    with pytest.raises(ContainerValueError, match="bad bitfield format") as info:
        bf.get(fmt, 0)
    assert isinstance(info.value, ValueError) and isinstance(info.value, WalrusError)
    with pytest.raises(ContainerValueError):
        bf.set("u8", 0, 1).incrby(fmt, 0, 1)
    assert bf.get_raw() == b"\x0f"


def test_bad_offsets_values_and_overflow_names(db: Database) -> None:
    bf = db.bit_field("bf")
    bf.set_raw(b"\x0f")
    with RoundTripCounter() as rt:
        with pytest.raises(ContainerValueError, match="offset"):
            bf.get("u8", -1)
        with pytest.raises(ContainerValueError, match="offset"):
            bf.get("u8", "#x")
        with pytest.raises(ContainerValueError, match="offset"):
            bf.get("u8", 2**32)
        with pytest.raises(ContainerTypeError, match="offset"):
            bf.get("u8", 1.5)  # type: ignore[arg-type]
        with pytest.raises(ContainerTypeError, match="format"):
            bf.get(8, 0)  # type: ignore[arg-type]
        with pytest.raises(ContainerTypeError, match="value"):
            bf.set("u8", 0, "1")  # type: ignore[arg-type]
        with pytest.raises(ContainerValueError, match="64-bit"):
            bf.set("i64", 0, 2**63)
        with pytest.raises(ContainerValueError, match="bad overflow mode 'CLAMP'"):
            bf.incrby("u8", 0, 1, overflow="CLAMP")
        with pytest.raises(ContainerTypeError, match="overflow"):
            bf.incrby("u8", 0, 1, overflow=1)  # type: ignore[arg-type]
    assert rt.count == 0
    assert bf.get_raw() == b"\x0f"


def test_wrong_type_key(db: Database) -> None:
    db.rpush("lst", "a")
    bf = db.bit_field("lst")
    with pytest.raises(WrongTypeError, match="'lst' holds a list, expected a string"):
        bf.get("u8", 0).execute()
    with pytest.raises(WrongTypeError):
        bf[0:8]
    with pytest.raises(WrongTypeError):
        bf.set_bit(1, 1)
    with pytest.raises(WrongTypeError):
        db.bloom_filter("lst").add("x")
    assert db.lrange("lst", 0, -1) == [b"a"]


# -- BitField shortcuts ------------------------------------------------------------------------


def test_slices_get_set_delete(db: Database) -> None:
    bf = db.bit_field("bf")
    assert bf[0:8] == 0
    bf[0:8] = 0xA5
    assert db.get("bf") == b"\xa5"
    assert bf[:4] == 0xA
    assert bf[4:8] == 0x5
    bf[8:24] = 0xBEEF
    assert bf[8:24] == 0xBEEF
    assert bf[0:63] >> 39 == 0xA5BEEF
    del bf[8:16]
    assert db.get("bf") == b"\xa5\x00\xef"
    with RoundTripCounter() as rt:
        bf[3:5] = 3
        bf[0:2]
        del bf[60:62]
        bf.get_bit(0)
        bf.bit_count()
    assert rt.count == 5
    assert bf[0:8] == 0xBD  # 1010_0101 with bits 3..4 set
    assert db.strlen("bf") == 8  # clearing bits 60..61 extended the string


@pytest.mark.parametrize(
    "item",
    [
        slice(0, 8, 2),
        slice(8, 0),
        slice(4, 4),
        slice(-8, 0),
        slice(0, None),
        slice(0, 64),
        slice("a", 8),
        3,
    ],
)
def test_bad_slices(db: Database, item: object) -> None:
    bf = db.bit_field("bf")
    bf.set_raw(b"\x0f")
    with pytest.raises(ContainerValueError):
        bf[item]  # type: ignore[index]
    with pytest.raises(ContainerValueError):
        bf[item] = 1  # type: ignore[index]
    with pytest.raises(ContainerValueError):
        del bf[item]  # type: ignore[arg-type]
    assert bf.get_raw() == b"\x0f"


def test_set_slice_value_must_fit(db: Database) -> None:
    bf = db.bit_field("bf")
    bf.set_raw(b"\x0f")
    with pytest.raises(ContainerValueError, match="does not fit in the 4 bits"):
        bf[0:4] = 16
    with pytest.raises(ContainerValueError, match="does not fit"):
        bf[0:4] = -1
    with pytest.raises(ContainerTypeError):
        bf[0:4] = "1"  # type: ignore[assignment]
    assert bf.get_raw() == b"\x0f"


def test_raw_bits_and_counts(db: Database) -> None:
    bf = db.bit_field("bf")
    assert bf.get_raw() is None
    assert bf.set_raw(b"\xff\x01") is True
    assert bf.get_raw() == b"\xff\x01"
    assert bf.bit_count() == 9
    assert bf.bit_count(1, 1) == 1
    assert bf.bit_count(1) == 1
    assert bf.get_bit(0) == 1 and bf.get_bit(8) == 0 and bf.get_bit(15) == 1
    assert bf.set_bit(8, 1) == 0
    assert bf.set_bit(8, True) == 1
    assert bf.set_bit(0, 0) == 1
    assert db.get("bf") == b"\x7f\x81"
    with pytest.raises(ContainerValueError, match="0 or 1"):
        bf.set_bit(3, 2)
    with pytest.raises(ContainerValueError, match="offset"):
        bf.get_bit(-1)
    with pytest.raises(ContainerTypeError):
        bf.set_raw([1])
    assert db.get("bf") == b"\x7f\x81"


# -- BloomFilter -------------------------------------------------------------------------------


def test_bloom_filter_add_contains(db: Database) -> None:
    bloom = db.bloom_filter("bloom", 1024)
    assert isinstance(bloom, BloomFilter) and bloom.bits == 8192
    assert "apple" not in bloom
    assert db.exists("bloom") == 0  # a lookup creates nothing
    with RoundTripCounter() as rt:
        assert bloom.add("apple") is True
    assert rt.count == 1
    assert bloom.add("apple") is False  # all its bits were already set
    bloom.add(b"banana")
    bloom.add(42)
    with RoundTripCounter() as rt:
        assert bloom.contains("apple")
    assert rt.count == 1
    assert "banana" in bloom and b"apple" in bloom and 42 in bloom and "42" in bloom
    assert db.strlen("bloom") <= 1024
    assert db.bloom_filter("bloom").size == 64 * 1024


def test_bloom_filter_layout_matches_upstream_hashing(db: Database) -> None:
    # k = 4 bits: the MD5 digest as four big-endian uint32, modulo the bit count.
    bloom = db.bloom_filter("bloom", 16)
    bloom.add("walrus")
    seeds = struct.unpack(">IIII", hashlib.md5(b"walrus").digest())
    expected = {seed % 128 for seed in seeds}
    assert {i for i in range(128) if db.getbit("bloom", i)} == expected


def test_bloom_filter_false_positive_rate_matches_theory(db: Database) -> None:
    bloom = db.bloom_filter("bloom", 128)  # m = 1024 bits, k = 4
    n = 150
    for i in range(n):
        bloom.add(f"member-{i}")
    assert all(f"member-{i}" in bloom for i in range(n))  # no false negatives
    probes = 3000
    false_positives = sum(f"other-{i}" in bloom for i in range(probes))
    measured = false_positives / probes
    theory = bloom.false_positive_rate(n)
    assert theory == pytest.approx((1 - math.exp(-4 * n / 1024)) ** 4)
    assert 0.02 < theory < 0.1
    assert abs(measured - theory) < 0.03, (measured, theory)


def test_bloom_filter_bad_arguments(db: Database) -> None:
    with pytest.raises(ContainerValueError, match="size"):
        db.bloom_filter("b", 0)
    with pytest.raises(ContainerTypeError, match="size"):
        db.bloom_filter("b", "big")  # type: ignore[arg-type]
    bloom = db.bloom_filter("b", 64)
    with pytest.raises(ContainerTypeError, match="item"):
        bloom.add(["x"])
    with pytest.raises(ContainerTypeError, match="item"):
        bloom.contains(None)
    assert db.exists("b") == 0
