"""Start and stop a throwaway Sentinel setup for the tests: one primary, one replica and one
sentinel, all on loopback ports, stopped by their own process handles."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from tests.support.redis_server import (
    RedisServer,
    free_port,
    start_redis_server,
    wait_for_replica,
)

__all__ = ["SERVICE", "SentinelSetup", "start_sentinel_setup"]

SERVICE = "mymaster"


@dataclass
class SentinelSetup:
    primary: RedisServer
    replica: RedisServer
    sentinel: RedisServer

    def url(self, db: int = 0) -> str:
        return f"redis+sentinel://{self.sentinel.host}:{self.sentinel.port}/{SERVICE}/{db}"

    def sentinel_client(self) -> redis.Redis:
        return redis.Redis(host=self.sentinel.host, port=self.sentinel.port, decode_responses=True)

    def fail_over(self, timeout: float = 30.0) -> None:
        """A graceful ``SENTINEL FAILOVER`` once the replica holds every write so far; returns
        when the replica is the primary and the old primary its replica (until then the old
        primary still takes writes, lost when it turns). RuntimeError after ``timeout`` s."""
        wait_for_replica(self.primary, self.replica, timeout)
        with self.sentinel_client() as sentinel:
            sentinel.execute_command("SENTINEL", "FAILOVER", SERVICE)

        def roles() -> bool:
            with self.replica.client() as new, self.primary.client() as old:
                return (new.info("replication")["role"], old.info("replication")["role"]) == (
                    "master",
                    "slave",
                )

        _wait(roles, "the sentinel did not complete the failover", timeout)

    def stop(self) -> None:
        for server in (self.sentinel, self.replica, self.primary):
            server.stop()


def _wait(check: object, what: str, timeout: float, cleanup: SentinelSetup | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    if cleanup is not None:
        cleanup.stop()
    raise RuntimeError(f"{what} within {timeout} s")


def _start_sentinel(primary_port: int, down_after_ms: int, failover_timeout_ms: int) -> RedisServer:
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not on PATH")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="walrus-sentinel-")
    conf = Path(workdir, "sentinel.conf")
    conf.write_text(
        "\n".join(
            [
                f"port {port}",
                "bind 127.0.0.1",
                "daemonize no",
                f"dir {workdir}",
                f"logfile {os.path.join(workdir, 'sentinel.log')}",
                f"sentinel monitor {SERVICE} 127.0.0.1 {primary_port} 1",
                f"sentinel down-after-milliseconds {SERVICE} {down_after_ms}",
                f"sentinel failover-timeout {SERVICE} {failover_timeout_ms}",
                f"sentinel parallel-syncs {SERVICE} 1",
                "",
            ]
        )
    )
    process = subprocess.Popen(
        [binary, str(conf), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    server = RedisServer("127.0.0.1", port, process, workdir)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        _wait(lambda: process.poll() is None and client.ping(), "sentinel did not answer PING", 10)
    except RuntimeError:
        server.stop()
        raise
    finally:
        client.close()
    return server


def start_sentinel_setup(
    down_after_ms: int = 500, failover_timeout_ms: int = 2000
) -> SentinelSetup:
    """Primary + replica (``--replicaof``) + one sentinel watching ``mymaster`` with quorum 1.
    Returns once the replica is in sync and the sentinel knows it."""
    primary = start_redis_server("--repl-diskless-sync-delay", "0")
    replica = sentinel = None
    try:
        replica = start_redis_server("--replicaof", primary.host, str(primary.port))
        replica_client = replica.client()
        _wait(
            lambda: replica_client.info("replication").get("master_link_status") == "up",
            "replica did not sync",
            15,
        )
        replica_client.close()
        sentinel = _start_sentinel(primary.port, down_after_ms, failover_timeout_ms)
    except BaseException:
        for server in (sentinel, replica, primary):
            if server is not None:
                server.stop()
        raise
    setup = SentinelSetup(primary, replica, sentinel)
    client = setup.sentinel_client()

    def replica_known() -> bool:
        replicas = client.execute_command("SENTINEL", "REPLICAS", SERVICE)
        # redis-py >= 5.1 parses each entry into a dict; 5.0 leaves a flat [name, value, ...]
        entries = [
            r if isinstance(r, dict) else dict(zip(r[::2], r[1::2], strict=False)) for r in replicas
        ]
        return any(
            int(r.get("port", 0)) == replica.port and "disconnected" not in r.get("flags", "")
            for r in entries
        )

    try:
        _wait(replica_known, "sentinel did not discover the replica", 15, cleanup=setup)
    finally:
        client.close()
    return setup
