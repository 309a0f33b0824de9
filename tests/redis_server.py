"""Start and stop throwaway redis-server processes for the test suite (loopback only)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

__all__ = ["RedisServer", "free_port", "start_redis_server"]


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

    def url(self, db: int = 0) -> str:
        return f"redis://{self.host}:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host=self.host, port=self.port, db=db)

    @property
    def version(self) -> tuple[int, ...]:
        info = self.client().info("server")
        return tuple(int(p) for p in str(info["redis_version"]).split(".")[:3])

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


def start_redis_server(*extra_args: str, port: int | None = None) -> RedisServer:
    """Start ``redis-server`` on 127.0.0.1 with no persistence; wait until it answers PING."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not on PATH")
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="walrus-redis-")
    args = [
        binary,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--save", "",
        "--appendonly", "no",
        "--dir", workdir,
        "--daemonize", "no",
        "--protected-mode", "yes",
        "--loglevel", "warning",
        "--logfile", os.path.join(workdir, "redis.log"),
        *extra_args,
    ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer("127.0.0.1", port, process, workdir)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = Path(workdir, "redis.log")
            text = log.read_text() if log.exists() else ""
            server.stop()
            raise RuntimeError(f"redis-server exited early: {text[-2000:]}")
        try:
            if server.client().ping():
                return server
        except redis.ConnectionError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError("redis-server did not answer PING within 15 s")
