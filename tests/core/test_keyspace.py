"""walrus.keyspace: SCAN-based counting and deletion by pattern."""

from __future__ import annotations

import pytest

from walrus import Database
from walrus.keyspace import (
    delete_matching,
    escape_glob,
    iter_matching,
    prefix_counts,
    server_summary,
)


def _fill(db: Database) -> None:
    pipe = db.pipeline()
    for i in range(1200):
        pipe.set(f"app:{i}", i)
    for i in range(5):
        pipe.set(f"cache.{i}", i)
    pipe.set("plain", 1)
    pipe.set("we*ird:1", 1)
    pipe.execute()


def test_delete_matching_batches_and_reports_progress(db: Database) -> None:
    _fill(db)
    progress: list[int] = []
    assert delete_matching(db, ["app:*"], batch=500, dry_run=True) == 1200
    assert db.dbsize() == 1207
    assert delete_matching(db, ["app:*", "app:1*"], batch=500, on_progress=progress.append) == 1200
    assert progress[-1] == 1200 and len(progress) >= 3
    assert db.dbsize() == 7
    assert sorted(db.keys("cache.*")) == [f"cache.{i}".encode() for i in range(5)]


def test_escape_glob_matches_literally(db: Database) -> None:
    _fill(db)
    db.set("weXird:1", 1)
    assert list(iter_matching(db, [escape_glob("we*ird:") + "*"])) == [b"we*ird:1"]
    assert delete_matching(db, [escape_glob("we*ird:") + "*"]) == 1
    assert db.exists("weXird:1")


def test_bad_pattern_rejected_before_deleting(db: Database) -> None:
    _fill(db)
    with pytest.raises(ValueError, match="non-empty string"):
        delete_matching(db, ["app:*", ""])
    with pytest.raises(ValueError, match="batch must be >= 1"):
        delete_matching(db, ["app:*"], batch=0)
    assert db.dbsize() == 1207


def test_prefix_counts(db: Database) -> None:
    _fill(db)
    counts = prefix_counts(db)
    assert counts["app:"] == 1200
    assert counts["cache."] == 5
    assert counts["plain"] == 1
    assert list(counts)[0] == "app:"
    assert sum(prefix_counts(db, limit=100).values()) == 100


def test_server_summary(db: Database) -> None:
    _fill(db)
    summary = server_summary(db)
    assert summary["keys"] == 1207
    assert summary["redis_version"]


def test_prefix_sizes_are_estimated_per_prefix(db: Database) -> None:
    from walrus.keyspace import prefix_memory

    for i in range(30):
        db.set(f"big:{i}", "x" * 1000)
    db.set("small:1", "x")
    stats = prefix_memory(db, per_prefix=5)
    assert [prefix for prefix in stats] == ["big:", "small:"]  # most keys first
    (big_keys, big_bytes), (small_keys, small_bytes) = stats["big:"], stats["small:"]
    assert (big_keys, small_keys) == (30, 1)
    if db.is_embedded:  # no MEMORY USAGE in the embedded engine
        assert big_bytes is None and small_bytes is None
    else:
        assert 30_000 <= big_bytes < 60_000 and 0 < small_bytes < 200
    assert prefix_memory(db, limit=10)["big:"][0] <= 10
