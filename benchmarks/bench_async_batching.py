"""Command batching on asyncio: concurrent rate-limit decisions, lock round trips and reads on
``AsyncDatabase`` with batching (the default) and without (``batch_reads=False``: one pooled
connection and one socket write per command, as redis.asyncio sends).

Run: ``.venv/bin/python -m benchmarks.bench_async_batching`` (``--print-only`` leaves
``benchmarks/RESULTS.md`` alone). Each operation runs ``TASKS`` concurrent tasks of
``PER_TASK`` calls in one event loop; the two clients alternate round by round and the best of
``ROUNDS`` is kept. Socket writes per call are counted under that load
(``walrus.roundtrips``), beside a raw ``redis.asyncio`` command of the same kind.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.harness import bench_server, write_section

__all__ = ["main"]

TASKS = 50
PER_TASK = 100
ROUNDS = 5

Call = Callable[[int], Awaitable[Any]]


async def _rate(call: Call) -> float:
    """Calls per second with ``TASKS`` tasks each making ``PER_TASK`` calls."""

    async def worker(n: int) -> None:
        for i in range(PER_TASK):
            await call(n * PER_TASK + i)

    await asyncio.gather(*(worker(n) for n in range(10)))  # connections up, scripts loaded
    start = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(TASKS)))
    return TASKS * PER_TASK / (time.perf_counter() - start)


async def _writes_per_call(call: Call) -> float:
    from walrus.roundtrips import RoundTripCounter

    async def worker(n: int) -> None:
        for i in range(PER_TASK):
            await call(n * PER_TASK + i)

    with RoundTripCounter() as counter:
        await asyncio.gather(*(worker(n) for n in range(TASKS)))
    return counter.count / (TASKS * PER_TASK)


def _operations(db: Any) -> dict[str, Call]:
    limiter = db.rate_limit("bench", limit=10**9, per=60)

    async def decide(n: int) -> Any:
        return await limiter.limit(f"user:{n % 500}")

    async def lock(n: int) -> Any:
        held = db.lock(f"lock:{n}", ttl=5000)  # n is one task's own call: never contended
        if not await held.acquire(block=False):
            raise RuntimeError(f"lock:{n} was taken")
        await held.release()

    async def read(n: int) -> Any:
        return await db.execute_read("GET", f"k{n % 500}")

    return {
        "rate-limit decision (`await rl.limit(key)`, 1 script)": decide,
        "lock acquire (SET NX, not batched) + release (1 script)": lock,
        "read (`execute_read('GET', k)`)": read,
    }


async def _run(url: str) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    import redis.asyncio

    from walrus.asyncio import AsyncDatabase

    clients = {
        "batched": AsyncDatabase.from_url(url),
        "unbatched": AsyncDatabase.from_url(url, batch_reads=False),
    }
    raw = redis.asyncio.Redis.from_url(url)
    await raw.mset({f"k{n}": "v" for n in range(500)})
    operations = {name: _operations(db) for name, db in clients.items()}

    async def raw_incr(n: int) -> Any:
        return await raw.incr(f"raw:{n % 500}")

    best: dict[str, dict[str, float]] = {}
    writes: dict[str, dict[str, float]] = {}
    for label in operations["batched"]:
        row = best.setdefault(label, {})
        for round_no in range(ROUNDS):
            order = ["batched", "unbatched"][:: 1 if round_no % 2 == 0 else -1]
            for name in order:
                rate = await _rate(operations[name][label])
                row[name] = max(row.get(name, 0.0), rate)
        writes[label] = {
            name: await _writes_per_call(operations[name][label]) for name in operations
        }
    floor = best.setdefault("raw redis.asyncio INCR (the pooled path's floor)", {})
    for _ in range(ROUNDS):
        floor["unbatched"] = max(floor.get("unbatched", 0.0), await _rate(raw_incr))
    writes["raw redis.asyncio INCR (the pooled path's floor)"] = {
        "unbatched": await _writes_per_call(raw_incr)
    }
    for db in clients.values():
        await db.aclose()
    await raw.aclose()
    return best, writes


def render(best: dict[str, dict[str, float]], writes: dict[str, dict[str, float]]) -> str:
    lines = [
        f"| operation ({TASKS} concurrent tasks) | batched calls/s | socket writes per call "
        "| `batch_reads=False` calls/s | socket writes per call | batched / unbatched |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, row in best.items():
        batched, unbatched = row.get("batched"), row["unbatched"]
        cells = [
            f"{batched:,.0f}" if batched else "-",
            f"{writes[label]['batched']:.3f}" if batched else "-",
            f"{unbatched:,.0f}",
            f"{writes[label]['unbatched']:.3f}",
            f"{batched / unbatched:.2f}x" if batched else "-",
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    with bench_server() as url:
        best, writes = asyncio.run(_run(url))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    note = (
        f"\n\nBest of {ROUNDS} rounds, the two clients alternated; load average {load:.2f} on "
        f"{os.cpu_count()} CPUs. Batched: `AsyncDatabase`'s default, the commands the tasks "
        "issue in one loop turn share one connection and one socket write "
        "(`walrus.asyncio.batching`). Unbatched: a pooled connection and a write per command, "
        "as redis.asyncio itself sends. A call alone costs the same round trips either way."
    )
    markdown = render(best, writes) + note
    if "--print-only" in argv:
        print(markdown)
    else:
        write_section(
            "asyncio command batching", markdown, "python -m benchmarks.bench_async_batching"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
