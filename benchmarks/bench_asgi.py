"""An async Django view against the same view on the sync path, served by uvicorn.

``benchmarks/asgi_site.py`` has one view written twice: ``/sync`` (``def``, run by Django in a
worker thread under ASGI) and ``/async`` (``async def``: the rate-limit decision and the cache
read native on redis.asyncio). Both make one rate-limit decision and one cache read per
request. uvicorn (one process, asyncio loop, h11; ``WALRUS_BENCH_ASGI=fast``: uvloop and
httptools) serves both; a load generator in another process keeps ``CONNECTIONS`` keep-alive
HTTP/1.1 connections busy for ``SECONDS`` per round and counts complete responses. Paths
alternate round by round; the best of ``ROUNDS`` is kept.

Placement: redis-server and uvicorn share CPU 0, the load generator runs on CPU 1 (so it
takes nothing from the server side); ``WALRUS_BENCH_PIN=none`` leaves placement to the kernel.
Round trips per request are counted (socket writes, ``walrus.roundtrips``) on the same views
served in-process by Django's test clients.

Run: ``.venv/bin/python -m benchmarks.bench_asgi`` (``--print-only`` leaves RESULTS.md alone;
needs the ``bench`` extra: uvicorn, uvloop, httptools). The section of RESULTS.md is named
after the configuration, so both can be kept.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import write_section

__all__ = ["main"]

CONNECTIONS = 50
SECONDS = 4.0
ROUNDS = 5
ROOT = Path(__file__).resolve().parents[1]
PATHS = ("/sync", "/async", "/sync-bare", "/async-bare")
# uvicorn's event loop and HTTP parser: the pure-Python defaults, or uvloop and httptools
# (WALRUS_BENCH_ASGI=fast; both in the bench extra).
FAST = os.environ.get("WALRUS_BENCH_ASGI") == "fast"
LOOP, HTTP = ("uvloop", "httptools") if FAST else ("asyncio", "h11")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _body_length(path: str, head: bytes) -> int:
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"{path}: {head[:60]!r}")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    raise RuntimeError(f"{path}: no Content-Length in {head!r}")


async def _connection(port: int, path: str, stop_at: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            await reader.readexactly(_body_length(path, head))
            counts[0] += 1
    finally:
        writer.close()
        await writer.wait_closed()


async def _load(port: int, path: str, seconds: float) -> float:
    counts = [0]
    start = time.perf_counter()
    stop_at = start + seconds
    await asyncio.gather(*(_connection(port, path, stop_at, counts) for _ in range(CONNECTIONS)))
    return counts[0] / (time.perf_counter() - start)


def _load_process(port: int, path: str, seconds: float, out: Any) -> None:
    if os.environ.get("WALRUS_BENCH_PIN", "same") != "none" and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {1})
    out.put(asyncio.run(_load(port, path, seconds)))


def _requests_per_second(port: int, path: str, seconds: float) -> float:
    queue: Any = multiprocessing.get_context("spawn").Queue()
    process = multiprocessing.get_context("spawn").Process(
        target=_load_process, args=(port, path, seconds, queue)
    )
    process.start()
    rate = float(queue.get(timeout=seconds + 60))
    process.join()
    return rate


def _wait_until_serving(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("uvicorn exited before serving")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("uvicorn did not start serving in 30 s")


def _round_trips(url: str) -> dict[str, float]:
    """Round trips (socket writes) per request of each view, served in this process by
    Django's test clients: the same views, the same settings."""
    os.environ["WALRUS_BENCH_REDIS_URL"] = url
    from django.test import AsyncClient, Client

    import benchmarks.asgi_site  # noqa: F401  (configures Django)
    from walrus.roundtrips import RoundTripCounter

    async def async_requests(number: int) -> None:
        client = AsyncClient()
        for _ in range(number):
            assert (await client.get("/async")).status_code == 200

    sync_client = Client()
    found = {}
    for path, send in (
        ("/sync", lambda n: [sync_client.get("/sync") for _ in range(n)]),
        ("/async", lambda n: asyncio.run(async_requests(n))),
    ):
        send(5)  # connections and scripts in place first
        with RoundTripCounter() as rt:
            send(100)
        found[path] = rt.count / 100
    return found


async def _count_requests(port: int, path: str, number: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    for _ in range(number):
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(_body_length(path, head))
    writer.close()
    await writer.wait_closed()


def _run(url: str) -> tuple[dict[str, float], dict[str, float]]:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()  # the site stores its cached page when it starts
    port = _free_port()
    env = {**os.environ, "WALRUS_BENCH_REDIS_URL": url, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "benchmarks.asgi_site:application",
            "--host", "127.0.0.1", "--port", str(port), "--loop", LOOP, "--http", HTTP,
            "--no-access-log", "--log-level", "warning",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        if os.environ.get("WALRUS_BENCH_PIN", "same") != "none" and hasattr(
            os, "sched_setaffinity"
        ):
            os.sched_setaffinity(server.pid, {0})
        _wait_until_serving(port, server)
        for path in PATHS:  # warm every path up
            asyncio.run(_count_requests(port, path, 50))
        best = dict.fromkeys(PATHS, 0.0)
        for _ in range(ROUNDS):
            for path in PATHS:
                best[path] = max(best[path], _requests_per_second(port, path, SECONDS))
    finally:
        server.terminate()
        server.wait(timeout=30)
        client.close()
    return best, _round_trips(url)


def render(best: dict[str, float], commands: dict[str, float]) -> str:
    """The results table (Markdown). No Redis work."""
    rows = [
        ("`async def`: rate limit + cache read (native)", "/async", f"{commands['/async']:.2f}"),
        ("`def`: rate limit + cache read (sync path)", "/sync", f"{commands['/sync']:.2f}"),
        ("`async def`, no Redis work (the async path's ceiling)", "/async-bare", "0"),
        ("`def`, no Redis work (the sync path's ceiling)", "/sync-bare", "0"),
    ]
    lines = [
        "| view | requests/s | round trips / request | vs sync view |",
        "|---|---:|---:|---:|",
    ]
    for label, path, trips in rows:
        lines.append(
            f"| {label} | {best[path]:,.0f} | {trips} | {best[path] / best['/sync']:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Run the benchmark; write its section of benchmarks/RESULTS.md (unless
    ``--print-only``). Starts its own redis-server and uvicorn."""
    from benchmarks.harness import bench_server

    try:
        import uvicorn  # noqa: F401  (the server is started in a subprocess)
    except ImportError:
        print("bench_asgi needs uvicorn: pip install -e '.[bench]'", file=sys.stderr)
        return 2
    os.environ.setdefault("WALRUS_BENCH_PIN", "same")
    with bench_server() as url:
        best, commands = _run(url)
    pinned = os.environ.get("WALRUS_BENCH_PIN", "same") != "none"
    ceiling = best["/async-bare"] / best["/sync"]
    note = (
        f"\n\nuvicorn ({LOOP} loop, {HTTP}), one process; {CONNECTIONS} keep-alive connections "
        f"from a load generator in another process, {SECONDS:g} s per round, best of {ROUNDS} "
        "rounds, paths alternated. Each request: one rate-limit decision (GCRA, one Lua call) "
        "and one cache read. "
        + (
            "redis-server and uvicorn share CPU 0, the load generator has CPU 1."
            if pinned
            else "Placement left to the kernel (WALRUS_BENCH_PIN=none)."
        )
        + f" The server side is CPU-bound: an `async def` view that does no Redis work at all "
        f"serves {ceiling:.2f}x the sync view's requests, so no async Redis client can make "
        "this view 2x faster on this stack; what the native path saves is the worker thread "
        "per request and the waiting, which matter when Redis is farther than loopback."
    )
    markdown = render(best, commands) + note
    if "--print-only" in argv:
        print(markdown)
    else:
        if FAST:
            write_section(
                "ASGI view: async against sync (uvloop, httptools)",
                markdown,
                "WALRUS_BENCH_ASGI=fast python -m benchmarks.bench_asgi",
            )
        else:
            write_section(
                "ASGI view: async against sync", markdown, "python -m benchmarks.bench_asgi"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
