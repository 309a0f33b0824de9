"""Containers on a key of another Redis type: a clear WrongTypeError, nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from redis.exceptions import ResponseError

from walrus import Database, WalrusError
from walrus.containers.errors import (
    ContainerIndexError,
    ContainerTypeError,
    ContainerValueError,
    WrongTypeError,
)


def _snapshot(db: Database) -> dict[bytes, Any]:
    out: dict[bytes, Any] = {}
    for key in sorted(db.keys("*")):
        kind = db.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        out[key] = (kind, db.dump(key))
    return out


def _fill(db: Database) -> None:
    db.set("str", "plain text")
    db.rpush("list", "x", "y")
    db.hset("hash", mapping={"f": "v"})
    db.sadd("set", "m")
    db.zadd("zset", {"m": 1})


CASES: list[tuple[str, str, Callable[[Database], Any]]] = [
    ("Hash on list", "list", lambda db: db.Hash("list")["f"]),
    ("Hash setitem on list", "list", lambda db: db.Hash("list").__setitem__("f", "v")),
    ("Hash update on zset", "zset", lambda db: db.Hash("zset").update(a=1)),
    ("Hash items lazy on set", "set", lambda db: list(db.Hash("set").items(lazy=True))),
    ("Hash as_dict on str", "str", lambda db: db.Hash("str").as_dict()),
    ("Hash incr on set", "set", lambda db: db.Hash("set").incr("x")),
    ("List append on hash", "hash", lambda db: db.List("hash").append("v")),
    ("List del index on hash", "hash", lambda db: db.List("hash").__delitem__(0)),
    ("List slice on set", "set", lambda db: db.List("set")[0:2]),
    ("List iter on zset", "zset", lambda db: list(db.List("zset"))),
    ("Set add on list", "list", lambda db: db.Set("list").add("z")),
    ("Set members on hash", "hash", lambda db: db.Set("hash").members()),
    ("Set iter on str", "str", lambda db: list(db.Set("str"))),
    ("ZSet add on set", "set", lambda db: db.ZSet("set").add(a=1)),
    ("ZSet add dict on list", "list", lambda db: db.ZSet("list").add({"a": 1, "b": 2.5})),
    ("ZSet rank slice on hash", "hash", lambda db: db.ZSet("hash")[1:]),
    ("ZSet rank on str", "str", lambda db: db.ZSet("str")[0]),
    ("ZSet slice with scores on list", "list", lambda db: db.ZSet("list")[:2, True]),
    ("ZSet member slice on hash", "hash", lambda db: db.ZSet("hash")["a":"b"]),
    ("ZSet popmin on list", "list", lambda db: db.ZSet("list").popmin()),
    ("ZSet popmax_compat on hash", "hash", lambda db: db.ZSet("hash").popmax_compat()),
    ("Array append on list", "list", lambda db: db.Array("list").append("v")),
    ("Array pop on set", "set", lambda db: db.Array("set").pop()),
    ("Array negative get on zset", "zset", lambda db: db.Array("zset")[-1]),
    ("Array setitem on str", "str", lambda db: db.Array("str").__setitem__(0, "v")),
    ("Array iter on list", "list", lambda db: list(db.Array("list"))),
    ("HyperLogLog add on list", "list", lambda db: db.HyperLogLog("list").add("a")),
]


@pytest.mark.parametrize(("label", "key", "call"), CASES, ids=[c[0] for c in CASES])
def test_wrong_type_names_key_and_type(
    db: Database, label: str, key: str, call: Callable[[Database], Any]
) -> None:
    _fill(db)
    before = _snapshot(db)
    with pytest.raises(WrongTypeError) as info:
        call(db)
    err = info.value
    actual = "string" if key == "str" else key
    assert err.key == key and err.actual == actual
    assert f"key '{key}' holds a {actual}" in str(err)
    assert isinstance(err, WalrusError) and isinstance(err, ResponseError)
    assert _snapshot(db) == before


def test_wrong_type_names_the_other_key(db: Database) -> None:
    _fill(db)
    db.sadd("s2", "a")
    before = _snapshot(db)
    with pytest.raises(WrongTypeError, match="key 'hash' holds a hash, expected a set"):
        db.Set("s2").unionstore("dest", "set", db.Set("hash"))
    with pytest.raises(WrongTypeError, match="key 'list' holds a list"):
        db.Set("s2") & db.Set("list")
    with pytest.raises(WrongTypeError, match="key 'hash' holds a hash, expected a zset"):
        db.ZSet("zset").interstore("dest", "set", "hash")
    assert _snapshot(db) == before


def test_plain_string_is_not_a_hyperloglog(db: Database) -> None:
    _fill(db)
    db.HyperLogLog("hll").add("a")
    before = _snapshot(db)
    with pytest.raises(WrongTypeError, match="key 'str' holds a string \\(not a HyperLogLog\\)"):
        db.HyperLogLog("str").add("x")
    with pytest.raises(WrongTypeError, match="'str'"):
        db.HyperLogLog("hll").merge("dest", "str")
    with pytest.raises(WrongTypeError, match="key 'list' holds a list"):
        db.HyperLogLog("hll").merge("list")
    assert _snapshot(db) == before


def test_error_classes() -> None:
    assert issubclass(ContainerTypeError, TypeError) and issubclass(ContainerTypeError, WalrusError)
    assert issubclass(ContainerValueError, ValueError) and issubclass(
        ContainerValueError, WalrusError
    )
    assert issubclass(ContainerIndexError, IndexError) and issubclass(
        ContainerIndexError, WalrusError
    )


def test_other_server_errors_pass_through(db: Database) -> None:
    db.hset("h", "f", "text")
    with pytest.raises(ContainerValueError, match="cannot increment field 'f'"):
        db.Hash("h").incr("f", 1.5)
    assert db.hget("h", "f") == b"text"
