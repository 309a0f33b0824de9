"""walrus.ZSet: sorted set acting like a set and a dict of member -> score."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from walrus import Database, Set, ZSet
from walrus.containers.errors import ContainerTypeError, ContainerValueError
from walrus.roundtrips import RoundTripCounter


def _abc(db: Database) -> ZSet:
    return ZSet.from_dict(db, "z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})


def test_add_forms_and_caller_dict_untouched(db: Database) -> None:
    zs = db.ZSet("z")
    data = {"a": 1}
    assert zs.add(data) == 1
    assert data == {"a": 1}
    assert zs.add(b=2, c="3.5") == 2
    assert zs.add({"d": 4}, e=5) == 2
    assert zs.add("f", 6, "g", "-inf") == 2
    assert zs.add() == 0
    assert zs.add({"a": 10}) == 0
    assert zs.add({}) == 0
    zs["h"] = 0.5
    assert zs.as_items() == [
        (b"g", float("-inf")),
        (b"h", 0.5),
        (b"b", 2.0),
        (b"c", 3.5),
        (b"d", 4.0),
        (b"e", 5.0),
        (b"f", 6.0),
        (b"a", 10.0),
    ]
    assert zs.as_items(decode=True)[0] == ("g", float("-inf"))
    assert len(zs) == 8


def test_add_rejects_bad_scores_and_members_before_writing(db: Database) -> None:
    zs = _abc(db)
    with pytest.raises(ContainerValueError, match="score of 'x' must be a number, got 'abc'"):
        zs.add({"x": "abc"})
    with pytest.raises(ContainerTypeError, match="score of 'y' must be a number, got NoneType"):
        zs.add(x=1, y=None)
    with pytest.raises(ContainerValueError, match="NaN"):
        zs["x"] = float("nan")
    with pytest.raises(ContainerTypeError, match="member must be"):
        zs.add({("t", "u"): 1})
    with pytest.raises(ContainerTypeError, match="pairs"):
        zs.add("x", 1, "y")
    # A plain dict takes a faster path; it must refuse the same things, sending nothing.
    with RoundTripCounter() as rt:
        with pytest.raises(ContainerValueError, match="score of 'y' must not be NaN"):
            zs.add({"x": 1, "y": float("nan")})
        with pytest.raises(ContainerTypeError, match="score of 'x' must be a number, got bool"):
            zs.add({"x": True})
        with pytest.raises(ContainerTypeError, match="member must be"):
            zs.add({"x": 1, True: 2})
        with pytest.raises(ContainerTypeError, match="member must be"):
            zs.add({"x": 1, None: 2})
    assert rt.count == 0
    with pytest.raises(ContainerTypeError):
        zs.incr("a", [1])
    assert zs.as_items() == [(b"a", 1.0), (b"b", 2.0), (b"c", 3.0), (b"d", 4.0), (b"e", 5.0)]


def test_rank_slicing_with_and_without_scores(db: Database) -> None:
    zs = _abc(db)
    members = [b"a", b"b", b"c", b"d", b"e"]
    scored = [(m, float(i + 1)) for i, m in enumerate(members)]
    for start in (None, -7, -2, 0, 1, 4, 6):
        for stop in (None, -7, -1, 0, 2, 5, 8):
            assert zs[start:stop] == members[start:stop], (start, stop)
            assert zs[start:stop, True] == scored[start:stop], (start, stop)
    assert zs[:2, False] == [b"a", b"b"]
    assert zs[::-1] == members[::-1]
    assert zs[::2, True] == scored[::2]
    assert zs[0] == [b"a"] and zs[-1] == [b"e"] and zs[-1, True] == [(b"e", 5.0)]
    assert zs[99] == []


def test_member_bound_slicing_is_inclusive(db: Database) -> None:
    zs = _abc(db)
    assert zs["b":"d"] == [b"b", b"c", b"d"]
    assert zs["b":"d", True] == [(b"b", 2.0), (b"c", 3.0), (b"d", 4.0)]
    assert zs[:"c"] == [b"a", b"b", b"c"]
    assert zs["d":] == [b"d", b"e"]
    assert zs[1:"c"] == [b"b", b"c"]
    assert zs["c"] == [b"c"]
    with pytest.raises(KeyError, match="nope"):
        zs["nope":"d"]
    with pytest.raises(KeyError, match="zz"):
        zs["a":"zz"]
    with pytest.raises(ValueError):
        zs["a":"c":2]
    with pytest.raises(ContainerTypeError):
        zs[1.5:3]  # type: ignore[misc]
    with pytest.raises(ContainerTypeError, match="with_scores"):
        zs[:2, "yes"]


def test_delitem_variants(db: Database) -> None:
    zs = _abc(db)
    del zs["a"]
    assert zs[:] == [b"b", b"c", b"d", b"e"]
    del zs["b", "c"]
    assert zs[:] == [b"d", b"e"]
    zs = _abc(db)
    del zs[1:3]
    assert zs[:] == [b"a", b"d", b"e"]
    del zs["d":]
    assert zs[:] == [b"a"]
    zs = _abc(db)
    del zs[:"b"]
    assert zs[:] == [b"c", b"d", b"e"]
    with pytest.raises(KeyError):
        del zs["x":"e"]
    del zs[:0]
    assert len(zs) == 3


def test_scores_ranks_counts_and_incr(db: Database) -> None:
    zs = _abc(db)
    assert zs.score("c") == 3.0 and zs.score("zz") is None
    assert zs.rank("a") == 0 and zs.rank("a", reverse=True) == 4 and zs.rank("zz") is None
    assert "a" in zs and "zz" not in zs
    assert zs.count(2, 4) == 3
    assert zs.count(3) == 1
    assert zs.count("(2", "+inf") == 3
    assert zs.count("-inf", "(1") == 0
    assert zs.incr("a") == 2.0
    assert zs.incr("a", 0.5) == 2.5
    assert zs.incr("new", -2) == -2.0
    with pytest.raises(ContainerValueError, match="low must be a number"):
        zs.count("abc", 3)


def test_range_is_by_rank_as_upstream(db: Database) -> None:
    zs = _abc(db)
    assert zs.range(0, 2) == [b"a", b"b", b"c"]
    assert zs.range(0, -1) == [b"a", b"b", b"c", b"d", b"e"]
    assert zs.range(-2, -1, with_scores=True) == [(b"d", 4.0), (b"e", 5.0)]
    assert zs.range(0, 1, desc=True) == [b"e", b"d"]
    assert zs.range(0, 1, reverse=True, with_scores=True) == [(b"e", 5.0), (b"d", 4.0)]
    assert zs.range(3, 1) == [] and zs.range(9, 12) == []
    with pytest.raises(ContainerTypeError, match="low must be an integer"):
        zs.range("(2", "+inf")


def test_range_by_score_orders_and_pages(db: Database) -> None:
    zs = _abc(db)
    assert zs.range_by_score(2, 4) == [b"b", b"c", b"d"]
    assert zs.range_by_score(4, 2) == [b"b", b"c", b"d"]  # bounds in either order
    assert zs.range_by_score(2, 4, with_scores=True) == [(b"b", 2.0), (b"c", 3.0), (b"d", 4.0)]
    assert zs.range_by_score(2, 4, reverse=True) == [b"d", b"c", b"b"]
    assert zs.range_by_score(2, 4, reverse=True, with_scores=True) == [
        (b"d", 4.0),
        (b"c", 3.0),
        (b"b", 2.0),
    ]
    assert zs.range_by_score("(2", "+inf") == [b"c", b"d", b"e"]
    assert zs.range_by_score("-inf", "(3") == [b"a", b"b"]
    assert zs.range_by_score(1, 5, start=1, num=2) == [b"b", b"c"]
    assert zs.range_by_score(1, 5, start=3) == [b"d", b"e"]
    assert zs.range_by_score(1, 5, num=1, reverse=True) == [b"e"]
    with pytest.raises(ContainerValueError, match="low must be a number"):
        zs.range_by_score("abc", 3)


def test_lex_ranges(db: Database) -> None:
    zs = ZSet.from_dict(db, "lex", {m: 0 for m in ["apple", "banana", "cherry", "date"]})
    assert zs.range_by_lex("[b", "(d") == [b"banana", b"cherry"]
    assert zs.range_by_lex("-", "+") == [b"apple", b"banana", b"cherry", b"date"]
    assert zs.range_by_lex("-", "+", start=1, num=2) == [b"banana", b"cherry"]
    assert zs.range_by_lex("-", "+", reverse=True) == [b"date", b"cherry", b"banana", b"apple"]
    assert zs.range_by_lex("+", "-", reverse=True, num=1) == [b"date"]
    assert zs.lex_count("[b", "+") == 3
    assert zs.lex_count("(banana", "[cherry") == 1
    with pytest.raises(ContainerValueError, match="'\\[value'"):
        zs.range_by_lex("b", "d")


def test_remove_by_rank_and_score(db: Database) -> None:
    zs = _abc(db)
    assert zs.remove_by_rank(0) == 1
    assert zs[:] == [b"b", b"c", b"d", b"e"]
    assert zs.remove_by_rank(-2, -1) == 2
    assert zs.remove_by_score(3) == 1
    assert zs[:] == [b"b"]
    zs = _abc(db)
    assert zs.remove_by_score("(1", 4) == 3
    assert zs[:] == [b"a", b"e"]
    assert zs.remove("a", "zz") == 1 and zs.remove() == 0


def test_pops(db: Database) -> None:
    zs = _abc(db)
    assert zs.popmin() == [(b"a", 1.0)]
    assert zs.popmax(2) == [(b"e", 5.0), (b"d", 4.0)]
    assert zs.popmin_compat() == [(b"b", 2.0)]
    assert zs.popmax_compat(5) == [(b"c", 3.0)]
    assert zs.popmin() == [] and zs.popmax() == []  # upstream's empty reply
    assert zs.popmin_compat() == [] and zs.popmax_compat() == []
    with pytest.raises(ContainerValueError, match="count"):
        zs.popmin(0)
    zs = _abc(db)
    assert zs.popmin_compat(2) == [(b"a", 1.0), (b"b", 2.0)]
    assert zs.popmax_compat(2) == [(b"e", 5.0), (b"d", 4.0)]


@pytest.mark.min_redis("6.0")  # fractional BZPOPMIN timeouts
def test_blocking_pops(db: Database) -> None:
    zs = _abc(db)
    assert zs.bpopmin(timeout=1) == (b"a", 1.0)
    assert zs.bpopmax(timeout=1) == (b"e", 5.0)
    empty = db.ZSet("empty")
    assert empty.bpopmin(timeout=0.1) is None
    with pytest.raises(ContainerValueError, match="timeout"):
        empty.bpopmax(timeout=-1)


def test_bpopmin_wakes_up_on_add(db: Database) -> None:
    zs = db.ZSet("z")
    result: list[object] = []
    t = threading.Thread(target=lambda: result.append(zs.bpopmin(timeout=5)))
    t.start()
    time.sleep(0.2)
    zs.add(x=7)
    t.join()
    assert result == [(b"x", 7.0)]


def test_iteration_and_search(db: Database) -> None:
    zs = db.ZSet("z")
    zs.add({f"m{i}": i for i in range(300)})
    assert sorted(zs, key=lambda p: p[1]) == [(f"m{i}".encode(), float(i)) for i in range(300)]
    found = sorted(zs.search("m1?"), key=lambda p: p[1])
    assert found == [(f"m{i}".encode(), float(i)) for i in range(10, 20)]
    assert len(list(zs.search("*", count=4))) == 4


def test_store_operations(db: Database) -> None:
    a = ZSet.from_dict(db, "a", {"x": 1, "y": 2})
    b = ZSet.from_dict(db, "b", {"y": 10, "z": 3})
    plain = Set.from_set(db, "plain", ["y", "w"])
    u = a.unionstore("u", b)
    assert isinstance(u, ZSet) and u.key == "u"
    assert u.as_items() == [(b"x", 1.0), (b"z", 3.0), (b"y", 12.0)]
    i = a.interstore("i", b, aggregate="max")
    assert i.as_items() == [(b"y", 10.0)]
    w = a.unionstore("w", "b", weights=[2, 1])
    assert w.as_items() == [(b"x", 2.0), (b"z", 3.0), (b"y", 14.0)]
    assert a.interstore("ip", plain).as_items() == [(b"y", 3.0)]
    with pytest.raises(ContainerValueError, match="aggregate"):
        a.unionstore("bad", b, aggregate="avg")
    with pytest.raises(ContainerValueError, match="weights"):
        a.unionstore("bad", b, weights=[1])
    with pytest.raises(TypeError, match="unexpected"):
        a.unionstore("bad", b, nope=1)
    assert not db.exists("bad")


def test_round_trips(db: Database) -> None:
    zs = _abc(db)
    zs["b":"d", True]  # warm the script cache
    with RoundTripCounter() as rt:
        zs[:3, True]
        zs["b":"d", True]
        zs.add(a=1, z=9)
        zs.popmin_compat(2)
        zs.range_by_score(1, 4, with_scores=True)
        zs.range(0, 1)
    assert rt.count == 6


def _shapes(db: Database) -> list[object]:
    db.flushdb()
    zs = ZSet.from_dict(db, "z", {"a": 1, "b": 2.5, "c": 3})
    h = db.Hash("h")
    h.update(f=1)
    out: list[object] = [
        zs[:, True],
        zs["a":"b", True],
        zs.range_by_score(0, 10, with_scores=True),
        zs.range(0, -1, with_scores=True),
        zs.as_items(),
        list(zs),
        list(zs.search("*")),
        zs.score("a"),
        zs.rank("c"),
        zs.incr("a", 1),
        zs.popmin(),
        zs.popmax(1),
        zs.popmin_compat(),
        zs.bpopmin(1),
        zs.popmax(),
        h.as_dict(),
        h.items(),
        list(h),
        h["f", "g"],
        db.List("l").bpopleft(0.05),
    ]
    db.List("l").extend(["x"])
    out += [
        db.List("l").bpopleft(1),
        db.Set("s").add("m"),
        db.Set("s").members(),
        db.Set("s") | db.Set("s"),
    ]
    db.flushdb()
    return out


def test_resp2_and_resp3_return_identical_shapes(redis_server: Any, redis_url: str) -> None:
    if redis_server.version < (6, 0):
        pytest.skip("RESP3 (HELLO 3) and fractional blocking timeouts need Redis >= 6.0")
    resp2 = Database.from_url(redis_url, protocol=2)
    resp3 = Database.from_url(redis_url, protocol=3)
    try:
        a, b = _shapes(resp2), _shapes(resp3)
        assert repr(a) == repr(b)  # repr also compares tuple vs list and int vs float
        assert a[0] == [(b"a", 1.0), (b"b", 2.5), (b"c", 3.0)]
    finally:
        resp2.close()
        resp3.close()
