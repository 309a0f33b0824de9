"""Celery task locks: the cost a lock adds to a task, ours beside celery-singleton.

Run: ``.venv/bin/python -m benchmarks.bench_celery`` (add ``--print-only`` to leave
``benchmarks/RESULTS.md`` alone). Every case sends the same no-op task through
``apply_async`` on an eager app (``task_always_eager``), so the time is the lock work plus
Celery's own call path, with no broker in between: "no lock" is the floor. celery-singleton
(``pip install celery-singleton``, not a dependency of the suite) locks on enqueue and
unlocks when the task ends, like our ``lock="both"``; its row is left out when it does not
install or import.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from celery import Celery

from benchmarks.harness import Result, bench_server, measure, write_section
from walrus import Database

__all__ = ["main"]

NUMBER = 500
ROUNDS = 3


def _app(url: str) -> Celery:
    app = Celery("bench_celery", set_as_current=False)
    app.conf.update(
        broker_url="memory://",
        result_backend="cache+memory://",
        task_always_eager=True,
        task_eager_propagates=True,
        walrus_url=url,
        singleton_backend_url=url,
        task_store_eager_result=False,
    )
    return app


def _cases(url: str) -> tuple[list[tuple[str, Callable[[], Any]]], str | None]:
    from celery_walrus import WalrusLockedTask

    app = _app(url)
    quiet = _app(url)
    quiet.conf.walrus_lock_renew = False

    def body(x: int) -> int:
        return x + 1

    plain = app.task(name="bench.plain")(body)
    execute = app.task(base=WalrusLockedTask, lock="execute", name="bench.execute")(body)
    both = app.task(base=WalrusLockedTask, lock="both", name="bench.both")(body)
    enqueue = app.task(base=WalrusLockedTask, lock="enqueue", name="bench.enqueue")(body)
    no_renew = quiet.task(base=WalrusLockedTask, lock="execute", name="bench.execute_no_renew")(
        body
    )
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("no lock", lambda: plain.apply_async((1,))),
        ('ours lock="execute"', lambda: execute.apply_async((1,))),
        ('ours lock="execute", no renewal thread', lambda: no_renew.apply_async((1,))),
        ('ours lock="enqueue"', lambda: enqueue.apply_async((1,))),
        ('ours lock="both"', lambda: both.apply_async((1,))),
    ]
    skipped = None
    try:
        from celery_singleton import Singleton
    except Exception as exc:  # not installed, or does not import on this Python/Celery
        skipped = f"celery-singleton not measured: {type(exc).__name__}: {exc}"
    else:
        single = app.task(base=Singleton, name="bench.singleton")(body)
        cases.append(("celery-singleton", lambda: single.apply_async((1,))))
    return cases, skipped


def _best(old: Result | None, new: Result) -> Result:
    return new if old is None or new.ops_per_sec > old.ops_per_sec else old


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    with bench_server() as url:
        Database.from_url(url).flushdb()
        cases, skipped = _cases(url)
        results: dict[str, Result] = {}
        for _ in range(ROUNDS):
            for label, fn in cases:
                results[label] = _best(results.get(label), measure(label, fn, number=NUMBER))
        Database.from_url(url).flushdb()
    floor = results["no lock"]
    floor_us = 1e6 / floor.ops_per_sec
    lines = [
        "| task call (eager apply_async of a no-op task) | calls/s | lock RT/call | µs/call "
        "| lock overhead µs | time vs no lock |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, res in results.items():
        us = 1e6 / res.ops_per_sec
        lines.append(
            f"| {label} | {res.ops_per_sec:,.0f} | {res.round_trips_per_op:g} | {us:,.0f} | "
            f"{us - floor_us:,.0f} | {floor.ops_per_sec / res.ops_per_sec:.2f}x |"
        )
    note = (
        "\n\nRound trips are to the lock server only (eager mode has no broker). Ours: "
        '"execute" = SET NX PX + owner-checked release (Lua); "enqueue" = SET NX PX at send + '
        'release at start; "both" = SET NX PX at send + owner-checked renew at start (adopting '
        "the enqueue lock under the task id and cutting its ttl to the running lease) + release. "
        "celery-singleton = SET NX at send + DEL at the "
        "end: it never checks at start that the enqueue lock is still its own, so a lock that "
        "lapsed or was cleared while the message waited lets a duplicate run beside it; ours "
        "refuses that run, and that check is the third round trip. Renewal: one daemon thread "
        "per worker process serves every running task from a heap (starting a renewer is a heap "
        "push, no thread start); a no-op task never lives long enough to renew."
    )
    note += f"\n\nBest of {ROUNDS} rounds of {NUMBER} calls."
    if skipped:
        note += f"\n\n{skipped}"
    markdown = "\n".join(lines) + note
    if "--print-only" in args:
        print(markdown)
        return
    write_section(
        "Celery task locks", markdown, command=".venv/bin/python -m benchmarks.bench_celery"
    )


if __name__ == "__main__":
    main()
