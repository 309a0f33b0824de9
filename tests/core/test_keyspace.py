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
