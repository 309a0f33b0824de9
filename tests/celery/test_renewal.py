"""LockRenewer: renews every ttl/3 on the shared thread, stops cleanly, notices a lost lock."""

from __future__ import annotations

import time
from typing import Any

import pytest

from celery_walrus import LockRenewer
from walrus import Database


@pytest.fixture
def rdb(redis_url: str) -> Any:
    database = Database.from_url(redis_url)
    yield database
    database.close()


def test_renews_until_stopped(rdb: Database) -> None:
    lock = rdb.lock("renewed", ttl=300)
    assert lock.acquire(block=False)
    renewer = LockRenewer(lock).start()
    assert renewer.interval == pytest.approx(0.1)
    time.sleep(0.8)  # > 2 ttls
    assert lock.owned() and renewer.renewals >= 4 and renewer.running
    renewer.stop()
    count = renewer.renewals
    time.sleep(0.4)
    assert renewer.renewals == count and not lock.locked()  # expired once renewals stopped


def test_many_renewers_share_one_thread(rdb: Database) -> None:
    locks = [rdb.lock(f"many{i}", ttl=300) for i in range(20)]
    renewers = []
    for lock in locks:
        assert lock.acquire(block=False)
        renewers.append(LockRenewer(lock).start())
    time.sleep(0.5)
    assert all(lock.owned() for lock in locks)
    for renewer in renewers:
        renewer.stop()
    assert all(r.renewals >= 2 for r in renewers)


def test_lost_lock_is_noticed_and_not_recreated(rdb: Database) -> None:
    lock = rdb.lock("lost", ttl=300)
    assert lock.acquire(block=False)
    renewer = LockRenewer(lock).start()
    lock.clear()  # an operator forces it free
    rdb.set("lock:lost", "someone-else", px=5000)
    time.sleep(0.3)
    assert renewer.lost and not renewer.running
    assert rdb.get("lock:lost") == b"someone-else"
    renewer.stop()


def test_bad_arguments(rdb: Database) -> None:
    with pytest.raises(ValueError, match="has no ttl"):
        LockRenewer(rdb.lock("no-ttl"))
    with pytest.raises(ValueError, match="interval must be a positive"):
        LockRenewer(rdb.lock("x", ttl=100), interval=0)
