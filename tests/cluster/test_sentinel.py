"""Sentinel: ``redis+sentinel://`` follows a failover without losing acknowledged writes."""

from __future__ import annotations

import time

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ReadOnlyError, TimeoutError
from redis.sentinel import MasterNotFoundError

from tests.support.sentinel_server import SERVICE, SentinelSetup
from walrus import Database

pytestmark = pytest.mark.cluster

WRITES = 200
RESUME_WITHIN = 15.0  # seconds from the primary's death to the first successful write


def test_failover_keeps_acknowledged_writes(sentinel_setup: SentinelSetup) -> None:
    db = Database.from_url(sentinel_setup.url(), socket_timeout=2)
    try:
        assert type(db) is Database and not db.is_cluster
        assert db.connection_pool.get_master_address() == ("127.0.0.1", sentinel_setup.primary.port)
        pipe = db.pipeline(transaction=False)
        for i in range(WRITES):
            pipe.set(f"k{i}", str(i))
        pipe.execute()
        db.Hash("h").update(a="1")
        db.lock("job", ttl=60_000).acquire(block=False)
        # Acknowledged: every write above reached the replica before we go on.
        assert db.wait(1, 5000) >= 1

        process = sentinel_setup.primary.process
        assert process is not None
        process.kill()  # our own child: a crash, no chance to hand over
        process.wait(timeout=10)
        died = time.monotonic()

        resumed = None
        while time.monotonic() - died < RESUME_WITHIN:
            try:
                db.set("after-failover", "1")
                resumed = time.monotonic() - died
                break
            except (RedisConnectionError, TimeoutError, ReadOnlyError, MasterNotFoundError):
                time.sleep(0.1)
        assert resumed is not None, f"no write succeeded within {RESUME_WITHIN} s of the failover"

        assert db.connection_pool.get_master_address() == ("127.0.0.1", sentinel_setup.replica.port)
        values = db.mget([f"k{i}" for i in range(WRITES)])
        assert values == [str(i).encode() for i in range(WRITES)]
        assert db.Hash("h")["a"] == b"1"
        assert db.lock("job").locked()
        assert db.cas("after-failover", "1", "2")  # scripts load on the new primary
        sentinel = sentinel_setup.sentinel_client()
        try:
            master = sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
        finally:
            sentinel.close()
        assert int(master[1]) == sentinel_setup.replica.port
    finally:
        db.close()
