"""Regression tests for a former rate-limit bug: a very long window (per=1e14 s) was accepted,
then every request failed with a raw ResponseError from PEXPIRE ("1e+14" is not an integer).
Windows are now bounded (100 years) and refused when the limit is built, before any write;
the longest accepted window works."""

from __future__ import annotations

import pytest

from tests.bad_input.harness import outcome
from walrus import Database
from walrus.rate_limit import MAX_WINDOW

pytestmark = pytest.mark.backends("resp2")


def test_rate_limit_with_a_very_long_window(db: Database) -> None:
    result = outcome(db, lambda: db.rate_limit("rl", 2, 1e14).limit("k"))
    assert result.refused
    with pytest.raises(ValueError, match="per must be a positive number of seconds between"):
        db.rate_limit("rl", 2, 1e14)


@pytest.mark.parametrize(
    "strategy", ["moving-window", "fixed-window", "sliding-window-counter", "gcra"]
)
def test_the_longest_window_counts(db: Database, strategy: str) -> None:
    limiter = db.rate_limit("rl", 2, MAX_WINDOW, strategy=strategy)
    assert [limiter.limit("k") for _ in range(3)] == [False, False, True]
    # the sliding-window counter keeps its state two windows (the previous one still weighs)
    assert 0 < db.pttl(limiter.prepared.storage_key("k")) <= 2 * MAX_WINDOW * 1000
