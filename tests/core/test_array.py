"""walrus.Array: a dense array in a hash (field "<i>" -> item i), in index order."""

from __future__ import annotations

import threading

import pytest

from walrus import Array, Database
from walrus.containers.errors import ContainerIndexError, ContainerTypeError
from walrus.roundtrips import RoundTripCounter


def test_append_get_len_in_index_order_past_ten(db: Database) -> None:
    arr = db.Array("a")
    for i in range(25):
        arr.append(f"v{i}")
    expected = [f"v{i}".encode() for i in range(25)]
    assert len(arr) == 25
    assert list(arr) == expected  # upstream sorted "10" before "2"
    assert arr.as_list() == expected
    assert arr.as_list(decode=True) == [f"v{i}" for i in range(25)]
    assert arr[0] == b"v0" and arr[11] == b"v11" and arr[-1] == b"v24" and arr[-25] == b"v0"
    # storage layout shared with upstream walrus: a hash keyed by the decimal index
    assert db.hget("a", "11") == b"v11"
    assert sorted(int(k) for k in db.hkeys("a")) == list(range(25))


def test_slices_match_python(db: Database) -> None:
    py = [f"x{i}" for i in range(13)]
    arr = Array.from_list(db, "a", py)
    enc = [v.encode() for v in py]
    for start in (None, -20, -3, 0, 2, 12, 13, 30):
        for stop in (None, -20, -1, 0, 3, 11, 13, 30):
            assert arr[start:stop] == enc[start:stop], (start, stop)
    assert arr[::3] == enc[::3]
    assert arr[::-1] == enc[::-1]


def test_out_of_range_and_bad_index(db: Database) -> None:
    arr = Array.from_list(db, "a", ["a", "b"])
    for bad in (2, -3, 50):
        assert arr[bad] is None  # as upstream documents: invalid indices read as None
    with pytest.raises(ContainerIndexError, match="assignment index 2"):
        arr[2] = "c"
    with pytest.raises(IndexError):
        del arr[-3]
    with pytest.raises(IndexError):
        arr.pop(7)
    with pytest.raises(IndexError):
        db.Array("empty").pop()
    with pytest.raises(ContainerTypeError, match="Array index must be an integer, got str"):
        arr["0"]  # type: ignore[index]
    with pytest.raises(ContainerTypeError):
        arr[0] = None
    with pytest.raises(ContainerTypeError):
        arr.extend("abc")
    assert arr.as_list() == [b"a", b"b"] and not db.exists("empty")


def test_set_pop_delete_shift_items(db: Database) -> None:
    arr = Array.from_list(db, "a", [str(i) for i in range(15)])
    arr[3] = "three"
    arr[-1] = "last"
    assert arr[3] == b"three" and arr[14] == b"last"
    assert arr.pop() == b"last"
    assert arr.pop(0) == b"0"
    assert arr.pop(-2) == b"12"
    del arr[1]  # "2"
    assert arr.as_list() == [
        b"1",
        b"three",
        b"4",
        b"5",
        b"6",
        b"7",
        b"8",
        b"9",
        b"10",
        b"11",
        b"13",
    ]
    assert sorted(int(k) for k in db.hkeys("a")) == list(range(11))
    while len(arr):
        arr.pop()
    assert not db.exists("a")


def test_contains_extend_and_from_list(db: Database) -> None:
    arr = db.Array("a")
    arr.extend(["x", 2, 3.5])
    arr.extend([])
    assert "x" in arr and b"2" in arr and 3.5 in arr and "y" not in arr
    assert Array.from_list(db, "a", ["z"]).as_list() == [b"x", b"2", b"3.5", b"z"]
    assert Array.from_list(db, "a", ["only"], clear=True).as_list() == [b"only"]
    big = Array.from_list(db, "big", range(2500), clear=True)
    assert len(big) == 2500 and big[2499] == b"2499" and big[-2500] == b"0"
    assert big.pop(10) == b"10" and big[10] == b"11" and len(big) == 2499
    assert big[995:1005] == [str(i).encode() for i in range(996, 1006)]


def test_concurrent_appends_and_pops_are_atomic(db: Database) -> None:
    arr = db.Array("a")

    def appender(tag: str) -> None:
        for i in range(30):
            arr.append(f"{tag}{i}")

    threads = [threading.Thread(target=appender, args=(t,)) for t in "abc"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(arr) == 90
    assert sorted(int(k) for k in db.hkeys("a")) == list(range(90))
    items = arr.as_list()
    for tag in "abc":
        mine = [x for x in items if x.startswith(tag.encode())]
        assert mine == [f"{tag}{i}".encode() for i in range(30)]


def test_round_trips(db: Database) -> None:
    arr = Array.from_list(db, "a", ["a", "b", "c", "d"])
    arr.pop(1)
    arr[-1]
    arr[0:2]
    with RoundTripCounter() as rt:
        arr.pop(1)
        arr.append("e")
        arr[-1]
        arr[0:2]
        del arr[0]
    assert rt.count == 5
