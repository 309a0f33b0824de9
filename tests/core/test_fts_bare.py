"""``Index(..., token_lists=False)``: upstream walrus's key layout only (no per-document token
list), less memory; adding is 1 round trip, re-indexing and removing 2. Runs on every core
backend (one server over RESP2/RESP3, memory://, the cluster)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.stored import stored
from walrus import Database
from walrus.fts import Index
from walrus.roundtrips import RoundTripCounter


def rounds(call: Any) -> int:
    with RoundTripCounter() as rt:
        call()
    return rt.count


def test_bare_index_costs_and_layout(db: Database) -> None:
    bare, tracked = Index(db, "bare", token_lists=False), Index(db, "tracked")
    db.ping()
    costs = []
    for index in (bare, tracked):
        costs.append(
            (
                rounds(lambda i=index: i.add("k1", "walrus tusks in the sea", n=1)),
                rounds(lambda i=index: i.update("k1", "walrus fins")),
                rounds(lambda i=index: i.remove("k1")),
            )
        )
        index.add("k2", "walrus fins", n=2)
    assert costs == [(1, 2, 2), (1, 1, 1)]
    assert bare.token_lists is False and db.exists(bare.tokens_key) == 0
    assert db.hkeys(tracked.tokens_key) == [b"k2"]
    # Apart from the token list (and the index name), the two layouts hold the same data.
    renamed = {
        key.replace(b"tracked", b"bare"): value
        for key, value in stored(db).items()
        if b"tracked" in key and key != tracked.tokens_key.encode()
    }
    assert renamed == {key: value for key, value in stored(db).items() if b"bare" in key}
    assert bare.search_items("fins") == [("k2", {"content": "walrus fins", "n": "2"})]
    assert bare.search("tusk") == []  # the old tokens left with the update


def test_either_setting_reads_and_rewrites_the_others_documents(db: Database) -> None:
    tracked, bare = Index(db, "app"), Index(db, "app", token_lists=False)
    tracked.add("d1", "walrus tusks")
    assert db.hexists(tracked.tokens_key, "d1")
    assert rounds(lambda: bare.update("d1", "walrus fins")) == 2
    assert not db.hexists(tracked.tokens_key, "d1")  # a bare write drops the stale list
    assert tracked.search("tusk") == [] and len(tracked.search("fins")) == 1
    assert rounds(lambda: tracked.update("d1", "narwhal")) == 2  # no list: content read back
    assert rounds(lambda: tracked.update("d1", "beluga")) == 1  # it has one again
    bare.remove("d1")
    assert db.keys("*") == []


def test_token_lists_must_be_a_bool(db: Database) -> None:
    for bad in ("no", 0, None):
        with pytest.raises(TypeError, match="token_lists must be True or False"):
            Index(db, "app", token_lists=bad)  # type: ignore[arg-type]
    assert db.keys("*") == []
