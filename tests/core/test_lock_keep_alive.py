"""Lock.keep_alive: a held lock renewed from the shared renewal thread while a job runs."""

from __future__ import annotations

import time

import pytest

from walrus import Database


def test_keep_alive_holds_a_short_lease_past_its_ttl(db: Database) -> None:
    lock = db.lock("job", ttl=300)
    with lock, lock.keep_alive(interval=0.05) as renewer:
        time.sleep(0.8)  # more than twice the ttl
        assert lock.owned() and renewer.running and not renewer.lost
        assert renewer.renewals >= 5
    assert not lock.locked()  # released on leaving the with block
    assert not renewer.running


def test_renewing_stops_when_the_lock_is_lost(db: Database) -> None:
    lock = db.lock("job", ttl=2000)
    assert lock.acquire(block=False)
    renewer = lock.keep_alive(interval=0.05).start()
    try:
        db.lock("job").clear()  # an operator clears it: it must not be re-created
        deadline = time.monotonic() + 2
        while not renewer.lost and time.monotonic() < deadline:
            time.sleep(0.02)
        assert renewer.lost and not renewer.running
        assert not lock.locked()
    finally:
        renewer.stop()


def test_the_lease_lapses_once_renewal_stops(db: Database) -> None:
    lock = db.lock("job", ttl=200)
    assert lock.acquire(block=False)
    with lock.keep_alive(interval=0.05):
        time.sleep(0.3)
        assert lock.owned()
    time.sleep(0.4)
    assert not lock.locked()


@pytest.mark.parametrize("interval", [0, -1, float("nan"), "1", True])
def test_bad_intervals_are_refused(db: Database, interval: object) -> None:
    with pytest.raises(ValueError, match="interval must be a positive number"):
        db.lock("job", ttl=1000).keep_alive(interval)  # type: ignore[arg-type]


def test_a_lock_without_ttl_has_nothing_to_renew(db: Database) -> None:
    with pytest.raises(ValueError, match="has no ttl"):
        db.lock("job").keep_alive()
