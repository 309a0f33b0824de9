"""walrus.ConsumerGroup / ConsumerGroupStream: stream consumer-group workflows."""

from __future__ import annotations

import threading
import time

import pytest

from walrus import ConsumerGroup, ConsumerGroupStream, Database
from walrus.containers.errors import ContainerTypeError, ContainerValueError, WrongTypeError
from walrus.containers.streams import GroupNotFoundError, StreamIdError, StreamNotFoundError
from walrus.roundtrips import RoundTripCounter


def _ids(entries: list[tuple[bytes, dict[bytes, bytes]]]) -> list[bytes]:
    return [mid for mid, _ in entries]


def _setup(db: Database) -> ConsumerGroup:
    cg = db.consumer_group("grp", ["stream-1", "stream-2"])
    cg.create()
    for i in range(1, 4):
        db.xadd("stream-1", {"n": i}, id=f"{i}-0")
        db.xadd("stream-2", {"n": i * 10}, id=f"{i}-1")
    return cg


def test_keys_forms_and_stream_attributes(db: Database) -> None:
    single = db.consumer_group("g", "stream-1")
    assert list(single.keys) == ["stream-1"]
    assert isinstance(single.stream_1, ConsumerGroupStream)
    assert single.stream_1.key == "stream-1" and single.stream_1.group == "g"
    assert single.consumer_name == "g.c1" and single.stream_1.consumer_name == "g.c1"
    multi = db.consumer_group("g", ["stream-1", b"stream.2"], consumer="worker")
    assert multi.stream_2.key == b"stream.2" and multi.stream_1.consumer_name == "worker"
    assert multi.stream("stream.2") is multi.stream_2
    with pytest.raises(KeyError):
        multi.stream("other")
    mapping = db.consumer_group("g", {"a": "5-0", "b": "$", "c": 0})
    assert mapping.keys == {"a": "5-0", "b": "$", "c": "0"}
    # A key whose attribute would hide a method, or two keys with the same attribute name,
    # stay reachable through stream() only.
    tricky = db.consumer_group("g", ["read", "x-y", "x_y", "1st"])
    assert callable(tricky.read) and tricky.stream("read").key == "read"
    assert not hasattr(tricky, "x_y") and tricky.stream("x-y").key == "x-y"
    assert tricky._1st.key == "1st"
    other = multi.consumer("other")
    assert other.consumer_name == "other" and other.stream_1.consumer_name == "other"
    assert other.keys == multi.keys
    assert "grp" not in repr(multi) and "worker" in repr(multi)


def test_create_makes_streams_and_is_idempotent(db: Database) -> None:
    db.xadd("stream-1", {"old": 1}, id="1-0")
    cg = db.consumer_group("grp", ["stream-1", "stream-2"])
    with RoundTripCounter() as rt:
        assert cg.create() == {"stream-1": True, "stream-2": True}
    assert rt.count == 2
    assert db.type("stream-2") == b"stream" and db.xlen("stream-2") == 0
    assert cg.create() == {"stream-1": False, "stream-2": False}  # existing group: no error
    assert [g["name"] for g in db.xinfo_groups("stream-1")] == [b"grp"]
    # The group starts at 0-0 by default: the older message is delivered.
    assert _ids(cg.stream_1.read()) == [b"1-0"]


def test_create_with_mkstream_only(db: Database) -> None:
    cg = db.consumer_group("grp", "fresh")
    assert cg.create(ensure_keys_exist=False, mkstream=True) == {"fresh": True}
    assert db.exists("fresh") == 1


def test_create_start_ids_from_mapping(db: Database) -> None:
    for i in range(1, 4):
        db.xadd("s", {"n": i}, id=f"{i}-0")
    cg = db.consumer_group("grp", {"s": "2-0"})
    cg.create()
    assert _ids(cg.s.read()) == [b"3-0"]
    late = db.consumer_group("late", {"s": "$"})
    late.create()
    assert late.s.read() == []


def test_create_refuses_missing_and_wrong_type_keys_before_writing(db: Database) -> None:
    db.xadd("good", {"a": 1}, id="1-0")
    cg = db.consumer_group("grp", ["good", "missing"])
    with pytest.raises(StreamNotFoundError, match="'missing' does not exist"):
        cg.create(ensure_keys_exist=False)
    assert db.xinfo_groups("good") == [] and db.exists("missing") == 0
    db.set("str", "v")
    cg = db.consumer_group("grp", ["good", "new", "str"])
    with pytest.raises(WrongTypeError, match="'str' holds a string, expected a stream"):
        cg.create()
    assert db.xinfo_groups("good") == [] and db.exists("new") == 0 and db.get("str") == b"v"


def test_two_consumers_share_the_work(db: Database) -> None:
    cg = _setup(db)
    alice = cg.consumer("alice")
    bob = cg.consumer("bob")
    with RoundTripCounter() as rt:
        first = alice.read(count=1)
    assert rt.count == 1
    assert first == [  # lists of [key, entries], as upstream returns them
        [b"stream-1", [(b"1-0", {b"n": b"1"})]],
        [b"stream-2", [(b"1-1", {b"n": b"10"})]],
    ]
    rest = dict(bob.read())
    assert _ids(rest[b"stream-1"]) == [b"2-0", b"3-0"]
    assert _ids(rest[b"stream-2"]) == [b"2-1", b"3-1"]
    assert alice.read() == [] and cg.read(consumer="bob") == []
    # Each consumer sees its own pending messages.
    assert [p["message_id"] for p in alice.stream_1.pending()] == [b"1-0", b"2-0", b"3-0"]
    assert [p["message_id"] for p in alice.stream_1.pending(consumer="alice")] == [b"1-0"]
    row = bob.stream_2.pending(consumer="bob", count=1)[0]
    assert row["consumer"] == b"bob" and row["times_delivered"] == 1
    assert row["message_id"] == b"2-1" and row["time_since_delivered"] >= 0
    assert [p["message_id"] for p in bob.stream_1.pending("3-0", "+")] == [b"3-0"]
    # Acknowledging removes them from the pending list.
    assert alice.stream_1.ack("1-0") == 1
    assert bob.stream_1.ack("2-0", "3-0", "99-0") == 2
    assert bob.stream_1.ack() == 0
    assert alice.stream_1.pending() == []
    assert {c["name"]: c["pending"] for c in cg.stream_2.consumers_info()} == {
        b"alice": 1,
        b"bob": 2,
    }
    # A consumer re-reads its own history with an explicit id.
    assert _ids(bob.stream_2.read(last_id="0")) == [b"2-1", b"3-1"]
    assert bob.stream_1.read(last_id="0") == []


@pytest.mark.min_redis("6.2")  # XAUTOCLAIM
def test_pending_and_claim_after_a_consumer_dies(db: Database) -> None:
    cg = _setup(db)
    dead = cg.consumer("dead")
    assert _ids(dead.stream_1.read()) == [b"1-0", b"2-0", b"3-0"]
    # ... "dead" never acknowledges. Its messages are pending and can be claimed.
    rescuer = cg.consumer("rescuer")
    pending = rescuer.stream_1.pending(consumer="dead")
    assert [p["message_id"] for p in pending] == [b"1-0", b"2-0", b"3-0"]
    assert rescuer.stream_1.claim("1-0", min_idle_time=60_000) == []  # not idle long enough
    time.sleep(0.05)
    with RoundTripCounter() as rt:
        claimed = rescuer.stream_1.claim("1-0", "2-0", min_idle_time=20)
    assert rt.count == 1
    assert claimed == [(b"1-0", {b"n": b"1"}), (b"2-0", {b"n": b"2"})]
    owners = {p["message_id"]: p["consumer"] for p in rescuer.stream_1.pending()}
    assert owners == {b"1-0": b"rescuer", b"2-0": b"rescuer", b"3-0": b"dead"}
    assert rescuer.stream_1.pending(consumer="rescuer")[0]["times_delivered"] == 2
    # XAUTOCLAIM takes whatever is left idle.
    time.sleep(0.05)
    next_id, auto, deleted = rescuer.stream_1.autoclaim(20)
    assert _ids(auto) == [b"1-0", b"2-0", b"3-0"] and next_id == b"0-0" and deleted == []
    _, just_ids, _ = cg.consumer("third").stream_1.autoclaim(0, count=1, justid=True)
    assert just_ids == [b"1-0"]
    assert rescuer.stream_1.claim() == []
    # Removing the dead consumer reports how many messages it still held.
    assert cg.stream_1.delete_consumer("dead") == 0
    assert cg.stream_2.delete_consumer("nobody") == 0
    dead.stream_2.read()
    assert dead.stream_2.delete_consumer() == 3
    assert cg.stream_2.pending() == []


@pytest.mark.min_redis("6.2")  # XPENDING IDLE, exclusive "(id" bounds
def test_pending_filters_by_idle_time_and_exclusive_bounds(db: Database) -> None:
    cg = _setup(db)
    old = cg.consumer("old")
    assert _ids(old.stream_1.read(count=2)) == [b"1-0", b"2-0"]
    time.sleep(0.1)
    fresh = cg.consumer("fresh")
    assert _ids(fresh.stream_1.read()) == [b"3-0"]
    idle = cg.stream_1.pending(idle=80)  # only what waited at least 80 ms
    assert [(p["message_id"], p["consumer"]) for p in idle] == [(b"1-0", b"old"), (b"2-0", b"old")]
    assert all(p["time_since_delivered"] >= 80 for p in idle)
    assert [p["message_id"] for p in cg.stream_1.pending(idle=60_000)] == []
    assert [p["message_id"] for p in cg.stream_1.pending("(1-0", "+")] == [b"2-0", b"3-0"]
    assert [p["message_id"] for p in cg.stream_1.pending("-", "(3-0")] == [b"1-0", b"2-0"]
    with pytest.raises(ContainerValueError, match="idle"):
        cg.stream_1.pending(idle=-1)


def test_read_blocks_until_a_message_arrives(db: Database) -> None:
    cg = _setup(db)
    cg.set_id("$")  # everything so far counts as read
    assert cg.read(block=20) == []

    def later() -> None:
        time.sleep(0.2)
        db.xadd("stream-2", {"late": 1}, id="50-0")

    writer = threading.Thread(target=later)
    writer.start()
    got = cg.read(block=5000)
    writer.join()
    assert got == [[b"stream-2", [(b"50-0", {b"late": b"1"})]]]
    # The per-stream read blocks the same way.
    writer = threading.Thread(
        target=lambda: (time.sleep(0.1), db.xadd("stream-1", {"x": 1}, id="60-0"))
    )
    writer.start()
    assert _ids(cg.stream_1.read(block=5000)) == [b"60-0"]
    writer.join()


def test_set_id_reset_and_destroy(db: Database) -> None:
    cg = _setup(db)
    assert len(dict(cg.read())) == 2
    assert cg.read() == []
    assert cg.reset() == {"stream-1": True, "stream-2": True}
    again = dict(cg.read())
    assert _ids(again[b"stream-1"]) == [b"1-0", b"2-0", b"3-0"]
    assert cg.stream_1.set_id("2-0") is True
    assert _ids(cg.stream_1.read()) == [b"3-0"]
    assert cg.stream_2.set_id() is True
    assert cg.stream_2.read() == []
    info = cg.stream_info()
    assert set(info) == {"stream-1", "stream-2"} and info["stream-1"]["length"] == 3
    assert cg.destroy() == {"stream-1": True, "stream-2": True}
    assert cg.destroy() == {"stream-1": False, "stream-2": False}
    with pytest.raises(GroupNotFoundError, match="no consumer group 'grp'"):
        cg.read()
    with pytest.raises(GroupNotFoundError):
        cg.set_id("0")
    assert db.xlen("stream-1") == 3  # the streams themselves are kept


@pytest.mark.min_redis("6.2")  # XAUTOCLAIM
def test_one_round_trip_per_operation(db: Database) -> None:
    cg = _setup(db)
    calls = [
        lambda: cg.read(count=1),
        lambda: cg.stream_1.read(count=1),
        lambda: cg.stream_1.pending(),
        lambda: cg.stream_1.ack("1-0"),
        lambda: cg.stream_1.claim("2-0"),
        lambda: cg.stream_1.autoclaim(0),
        lambda: cg.stream_1.consumers_info(),
        lambda: cg.set_id("0"),
        lambda: cg.stream_info(),
        lambda: cg.destroy(),
    ]
    for call in calls:
        with RoundTripCounter() as rt:
            call()
        assert rt.count == 1


# -- errors ------------------------------------------------------------------------------------


def test_read_before_create_is_a_clear_error(db: Database) -> None:
    db.xadd("s", {"a": 1})
    cg = db.consumer_group("grp", "s")
    with pytest.raises(GroupNotFoundError, match="create it first") as info:
        cg.read()
    assert isinstance(info.value, KeyError)
    with pytest.raises(GroupNotFoundError):
        cg.s.read()
    with pytest.raises(GroupNotFoundError):
        cg.s.pending()
    with pytest.raises(GroupNotFoundError):
        cg.s.consumers_info()


def test_read_wrong_type_key(db: Database) -> None:
    db.set("str", "v")
    cg = db.consumer_group("grp", ["str"])
    with pytest.raises(WrongTypeError, match="'str' holds a string"):
        cg.read()
    assert db.get("str") == b"v"


def test_bad_arguments_are_refused(db: Database) -> None:
    with pytest.raises(ContainerTypeError, match="keys must be"):
        db.consumer_group("g", 42)
    with pytest.raises(ContainerValueError, match="at least one"):
        db.consumer_group("g", [])
    with pytest.raises(ContainerValueError, match="listed twice"):
        db.consumer_group("g", ["a", b"a"])
    with pytest.raises(ContainerTypeError, match="stream key"):
        db.consumer_group("g", ["a", 3])
    with pytest.raises(StreamIdError, match="start id of stream 'a'"):
        db.consumer_group("g", {"a": "nope"})
    with pytest.raises(ContainerValueError, match="group name"):
        db.consumer_group("", "a")
    with pytest.raises(ContainerTypeError, match="consumer name"):
        db.consumer_group("g", "a", consumer=5)
    cg = _setup(db)
    with RoundTripCounter() as rt:
        with pytest.raises(StreamIdError):
            cg.stream_1.ack("1-0", "bad")
        with pytest.raises(StreamIdError):
            cg.stream_1.claim("bad")
        with pytest.raises(ContainerValueError, match="min_idle_time"):
            cg.stream_1.claim("1-0", min_idle_time=-1)
        with pytest.raises(StreamIdError):
            cg.stream_1.read(last_id="$")  # XREADGROUP takes '>' or an id
        with pytest.raises(StreamIdError):
            cg.set_id("x")
        with pytest.raises(ContainerValueError, match="count"):
            cg.read(count=0)
        with pytest.raises(ContainerValueError, match="count"):
            cg.stream_1.pending(count=0)
    assert rt.count == 0
    assert cg.stream_1.pending() == []


def test_read_as_another_consumer(db: Database) -> None:
    cg = _setup(db)
    got = cg.read(count=1, consumer="dave")
    assert [(key, _ids(entries)) for key, entries in got] == [
        (b"stream-1", [b"1-0"]),
        (b"stream-2", [b"1-1"]),
    ]
    assert {p["consumer"] for p in cg.stream_1.pending()} == {b"dave"}
    assert _ids(cg.stream_1.read(count=1)) == [b"2-0"]
    assert cg.stream_1.pending(consumer="g.c1") == []
    assert [p["consumer"] for p in cg.stream_1.pending()] == [b"dave", b"grp.c1"]
