"""walrus.List: list-like interface over a Redis list."""

from __future__ import annotations

import threading

import pytest

from walrus import Database, List
from walrus.containers.errors import ContainerIndexError, ContainerTypeError, ContainerValueError
from walrus.roundtrips import RoundTripCounter


def _filled(db: Database, values: list[str]) -> List:
    lst = db.List("l")
    lst.extend(values)
    return lst


def test_push_pop_and_len(db: Database) -> None:
    lst = db.List("l")
    assert len(lst) == 0
    assert lst.append("b") == 1
    assert lst.prepend("a") == 2
    assert lst.extend(["c", 4, 5.5]) == 5
    assert lst.extend([]) == 5
    assert lst.as_list() == [b"a", b"b", b"c", b"4", b"5.5"]
    assert lst.as_list(decode=True) == ["a", "b", "c", "4", "5.5"]
    assert list(lst) == [b"a", b"b", b"c", b"4", b"5.5"]
    assert lst.popleft() == b"a"
    assert lst.popright() == b"5.5"
    assert len(lst) == 3
    assert db.List("empty").popleft() is None and db.List("empty").popright() is None


def test_getitem_indexes_and_slices_match_python(db: Database) -> None:
    py = ["a", "b", "c", "d", "e"]
    lst = _filled(db, py)
    enc = [v.encode() for v in py]
    for i in range(-5, 5):
        assert lst[i] == enc[i]
    for bad in (5, -6, 100):
        assert lst[bad] is None  # LINDEX's reply, as upstream
    for start in (None, -7, -5, -2, 0, 1, 3, 5, 9):
        for stop in (None, -7, -5, -1, 0, 2, 4, 5, 9):
            assert lst[start:stop] == enc[start:stop], (start, stop)
    assert lst[::2] == enc[::2]
    assert lst[::-1] == enc[::-1]
    assert lst[4:0:-2] == enc[4:0:-2]
    with pytest.raises(ValueError, match="zero"):
        lst[::0]
    with pytest.raises(ContainerTypeError, match="List index must be an integer, got str"):
        lst["1"]  # type: ignore[index]


def test_setitem_and_out_of_range(db: Database) -> None:
    lst = _filled(db, ["a", "b", "c"])
    lst[0] = "A"
    lst[-1] = "C"
    assert lst.as_list() == [b"A", b"b", b"C"]
    with pytest.raises(ContainerIndexError, match="index 3 out of range"):
        lst[3] = "x"
    with pytest.raises(IndexError):
        db.List("missing")[0] = "x"
    with pytest.raises(ContainerTypeError, match="slice assignment"):
        lst[0:1] = "x"  # type: ignore[call-overload]
    with pytest.raises(ContainerTypeError, match="list"):
        lst[0] = ["x"]
    assert lst.as_list() == [b"A", b"b", b"C"]
    assert not db.exists("missing")


def test_del_by_index_removes_that_position_only(db: Database) -> None:
    lst = _filled(db, ["x", "y", "x", "z", "x"])
    del lst[2]  # the middle "x", not the first one
    assert lst.as_list() == [b"x", b"y", b"z", b"x"]
    del lst[-1]
    assert lst.as_list() == [b"x", b"y", b"z"]
    del lst[0]
    assert lst.as_list() == [b"y", b"z"]
    del lst[2]  # out of range: nothing to delete (upstream does the same)
    del lst[-3]
    del db.List("nothing")[0]
    assert lst.as_list() == [b"y", b"z"]
    assert not db.exists("nothing")


def test_del_by_value_and_by_slice(db: Database) -> None:
    lst = _filled(db, ["a", "b", "a", "c", "a"])
    del lst["a"]
    assert lst.as_list() == [b"b", b"c"]
    del lst[b"zz"]
    assert lst.as_list() == [b"b", b"c"]
    lst = _filled(db, ["d", "e", "f"])  # now b c d e f
    del lst[1:4]  # trims to ONLY c d e (the reference's semantics)
    assert lst.as_list() == [b"c", b"d", b"e"]
    del lst[-2:]
    assert lst.as_list() == [b"d", b"e"]
    del lst[:0]
    assert lst.as_list() == [] and not db.exists("l")
    with pytest.raises(ContainerValueError):
        del lst[::2]
    with pytest.raises(ContainerTypeError, match="del expects"):
        del lst[None]  # type: ignore[arg-type]


def test_del_by_index_is_atomic_under_concurrency(db: Database) -> None:
    lst = _filled(db, [str(i) for i in range(200)])

    def worker() -> None:
        for _ in range(25):
            del lst[0]

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert lst.as_list() == [str(i).encode() for i in range(100, 200)]


@pytest.mark.min_redis("6.0.6")  # LPOS (`in`), fractional BLPOP timeouts
def test_contains_insert_and_blocking_pops(db: Database) -> None:
    lst = _filled(db, ["a", "c"])
    assert "a" in lst and b"c" in lst and "b" not in lst
    assert lst.insert_before("b", "c") == 3
    assert lst.insert_after("d", "c") == 4
    assert lst.insert_after("x", "nope") == -1
    assert lst.as_list() == [b"a", b"b", b"c", b"d"]
    assert lst.bpopleft(timeout=1) == b"a"
    assert lst.bpopright(timeout=1) == b"d"
    assert db.List("empty").bpopleft(timeout=0.1) is None


def test_from_list(db: Database) -> None:
    db.rpush("l", "old")
    assert List.from_list(db, "l", ["a", "b"]).as_list() == [b"old", b"a", b"b"]
    assert List.from_list(db, "l", ["c"], clear=True).as_list() == [b"c"]
    with pytest.raises(ContainerTypeError, match="iterable"):
        List.from_list(db, "l", "abc")
    with pytest.raises(ContainerTypeError):
        db.List("l").extend([1, object()])
    assert db.lrange("l", 0, -1) == [b"c"]


def test_round_trips(db: Database) -> None:
    lst = _filled(db, ["a", "b", "c", "d"])
    with RoundTripCounter() as rt:
        del lst[1]
    assert rt.count == 1
    with RoundTripCounter() as rt:
        lst[0:2]
        lst[-1]
        lst.append("e")
    assert rt.count == 3
