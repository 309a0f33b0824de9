"""walrus.streams.TimeSeries: consumer groups with datetime ids (UTC) and Message objects."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from walrus import Database
from walrus.containers.errors import ContainerTypeError
from walrus.containers.streams import StreamIdError
from walrus.roundtrips import RoundTripCounter
from walrus.streams import (
    Message,
    TimeSeries,
    TimeSeriesStream,
    datetime_to_id,
    id_to_datetime,
    normalize_id,
)

D1 = datetime(2024, 1, 1, 12, 0, 0)
D2 = datetime(2024, 1, 1, 12, 0, 1)
D3 = datetime(2024, 1, 1, 12, 0, 2)


def _ts(db: Database) -> TimeSeries:
    ts = db.time_series("grp", ["temp-a", "temp-b"])
    ts.create()
    return ts


def test_id_conversion_is_utc() -> None:
    assert datetime_to_id(datetime(1970, 1, 1)) == "0-0"
    assert datetime_to_id(datetime(2024, 1, 1), 3) == "1704067200000-3"
    assert datetime_to_id(datetime(2024, 1, 1, 0, 0, 0, 123999)) == "1704067200123-0"  # ms
    assert id_to_datetime(b"1704067200123-7") == (datetime(2024, 1, 1, 0, 0, 0, 123000), 7)
    assert id_to_datetime("1704067200000") == (datetime(2024, 1, 1), 0)
    # An aware datetime keeps its instant: 13:00+01:00 is 12:00 UTC.
    plus_one = timezone(timedelta(hours=1))
    assert datetime_to_id(datetime(2024, 1, 1, 13, 0, tzinfo=plus_one)) == datetime_to_id(D1)
    assert datetime_to_id(D1.replace(tzinfo=timezone.utc)) == datetime_to_id(D1)
    assert normalize_id(D1) == "1704110400000-0"
    assert normalize_id((D1, 2)) == "1704110400000-2"
    assert normalize_id("5-0") == "5-0"


def test_ids_do_not_depend_on_local_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available")
    expected = datetime_to_id(D1)
    try:
        for zone in ("America/New_York", "Asia/Tokyo", "UTC"):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            assert datetime_to_id(D1) == expected
            assert id_to_datetime(expected) == (D1, 0)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_bad_datetimes() -> None:
    with pytest.raises(StreamIdError, match="1970"):
        datetime_to_id(datetime(1969, 12, 31))
    with pytest.raises(StreamIdError, match="negative"):
        datetime_to_id(D1, -1)
    with pytest.raises(ContainerTypeError):
        datetime_to_id("2024-01-01")  # type: ignore[arg-type]
    with pytest.raises(StreamIdError):
        id_to_datetime("garbage")


def test_streams_are_time_series_streams(db: Database) -> None:
    ts = db.time_series("grp", ["temp-a", "temp-b"], consumer="w1")
    assert isinstance(ts, TimeSeries)
    assert isinstance(ts.temp_a, TimeSeriesStream) and ts.temp_b.consumer_name == "w1"
    assert isinstance(ts.consumer("w2"), TimeSeries)


@pytest.mark.min_redis("6.2")  # XTRIM MINID
def test_add_get_range_round_trip_datetimes(db: Database) -> None:
    ts = _ts(db)
    assert ts.temp_a.add({"v": 1}, id=D1) == (D1, 0)
    assert ts.temp_a.add({"v": 2}, id=(D1, 1)) == (D1, 1)
    assert ts.temp_a.add({"v": 3}, id=D2) == (D2, 0)
    aware = datetime(2024, 1, 1, 7, 0, 2, tzinfo=timezone(timedelta(hours=-5)))  # = D3 UTC
    assert ts.temp_a.add({"v": 4}, id=aware) == (D3, 0)
    auto_ts, auto_seq = ts.temp_b.add({"v": "now"})
    assert abs(auto_ts - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(minutes=1)
    assert auto_seq >= 0

    msg = ts.temp_a.get(D2)
    assert isinstance(msg, Message)
    assert (msg.stream, msg.timestamp, msg.sequence, msg.data) == ("temp-a", D2, 0, {"v": "3"})
    assert msg.message_id == datetime_to_id(D2)
    assert ts.temp_a.get((D1, 1)).data == {"v": "2"}
    assert ts.temp_a.get(D1 + timedelta(days=1)) is None
    assert [m.data["v"] for m in ts.temp_a.range(D1, D2)] == ["1", "2", "3"]
    assert [m.data["v"] for m in ts.temp_a[D2:]] == ["3", "4"]
    assert [m.data["v"] for m in ts.temp_a[:D1:1]] == ["1"]
    assert [m.data["v"] for m in ts.temp_a.revrange(count=2)] == ["4", "3"]
    assert [(m.timestamp, m.sequence) for m in ts.temp_a] == [(D1, 0), (D1, 1), (D2, 0), (D3, 0)]
    assert len(ts.temp_a) == 4
    del ts.temp_a[(D1, 1)]
    assert ts.temp_a.delete(D3) == 1
    assert [m.timestamp for m in ts.temp_a] == [D1, D2]
    assert ts.temp_a.trim(minid=D2, approximate=False) == 1
    assert [m.timestamp for m in ts.temp_a] == [D2]


@pytest.mark.min_redis("6.2")  # XAUTOCLAIM
def test_group_reads_messages(db: Database) -> None:
    ts = _ts(db)
    ts.temp_a.add({"v": "a1"}, id=D1)
    ts.temp_b.add({"v": "b1"}, id=D1)
    ts.temp_a.add({"v": "a2"}, id=D2)
    with RoundTripCounter() as rt:
        messages = ts.read()
    assert rt.count == 1
    assert all(isinstance(m, Message) for m in messages)
    # Merged across streams in id order (as upstream); equal ids keep the stream order.
    assert [(m.stream, m.data["v"], m.timestamp) for m in messages] == [
        ("temp-a", "a1", D1),
        ("temp-b", "b1", D1),
        ("temp-a", "a2", D2),
    ]
    assert ts.read() == []
    pending = ts.temp_a.pending()
    # Upstream's tuples: ((timestamp, sequence), consumer, ms idle, deliveries).
    assert [(p[0], p[1], p[3]) for p in pending] == [((D1, 0), "grp.c1", 1), ((D2, 0), "grp.c1", 1)]
    assert all(isinstance(p[2], int) and p[2] >= 0 for p in pending)
    assert ts.temp_a.ack(D1) == 1
    time.sleep(0.02)
    claimed = ts.consumer("other").temp_a.claim(D2, min_idle_time=10)
    assert [(m.timestamp, m.data) for m in claimed] == [(D2, {"v": "a2"})]
    next_id, auto, deleted = ts.consumer("third").temp_b.autoclaim(0)
    assert [m.timestamp for m in auto] == [D1] and deleted == []
    assert next_id == (datetime(1970, 1, 1), 0)
    # set_id with a datetime: only later messages are delivered again.
    ts.set_id(D1)
    assert [(m.stream, m.timestamp) for m in ts.read()] == [("temp-a", D2)]
    ts.temp_a.set_id(datetime(1970, 1, 1))
    assert [m.timestamp for m in ts.temp_a.read()] == [D1, D2]
    ts.reset()
    assert len(ts.read(count=1)) == 2  # one per stream


def test_group_start_ids_as_datetimes(db: Database) -> None:
    db.xadd("s", {"v": 1}, id=datetime_to_id(D1))
    db.xadd("s", {"v": 2}, id=datetime_to_id(D2))
    ts = db.time_series("grp", {"s": D1})
    ts.create()
    assert [m.timestamp for m in ts.read()] == [D2]


def test_message_equality_and_repr() -> None:
    one = Message(b"s", b"1704067200000-0", {b"k": b"v"})
    same = Message("s", "1704067200000-0", {"k": "v"})
    assert one == same and hash(one) == hash(same)
    assert one != Message("s", "1704067200000-1", {"k": "v"})
    assert "s 1704067200000-0" in repr(one)
    binary = Message("s", "1-0", {b"k": b"\xff"})
    assert binary.data == {"k": b"\xff"}
    assert Message("s", "1-0", None).data == {}


def test_bad_ids_write_nothing(db: Database) -> None:
    ts = _ts(db)
    ts.temp_a.add({"v": 1}, id=D2)
    with RoundTripCounter() as rt:
        with pytest.raises(StreamIdError, match="1970"):
            ts.temp_a.add({"v": 2}, id=datetime(1900, 1, 1))
        with pytest.raises(StreamIdError):
            ts.temp_a.add({"v": 2}, id=(D1, -1))
        with pytest.raises(ContainerTypeError):
            ts.temp_a.get(1.5)
        with pytest.raises(StreamIdError):
            ts.set_id("nope")
    assert rt.count == 0
    with pytest.raises(StreamIdError, match="refused"):
        ts.temp_a.add({"v": 3}, id=D1)  # older than the newest message
    assert [m.data for m in ts.temp_a] == [{"v": "1"}]
