"""The faults of the fault suite (tests/faults/test_fault_suite.py), each a callable for
``fault_workload.run_fault``: it injects the fault, waits until the server (or the promoted
replica) answers again and returns that moment (``time.monotonic()``), from which recovery is
measured. Also ``DurableServer`` (AOF, restartable on its port) and ``ReplyDropper`` (a proxy
that loses exactly one reply).

Servers are started and killed by their own process handles (never by name).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from tests.support.cluster_server import LocalCluster, cluster_node_role, replica_of
from tests.support.redis_server import RedisServer, free_port, start_redis_server
from tests.support.sentinel_server import SERVICE, SentinelSetup

__all__ = [
    "dump_keys",
    "fill_until_refused",
    "DurableServer",
    "ReplyDropper",
    "client_kill",
    "cluster_primary_failover",
    "oom",
    "script_flush",
    "sentinel_failover",
    "sigkill_restart",
]

KILL_EVERY = 0.01  # seconds between two CLIENT KILLs
FLUSH_EVERY = 0.05  # seconds between two SCRIPT FLUSHes
FAULT_SECONDS = 1.5  # how long a repeated fault (kill loop, flush loop, full memory) lasts


def _wait(check: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {timeout} s")
        time.sleep(0.005)


@dataclass
class DurableServer:
    """A redis-server whose data survives a SIGKILL: AOF on with ``appendfsync always`` (a
    write is on disk before its reply is sent), in a directory this object owns, restarted
    on the same port."""

    extra: tuple[str, ...] = ()
    workdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="walrus-faults-aof-"))
    port: int = field(default_factory=free_port)
    server: RedisServer | None = None

    def args(self) -> tuple[str, ...]:
        return (
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            self.workdir,
            "--hz",
            "50",
            *self.extra,
        )

    def start(self) -> DurableServer:
        self.server = start_redis_server(*self.args(), port=self.port)
        return self

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def client(self) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port)

    def kill(self) -> None:
        """SIGKILL (our own child, by its handle): no shutdown, no final fsync."""
        assert self.server is not None and self.server.process is not None
        self.server.process.kill()
        self.server.process.wait(timeout=10)
        self.server.stop()  # removes the server's own log directory, not the AOF one

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def sigkill_restart(durable: DurableServer, down: float = 0.5) -> Callable[[], float]:
    """SIGKILL the server, keep it down ``down`` seconds, start it again on the same port with
    the same AOF; ready when it answers PING (the AOF is loaded before that)."""

    def fault() -> float:
        durable.kill()
        time.sleep(down)
        durable.start()
        return time.monotonic()

    return fault


def client_kill(durable: DurableServer, seconds: float = FAULT_SECONDS) -> Callable[[], float]:
    """``CLIENT KILL TYPE normal SKIPME yes`` every 10 ms for ``seconds``; ready after the
    last kill."""

    def fault() -> float:
        raw = durable.client()
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                raw.client_kill_filter(_type="normal", skipme=True)
                time.sleep(KILL_EVERY)
            return time.monotonic()
        finally:
            raw.close()

    return fault


def script_flush(durable: DurableServer, seconds: float = FAULT_SECONDS) -> Callable[[], float]:
    """``SCRIPT FLUSH`` every 50 ms for ``seconds``: every cached script is forgotten and the
    next EVALSHA gets NOSCRIPT; ready after the last flush."""

    def fault() -> float:
        raw = durable.client()
        try:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                raw.script_flush()
                time.sleep(FLUSH_EVERY)
            return time.monotonic()
        finally:
            raw.close()

    return fault


def oom(durable: DurableServer, seconds: float = FAULT_SECONDS) -> Callable[[], float]:
    """Full memory: ``maxmemory`` set to half the memory in use, ``noeviction``: from that
    instant every command that may grow memory is refused (``OutOfMemoryError``), scripts
    included, for ``seconds``; then the limit is lifted. Ready when a write is accepted."""

    def fault() -> float:
        raw = durable.client()
        try:
            raw.config_set("maxmemory-policy", "noeviction")
            used = int(raw.info("memory")["used_memory"])
            raw.config_set("maxmemory", str(used // 2))
            try:
                raw.set("fault:probe", "x")
            except redis.exceptions.OutOfMemoryError:
                pass
            else:
                raise RuntimeError("the server still accepts writes over maxmemory")
            time.sleep(seconds)
            raw.config_set("maxmemory", "0")
            raw.set("fault:probe", "1")
            return time.monotonic()
        finally:
            raw.close()

    return fault


def _pause_until_replicated(
    primary: redis.Redis, replica: redis.Redis, timeout: float = 5.0
) -> None:
    """Pause the primary's writers (``CLIENT PAUSE WRITE``; those commands wait unexecuted)
    and wait until the replica has every write the primary acknowledged. What Redis's own
    ``FAILOVER`` does: replication is asynchronous, so without it a write acknowledged in the
    last milliseconds before a crash may be lost by Redis itself; with it, any loss the suite
    finds is the client's."""
    primary.client_pause(30_000, all=False)
    target = int(primary.info("replication")["master_repl_offset"])
    _wait(
        lambda: int(replica.info("replication").get("slave_repl_offset", -1)) >= target,
        "replica catching up",
        timeout,
    )


def sentinel_failover(setup: SentinelSetup, timeout: float = 20.0) -> Callable[[], float]:
    """Pause the primary until the replica has every acknowledged write, SIGKILL it; the
    sentinel sees it down (down-after 500 ms) and promotes the replica. Ready when the
    sentinel names the replica and the replica answers as a primary."""

    def fault() -> float:
        primary, replica = setup.primary.client(), setup.replica.client()
        sentinel = setup.sentinel_client()
        try:
            _pause_until_replicated(primary, replica)
            process = setup.primary.process
            assert process is not None
            process.kill()
            process.wait(timeout=10)

            def promoted() -> bool:
                address = sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE)
                role = replica.execute_command("ROLE")[0]
                role = role.decode() if isinstance(role, bytes) else role
                return int(address[1]) == setup.replica.port and role == "master"

            _wait(promoted, "the sentinel did not promote the replica", timeout)
            return time.monotonic()
        finally:
            for client in (primary, replica, sentinel):
                client.close()

    return fault


def cluster_primary_failover(
    cluster: LocalCluster, victim: RedisServer, timeout: float = 30.0
) -> Callable[[], float]:
    """Pause ``victim`` (a primary) until its replica has every acknowledged write, SIGKILL it;
    the cluster marks it failed after the node timeout and the replica wins the election.
    Ready when the replica answers as a primary and every surviving node says
    ``cluster_state:ok``."""

    def fault() -> float:
        replica = replica_of(cluster, victim)
        primary_client, replica_client = victim.client(), replica.client()
        try:
            _pause_until_replicated(primary_client, replica_client)
            assert victim.process is not None
            victim.process.kill()
            victim.process.wait(timeout=10)
            survivors = [node for node in cluster.nodes if node is not victim]

            def promoted() -> bool:
                if cluster_node_role(replica) != "master":
                    return False
                for node in survivors:
                    client = node.client()
                    try:
                        info = client.execute_command("CLUSTER INFO")
                    finally:
                        client.close()
                    text = (
                        info
                        if isinstance(info, (str, bytes))
                        else "\n".join(f"{k}:{v}" for k, v in info.items())
                    )
                    text = text.decode() if isinstance(text, bytes) else text
                    if "cluster_state:ok" not in text:
                        return False
                return True

            _wait(promoted, "the replica was not promoted", timeout)
            return time.monotonic()
        finally:
            primary_client.close()
            replica_client.close()

    return fault


class ReplyDropper:
    """Forwards 127.0.0.1:<port> to ``server``. ``drop_reply_to(marker)``: the reply to the
    next request containing ``marker`` (bytes of the command, e.g. ``b"EVALSHA"``) is
    dropped, the client's connection is closed and new connections are refused (the
    listener is closed) until ``reopen()``."""

    def __init__(self, server: RedisServer) -> None:
        self.server = server
        self.port = free_port()
        self._drop = threading.Event()
        self._marker: bytes | None = None
        self._dropped = threading.Event()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._listener: socket.socket | None = None
        self._closed = False
        self.reopen()

    def reopen(self) -> None:
        if self._closed:  # a late reopen() (a helper thread) after close(): stay closed
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((self.server.host, self.server.port))
            self._pairs.append((client, upstream))
            if self._closed:  # accepted while close() ran: close() may not have seen the pair
                self._close_pairs()
                return
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, replies: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                marker = self._marker
                if not replies and marker is not None and marker in data:
                    self._marker = None
                    self._drop.set()  # the server gets this request; its reply is lost
                if replies and self._drop.is_set():
                    self._drop.clear()
                    self._refuse()
                    self._dropped.set()
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.close()
            except OSError:
                pass

    def _refuse(self) -> None:
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in progress
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        for client, upstream in self._pairs:
            for sock in (client, upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def drop_reply_to(self, marker: bytes) -> None:
        self._dropped.clear()
        self._marker = marker

    def wait_dropped(self, timeout: float = 5.0) -> bool:
        return self._dropped.wait(timeout)

    def close(self) -> None:
        """Stop forwarding and close every socket now: the pump threads close theirs only when
        they next run, and a socket still open when the proxy is collected is a
        ResourceWarning (an error in this suite) on whatever test runs then."""
        self._closed = True
        self._refuse()
        self._close_pairs()

    def _close_pairs(self) -> None:
        for client, upstream in list(self._pairs):
            for sock in (client, upstream):
                try:
                    sock.close()
                except OSError:
                    pass


def fill_until_refused(client: Any) -> int:
    """Write until even a tiny SET is refused (a server with ``maxmemory`` and ``noeviction``):
    big values first, then smaller ones, since a big refused command counts its own
    arguments and the server may still take small ones. Returns the number of keys written."""
    n = 0
    for size in (20_000, 2_000, 200, 20, 1):
        while True:
            try:
                client.set(f"fill:{size}:{n}", "x" * size)
                n += 1
            except redis.exceptions.OutOfMemoryError:
                break
    return n


def dump_keys(raw: redis.Redis) -> dict[bytes, tuple[Any, ...]]:
    """Every key's DUMP (type and value, byte for byte) and whether it has a TTL."""
    return {key: (raw.dump(key), raw.pttl(key) > 0) for key in raw.scan_iter(count=1000)}
