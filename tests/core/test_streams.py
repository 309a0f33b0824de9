"""walrus.Stream: XADD / XRANGE / XREAD / XTRIM / XINFO through a container."""

from __future__ import annotations

import threading
import time

import pytest
from redis.exceptions import ResponseError

from walrus import Database, Stream, WalrusError
from walrus.containers.errors import ContainerTypeError, ContainerValueError, WrongTypeError
from walrus.containers.streams import (
    ITER_PAGE_SIZE,
    GroupNotFoundError,
    StreamIdError,
    StreamNotFoundError,
    check_stream_id,
    translate_stream_error,
)
from walrus.roundtrips import RoundTripCounter


def _filled(db: Database, n: int = 5, key: str = "s") -> Stream:
    stream = db.Stream(key)
    for i in range(1, n + 1):
        stream.add({"i": i}, id=f"{i}-0")
    return stream


def test_add_returns_ids_and_len(db: Database) -> None:
    stream = db.Stream("s")
    assert len(stream) == 0
    first = stream.add({"a": 1, "b": "two"})
    second = stream.add({"c": 3.5})
    assert isinstance(first, bytes) and isinstance(second, bytes) and first != second
    assert len(stream) == 2
    assert stream.add({"x": 1}, id="9999999999999-5") == b"9999999999999-5"
    assert stream.add({"x": 2}, id="9999999999999-*") == b"9999999999999-6"
    assert db.xrange("s")[0] == (first, {b"a": b"1", b"b": b"two"})


def test_add_with_maxlen(db: Database) -> None:
    stream = _filled(db, 5)
    stream.add({"i": 6}, id="6-0", maxlen=3, approximate=False)
    assert [mid for mid, _ in stream.range()] == [b"4-0", b"5-0", b"6-0"]
    stream.add({"i": 7}, id="7-0", maxlen=100)  # approximate: nothing to trim
    assert len(stream) == 4


@pytest.mark.min_redis("6.2")  # exclusive "(id" range bounds
def test_getitem_get_and_slices(db: Database) -> None:
    stream = _filled(db, 5)
    assert stream["3-0"] == (b"3-0", {b"i": b"3"})
    assert stream.get("3") == (b"3-0", {b"i": b"3"})
    assert stream.get(b"4-0") == (b"4-0", {b"i": b"4"})
    assert stream.get("99-0") is None
    assert [m for m, _ in stream[:]] == [b"1-0", b"2-0", b"3-0", b"4-0", b"5-0"]
    assert [m for m, _ in stream["2-0":"4-0"]] == [b"2-0", b"3-0", b"4-0"]  # inclusive
    assert [m for m, _ in stream["2-0"::2]] == [b"2-0", b"3-0"]  # step is the count
    assert [m for m, _ in stream[:"2-0"]] == [b"1-0", b"2-0"]
    assert [m for m, _ in stream["(2-0":"4-0"]] == [b"3-0", b"4-0"]  # exclusive bound


def test_range_and_revrange(db: Database) -> None:
    stream = _filled(db, 5)
    assert [m for m, _ in stream.range("2-0", "+", count=2)] == [b"2-0", b"3-0"]
    assert [m for m, _ in stream.revrange()] == [b"5-0", b"4-0", b"3-0", b"2-0", b"1-0"]
    assert [m for m, _ in stream.revrange("4-0", "-", count=2)] == [b"4-0", b"3-0"]
    assert stream.range("10-0") == []


def test_iteration_pages(db: Database) -> None:
    stream = db.Stream("big")
    pipe = db.pipeline()
    for i in range(1, 251):
        pipe.xadd("big", {"i": i}, id=f"{i}-1")
    pipe.execute()
    seen = list(stream)
    assert len(seen) == 250
    assert [int(data[b"i"]) for _, data in seen] == list(range(1, 251))
    assert list(db.Stream("missing")) == []


def test_iteration_pages_across_the_largest_sequence_number(db: Database) -> None:
    # A page ending on <ms>-<2**64-1> continues at <ms+1>-0 (pages start just after the last
    # id seen, not with the "(id" form only Redis 6.2+ understands).
    ids = [f"{i}-0" for i in range(1, ITER_PAGE_SIZE)] + [
        f"{ITER_PAGE_SIZE}-{2**64 - 1}",
        f"{ITER_PAGE_SIZE + 1}-0",
    ]
    pipe = db.pipeline()
    for message_id in ids:
        pipe.xadd("s", {"f": "v"}, id=message_id)
    pipe.execute()
    assert [m.decode() for m, _ in db.Stream("s")] == ids


def test_delete_and_delitem(db: Database) -> None:
    stream = _filled(db, 5)
    del stream["1-0"]
    del stream[["2-0", "3-0"]]
    assert stream.delete("4-0", "99-0") == 1
    assert stream.delete() == 0
    assert [m for m, _ in stream] == [b"5-0"]


def test_read_from_start_after_id_and_blocking(db: Database) -> None:
    stream = _filled(db, 3)
    assert [m for m, _ in stream.read()] == [b"1-0", b"2-0", b"3-0"]
    assert [m for m, _ in stream.read(last_id="1-0")] == [b"2-0", b"3-0"]
    assert [m for m, _ in stream.read(count=1, last_id="1-0")] == [b"2-0"]
    assert stream.read(last_id="3-0") == []
    assert stream.read(block=20, last_id="$") == []
    assert db.Stream("missing").read() == []

    def later() -> None:
        time.sleep(0.2)
        db.xadd("s", {"late": "yes"}, id="10-0")

    writer = threading.Thread(target=later)
    writer.start()
    started = time.monotonic()
    got = stream.read(block=5000, last_id="$")
    writer.join()
    assert got == [(b"10-0", {b"late": b"yes"})]
    assert time.monotonic() - started < 4


@pytest.mark.min_redis("6.2")  # XTRIM MINID
def test_trim_by_count_and_minid(db: Database) -> None:
    stream = _filled(db, 6)
    assert stream.trim(4, approximate=False) == 2
    assert [m for m, _ in stream] == [b"3-0", b"4-0", b"5-0", b"6-0"]
    assert stream.trim(minid="5-0", approximate=False) == 2
    assert [m for m, _ in stream] == [b"5-0", b"6-0"]
    assert stream.trim(100) == 0


def test_info_groups_consumers(db: Database) -> None:
    stream = _filled(db, 2)
    info = stream.info()
    assert info["length"] == 2
    assert info["last-generated-id"] == b"2-0"
    assert stream.groups_info() == []
    db.xgroup_create("s", "g", "0")
    db.xreadgroup("g", "alice", {"s": ">"}, count=1)
    groups = stream.groups_info()
    assert [g["name"] for g in groups] == [b"g"] and groups[0]["pending"] == 1
    consumers = stream.consumers_info("g")
    assert [c["name"] for c in consumers] == [b"alice"] and consumers[0]["pending"] == 1


def test_set_id(db: Database) -> None:
    stream = _filled(db, 2)
    assert stream.set_id("100-0") is True
    assert stream.info()["last-generated-id"] == b"100-0"
    with pytest.raises(StreamIdError, match="refused"):
        stream.set_id("1-0")  # below the newest entry
    assert stream.info()["last-generated-id"] == b"100-0"


def test_one_round_trip_each(db: Database) -> None:
    stream = _filled(db, 3)
    calls = [
        lambda: stream.add({"a": 1}),
        lambda: stream.get("1-0"),
        lambda: stream["1-0":"2-0"],
        lambda: stream.range(),
        lambda: stream.revrange(),
        lambda: len(stream),
        lambda: stream.read(),
        lambda: stream.delete("1-0", "2-0"),
        lambda: stream.trim(10),
        lambda: stream.info(),
    ]
    for call in calls:
        with RoundTripCounter() as rt:
            call()
        assert rt.count == 1


# -- errors ------------------------------------------------------------------------------------


def test_wrong_type_key(db: Database) -> None:
    db.set("str", "value")
    stream = db.Stream("str")
    for call in (
        lambda: stream.add({"a": 1}),
        lambda: len(stream),
        lambda: stream.range(),
        lambda: list(stream),
        lambda: stream.info(),
        lambda: stream.trim(1),
    ):
        with pytest.raises(WrongTypeError, match="'str' holds a string, expected a stream"):
            call()
    assert db.get("str") == b"value"


def test_wrong_type_key_read(db: Database) -> None:
    db.set("str", "value")
    with pytest.raises(WrongTypeError, match="'str' holds a string, expected a stream"):
        db.Stream("str").read()
    assert db.get("str") == b"value"


@pytest.mark.parametrize(
    "bad",
    ["abc", "1-", "-1", "1-2-3", "1.5", "1-x", b"\xff", "99999999999999999999999", -3, "$", "*"],
)
def test_bad_ids_raise_before_sending(db: Database, bad: object) -> None:
    stream = _filled(db, 2)
    with RoundTripCounter() as rt:
        with pytest.raises(StreamIdError) as info:
            stream.get(bad)
        with pytest.raises(StreamIdError):
            stream.delete("1-0", bad)
        with pytest.raises(StreamIdError):
            stream.range(bad)
    assert rt.count == 0
    assert isinstance(info.value, ValueError) and isinstance(info.value, WalrusError)
    assert "id" in str(info.value)
    assert len(stream) == 2


def test_bad_arguments(db: Database) -> None:
    stream = _filled(db, 2)
    with pytest.raises(ContainerTypeError):
        stream.add(["not", "a", "mapping"])  # type: ignore[arg-type]
    with pytest.raises(ContainerValueError, match="at least one field"):
        stream.add({})
    with pytest.raises(ContainerTypeError, match="value of field 'a'"):
        stream.add({"a": [1]})
    with pytest.raises(StreamIdError):
        stream.add({"a": 1}, id="x")
    with pytest.raises(ContainerValueError, match="maxlen"):
        stream.add({"a": 1}, maxlen=-1)
    with pytest.raises(ContainerTypeError, match="id"):
        stream.get(1.5)
    with pytest.raises(ContainerValueError, match="count"):
        stream.range(count=0)
    with pytest.raises(ContainerValueError, match="count"):
        stream[::0]
    with pytest.raises(ContainerValueError, match="block"):
        stream.read(block=-1)
    with pytest.raises(ContainerValueError, match="exactly one"):
        stream.trim()
    with pytest.raises(ContainerValueError, match="exactly one"):
        stream.trim(1, minid="1-0")
    with pytest.raises(ContainerValueError, match="limit"):
        stream.trim(1, approximate=False, limit=10)
    assert [m for m, _ in stream] == [b"1-0", b"2-0"]


def test_add_id_not_above_top_is_refused(db: Database) -> None:
    stream = _filled(db, 2)
    with pytest.raises(StreamIdError, match="refused"):
        stream.add({"a": 1}, id="1-0")
    assert len(stream) == 2


@pytest.mark.parametrize("zero", ["0-0", 0, "0", b"0-0"])
def test_add_with_id_zero_is_refused_before_sending(db: Database, zero: object) -> None:
    stream = db.Stream("s")
    with RoundTripCounter() as rt:
        with pytest.raises(StreamIdError, match="greater than 0-0") as info:
            stream.add({"a": 1}, id=zero)
    assert rt.count == 0
    assert isinstance(info.value, ValueError) and isinstance(info.value, WalrusError)
    assert db.exists("s") == 0
    assert stream.add({"a": 1}, id="0-1") == b"0-1"  # the smallest id Redis accepts


def test_server_refusal_of_id_zero_translates_to_stream_id_error(db: Database) -> None:
    # The check above normally stops 0-0 before sending; the server's own refusal (e.g. from
    # a subclass that builds ids itself) must read the same way.
    with pytest.raises(ResponseError) as raw:
        db.xadd("s", {"a": 1}, id="0-0")
    with pytest.raises(StreamIdError, match="refused the id"):
        translate_stream_error(db.Stream("s"), "s", raw.value)


def test_missing_stream_and_group_errors(db: Database) -> None:
    with pytest.raises(StreamNotFoundError, match="'nope' does not exist") as info:
        db.Stream("nope").info()
    assert isinstance(info.value, KeyError) and isinstance(info.value, WalrusError)
    _filled(db, 1)
    with pytest.raises(GroupNotFoundError, match="no consumer group 'zz'"):
        db.Stream("s").consumers_info("zz")


def test_check_stream_id_forms() -> None:
    assert check_stream_id("o", 5) == "5"
    assert check_stream_id("o", b"5-1") == "5-1"
    assert check_stream_id("o", "(5-1", exclusive=True) == "(5-1"
    assert check_stream_id("o", "$", specials=("$",)) == "$"
    with pytest.raises(StreamIdError):
        check_stream_id("o", "(5-1")
    with pytest.raises(StreamIdError):
        check_stream_id("o", "5-*")
    with pytest.raises(ContainerTypeError):
        check_stream_id("o", True)
