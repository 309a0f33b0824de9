"""Bad input the suite found: each fixed case is a regression test; each case not fixed yet
(in a file another engineer is changing, or a policy to decide) is a strict xfail, so the
bug stays visible and the xfail turns into a failure the day it is fixed.

"Refused before anything is sent" is tested on a Database whose port nothing listens on:
a call that reaches the network raises ConnectionError instead of the clear error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bad_input.harness import outcome
from redis_server import free_port

from walrus import Database
from walrus.containers.errors import ContainerValueError

pytestmark = pytest.mark.backends("resp2")


@pytest.fixture
def offline() -> Iterator[Database]:
    database = Database(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    yield database
    database.close()


# -- containers: fixed (regression tests) -------------------------------------------------------

@pytest.mark.parametrize(
    "call",
    [
        lambda db: db.Hash("h")["\ud800"],
        lambda db: "\ud800" in db.Hash("h"),
        lambda db: db.Hash("h").__delitem__("\ud800"),
        lambda db: "\ud800" in db.ZSet("z"),
        lambda db: db.ZSet("\ud800").add({"m": 1}),
        lambda db: db.ZSet("z").add({"m": b"\x80"}),
        lambda db: db.ZSet("z").count(b"\x80"),
        lambda db: db.ZSet("z").range_by_score(b"\x80", 1),
        lambda db: db.ZSet("z").remove_by_score(0, b"\x80"),
        lambda db: db.Stream("st").trim(count=2**63),
        lambda db: db.Set("s").random(2**63),
    ],
    ids=["hash-get-surrogate", "hash-contains-surrogate", "hash-del-surrogate",
         "zset-contains-surrogate", "zset-key-surrogate", "zset-score-non-utf8",
         "zset-count-non-utf8", "zset-range-non-utf8", "zset-remove-non-utf8",
         "stream-trim-2**63", "set-random-2**63"],
)
def test_container_refusals_are_clear_and_change_nothing(db: Database, call: Any) -> None:
    db.Hash("h")["f"] = "v"
    db.ZSet("z").add({"a": 1})
    db.Stream("st").add({"k": "v"})
    db.Set("s").add("a")
    result = outcome(db, lambda: call(db))
    assert isinstance(result.error, ContainerValueError), result


def test_huge_indexes_lie_past_the_ends(db: Database) -> None:
    db.List("l").extend(["a", "b"])
    db.ZSet("z").add({"a": 1, "b": 2})
    db.bit_field("bits").set_bit(0, 1)
    assert db.List("l")[2**63] is db.List("l")[5] is None  # LINDEX past the end, as upstream
    assert db.List("l")[-(2**70): 2**70] == [b"a", b"b"]
    assert db.ZSet("z").remove_by_rank(2**63) == 0
    assert db.ZSet("z").popmax_compat(2**63 + 1) == [(b"b", 2.0), (b"a", 1.0)]
    assert db.bit_field("bits").bit_count(None, 2**63) == 1
    assert db.Hash("h")[[]] == []


def test_expiry_out_of_range_is_a_clear_error(db: Database) -> None:
    db.Hash("h")["f"] = "v"
    for call in (lambda: db.Hash("h").expire(2**62), lambda: db.Hash("h").pexpire(2**63 - 2)):
        result = outcome(db, call)
        assert isinstance(result.error, ContainerValueError) and "ttl" in str(result.error)


# -- not fixed yet (reported) ------------------------------------------------------------------

@pytest.mark.xfail(strict=True, reason="bug: Set.random(n) sends SRANDMEMBER with any negative n; "
                   "the server then builds |n| replies (n=-2**40: a hang and unbounded memory) (reported)")
def test_set_random_refuses_a_count_no_set_can_answer(offline: Database) -> None:
    with pytest.raises(ContainerValueError):
        offline.Set("s").random(-(2**40))
