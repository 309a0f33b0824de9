"""Models at scale: walrus-suite, upstream walrus 0.9.8 and raw redis-py side by side in one
process, at 1k, 10k and 100k rows (and 1M for ours with ``--million``).

Run: ``.venv/bin/python -m benchmarks.bench_models_scale [--million] [--rounds N]``
(``--memory-only``: only the memory:// table, printed; ``--create-floor``: only the table of
where a create's time goes, written; ``--unordered``: only the table of a 1,000-row page in
primary-key order, ``unordered()`` and raw, written; ``--no-upstream``: the same stages
with upstream's rows written but not timed, printed).

Upstream walrus is imported in this process from ``.cache/upstream-walrus`` (installed there
by the test suite, see ``tests/support/upstream_walrus.py``) with ``sys.modules`` swapped while it
imports, so both libraries share one interpreter and one redis-py. Each contender gets its
own model namespace holding the same rows: row i (0 <= i < N, primary key i + 1) has
name ``item<i>``, grp = i % 10, score = i and a body ``<word> t<i // 10> common``, so the
full-text token ``t<k>`` matches exactly 10 rows. Ours and raw redis-py write their rows
themselves; upstream writes its own rows up to 10k (its create costs 10 round trips a row),
and above that reads rows written by ours under its namespace (the layouts are the same,
so this is the data it would have written).

Cases, with a = N / 2 (every case returns the stated rows, checked before timing):

- ``range 10``: ``(score >= a) & (score < a + 10)``: 10 rows.
- ``between 10``: ``score.between(a, a + 9)``: 10 rows.
- ``range & eq``: ``(score >= a) & (score < a + N/10) & (grp == 3)``: N/100 rows.
- ``page 1000``: ``(score >= 0) & (score < 1000)``: 1000 rows (raw: ZRANGEBYSCORE and a
  pipelined HGETALL of the 1000 rows).
- ``search 10``: full-text ``t<a/10>``: 10 rows.
- ``load``: one row by primary key.
- ``create``: one new row with an auto-increment key (raw: INCR, then the hash and the same
  index writes in one MULTI/EXEC: 2 round trips, as a client that must learn the key
  first; raw "1 RT" below sends them as one MULTI/EXEC with a key it chose).

Timing: R rounds (default 5); in every round each contender runs each case ``number``
times, contenders alternating; the tables give the best and the median time per operation
over the rounds, and round trips per operation as socket writes (walrus.roundtrips). The
1-minute load average is written beside the tables. Memory per row: ``used_memory`` growth
while a contender writes its own rows, divided by the rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import redis

from benchmarks.harness import ROOT, bench_server, import_beside, write_section
from walrus import Database
from walrus.models import FloatField, IntegerField, Model, TextField
from walrus.roundtrips import RoundTripCounter

__all__ = ["load_upstream", "main"]

WORDS = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
]
UPSTREAM_DIR = ROOT / ".cache" / "upstream-walrus"
Case = tuple[str, Callable[[], Any], int, int]  # label, fn, number per round, expected rows


def row(i: int) -> dict[str, Any]:
    return {
        "name": f"item{i}",
        "grp": i % 10,
        "score": float(i),
        "body": f"{WORDS[i % 10]} t{i // 10} common",
    }


def load_upstream() -> Any:
    """Upstream walrus imported beside ours (its modules kept apart from ``sys.modules``)."""
    if not (UPSTREAM_DIR / "walrus").is_dir():
        raise FileNotFoundError(
            f"upstream walrus is not installed in {UPSTREAM_DIR} (run the upstream suite test once)"
        )
    upstream, _models = import_beside("walrus", UPSTREAM_DIR, ["walrus", "walrus.models"])
    return upstream


def our_model(db: Database, namespace: str, compact: bool = False) -> type[Model]:
    class Item(Model):
        __database__ = db
        __namespace__ = namespace
        __compact_indexes__ = compact
        name = TextField(index=True)
        grp = IntegerField(index=True)
        score = FloatField(index=True)
        body = TextField(fts=True)

    return Item


def upstream_model(upstream: Any, db: Any, namespace: str) -> Any:
    class Item(upstream.Model):  # type: ignore[name-defined,misc]
        __database__ = db
        __namespace__ = namespace
        name = upstream.TextField(index=True)
        grp = upstream.IntegerField(index=True)
        score = upstream.FloatField(index=True)
        body = upstream.TextField(fts=True)

    return Item


def fill_ours(item: type[Model], n: int, start: int = 0) -> None:
    """Write rows start..n-1 with explicit keys, 1000 per pipelined batch."""
    db = item.__database__
    for first in range(start, n, 1000):
        pipe = db.pipeline(transaction=False)
        for i in range(first, min(n, first + 1000)):
            item.create(pipeline=pipe, _id=i + 1, **row(i))
        pipe.execute()


def used_memory(r: redis.Redis) -> int:
    """``used_memory`` once no asynchronous FLUSHDB is still freeing memory."""
    while True:
        info = r.info("memory")
        if not int(info.get("lazyfree_pending_objects", 0)):
            return int(info["used_memory"])
        time.sleep(0.1)


def model_cases(item: Any, n: int, creates: Any) -> list[Case]:
    a = n // 2
    width = max(100, n // 10)
    q = 200 if n <= 10_000 else 100
    return [
        ("range 10", lambda: list(item.query((item.score >= a) & (item.score < a + 10))), q, 10),
        ("between 10", lambda: list(item.query(item.score.between(a, a + 9))), q, 10),
        (
            "range & eq",
            lambda: list(
                item.query((item.score >= a) & (item.score < a + width) & (item.grp == 3))
            ),
            20,
            width // 10,
        ),
        ("page 1000", lambda: list(item.query((item.score >= 0) & (item.score < 1000))), 5, 1000),
        ("search 10", lambda: list(item.query(item.body.search(f"t{a // 10}"))), q, 10),
        ("load", lambda: item.load(a + 1), 500, -1),
        ("create", lambda: item.create(**row(next(creates))), 200, -1),
    ]


def raw_cases(r: redis.Redis, n: int, prefix: str, creates: Any) -> list[Case]:
    a = n // 2
    width = max(100, n // 10)
    q = 200 if n <= 10_000 else 100

    def fetch(keys: list[bytes]) -> list[Any]:
        pipe = r.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        return pipe.execute()

    def range_eq() -> list[Any]:
        temp = f"{prefix}temp"
        pipe = r.pipeline(transaction=True)
        pipe.zrangestore(temp, f"{prefix}score.continuous", a, f"({a + width}", byscore=True)
        pipe.zinterstore(temp, {temp: 0, f"{prefix}grp.absolute.3": 0})
        pipe.zrange(temp, 0, -1)
        pipe.delete(temp)
        return fetch(pipe.execute()[2])

    def create() -> None:
        i = next(creates)
        pk = int(r.incr(f"{prefix}_id._sequence"))
        write_raw(r, prefix, pk, row(i))

    return [
        (
            "range 10",
            lambda: fetch(r.zrangebyscore(f"{prefix}score.continuous", a, f"({a + 10}")),
            q,
            10,
        ),
        (
            "between 10",
            lambda: fetch(r.zrangebyscore(f"{prefix}score.continuous", a, a + 9)),
            q,
            10,
        ),
        ("range & eq", range_eq, 20, width // 10),
        (
            "page 1000",
            lambda: fetch(r.zrangebyscore(f"{prefix}score.continuous", 0, "(1000")),
            5,
            1000,
        ),
        ("search 10", lambda: fetch(r.zrange(f"{prefix}body.fts.t{a // 10}", 0, -1)), q, 10),
        ("load", lambda: r.hgetall(f"{prefix}id.{a + 1}"), 500, -1),
        ("create", create, 200, -1),
    ]


def write_raw(
    r: redis.Redis, prefix: str, pk: int, values: dict[str, Any], pipe: Any = None
) -> None:
    """The hash and the index writes a model row needs, in one MULTI/EXEC (or on ``pipe``)."""
    key = f"{prefix}id.{pk}"
    p = pipe if pipe is not None else r.pipeline(transaction=True)
    p.hset(key, mapping={"_id": pk, **values})
    p.sadd(f"{prefix}all", key)
    p.sadd(f"{prefix}_id.absolute.{pk}", key)
    p.zadd(f"{prefix}_id.continuous", {key: pk})
    p.sadd(f"{prefix}name.absolute.{values['name']}", key)
    p.zadd(f"{prefix}name.lex", {values["name"].encode() + b"\x00" + key.encode(): 0})
    p.sadd(f"{prefix}grp.absolute.{values['grp']}", key)
    p.zadd(f"{prefix}grp.continuous", {key: values["grp"]})
    p.sadd(f"{prefix}score.absolute.{values['score']!r}", key)
    p.zadd(f"{prefix}score.continuous", {key: values["score"]})
    p.sadd(f"{prefix}body.absolute.{values['body']}", key)
    for word in values["body"].split():
        p.zadd(f"{prefix}body.fts.{word}", {key: -0.333})
    if pipe is None:
        p.execute()


def fill_raw(r: redis.Redis, prefix: str, n: int) -> None:
    for first in range(0, n, 1000):
        pipe = r.pipeline(transaction=False)
        for i in range(first, min(n, first + 1000)):
            write_raw(r, prefix, i + 1, row(i), pipe)
        pipe.execute()
    r.set(f"{prefix}_id._sequence", n)


def rows_of(result: Any) -> int:
    return len(result) if isinstance(result, list) else -1


def time_case(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call over ``number`` calls."""
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def round_trips(fn: Callable[[], Any]) -> int:
    with RoundTripCounter() as rt:
        fn()
    return rt.count


def fmt_us(seconds: float) -> str:
    us = seconds * 1e6
    return f"{us:,.0f}" if us >= 100 else f"{us:.1f}"


def run_size(n: int, contenders: dict[str, list[Case]], rounds: int) -> list[str]:
    """Markdown rows: per case, best/median microseconds and round trips of each contender."""
    check_rows(n, contenders)
    labels = [c[0] for c in next(iter(contenders.values()))]
    rts = count_round_trips(contenders)
    times = time_cases(contenders, len(labels), rounds)
    return [table_row(n, label, times, rts) for label in labels]


def check_rows(n: int, contenders: dict[str, list[Case]]) -> None:
    """Run each case once and check it finds the rows it should (AssertionError if not)."""
    for name, cases in contenders.items():
        for label, fn, _number, expected in cases:
            got = rows_of(fn())
            if expected >= 0 and got != expected:
                raise AssertionError(
                    f"{name} {label} at {n} rows: {got} rows instead of {expected}"
                )


def count_round_trips(contenders: dict[str, list[Case]]) -> dict[tuple[str, str], int]:
    """Round trips of one call of each case, after a warm-up call: {(contender, label): n}."""
    rts: dict[tuple[str, str], int] = {}
    for name, cases in contenders.items():
        for label, fn, _number, _expected in cases:
            fn()
            rts[(name, label)] = round_trips(fn)
    return rts


def time_cases(
    contenders: dict[str, list[Case]], count: int, rounds: int
) -> dict[tuple[str, str], list[float]]:
    """``rounds`` timings of each of the ``count`` cases: {(contender, label): seconds}."""
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for index in range(count):
            for name, cases in contenders.items():  # contenders alternate case by case
                label, fn, number, _ = cases[index]
                times.setdefault((name, label), []).append(time_case(fn, number))
    return times


def table_row(
    n: int,
    label: str,
    times: dict[tuple[str, str], list[float]],
    rts: dict[tuple[str, str], int],
) -> str:
    """One markdown row: best / median us (round trips) per contender, then ours/raw and
    ours/upstream best-time ratios ("-" for a contender that was not run)."""
    cells = [f"{n:,}", label]
    ours = min(times[("ours", label)])
    for name in ("ours", "raw", "upstream"):
        samples = times.get((name, label))
        if samples is None:
            cells.append("-")
            continue
        best, median = fmt_us(min(samples)), fmt_us(statistics.median(samples))
        cells.append(f"{best} / {median} ({rts[(name, label)]})")
    for other in ("raw", "upstream"):
        samples = times.get((other, label))
        cells.append("-" if samples is None else f"{ours / min(samples):.2f}x")
    return "| " + " | ".join(cells) + " |"


def cluster_lines(rounds: int) -> list[str]:
    """Ours on a local 3-node Redis Cluster (1k rows): time and round trips per case."""
    from tests.support.cluster_server import start_cluster

    cluster = start_cluster()
    try:
        db = Database.from_url(cluster.url())
        n = 1000
        item = our_model(db, "k1000")
        fill_ours(item, n)
        cases = model_cases(item, n, iter(range(n, 10**9)))
        lines = run_size(n, {"ours": cases}, rounds)
        db.close()
    finally:
        cluster.stop()
    return lines


def embedded_lines(url: str, rounds: int = 5) -> list[str]:
    """One small script, a model create and a 10-row model query, on memory:// and on the
    real server: microseconds per call, best and median of ``rounds`` alternated rounds."""

    def cases(db: Database, namespace: str) -> list[tuple[str, Callable[[], Any]]]:
        item = our_model(db, namespace)
        fill_ours(item, 1000)
        script = db.register_script(
            "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])"
        )
        creates = iter(range(1000, 10**9))
        return [
            ("small script (SET + GET)", lambda: script(keys=["s"], args=["v"])),
            ("model create (model_write.lua)", lambda: item.create(**row(next(creates)))),
            (
                "model query, 10 rows (model_query.lua)",
                lambda: list(item.query(item.score.between(500, 509))),
            ),
        ]

    real = cases(Database.from_url(url), "e1000")
    memory = cases(Database.from_url("memory://bench"), "e1000")
    lines = [
        "| script | memory:// best / median us | real server best / median us "
        "| memory / real (best) | (median) |",
        "|---|---:|---:|---:|---:|",
    ]
    for (label, on_real), (_, on_memory) in zip(real, memory, strict=True):
        real_times: list[float] = []
        memory_times: list[float] = []
        for _ in range(rounds):  # alternated
            real_times.append(time_case(on_real, 200))
            memory_times.append(time_case(on_memory, 200))
        best_real, best_memory = min(real_times), min(memory_times)
        median_real = statistics.median(real_times)
        median_memory = statistics.median(memory_times)
        lines.append(
            f"| {label} | {fmt_us(best_memory)} / {fmt_us(median_memory)} "
            f"| {fmt_us(best_real)} / {fmt_us(median_real)} "
            f"| {best_memory / best_real:.2f}x | {median_memory / median_real:.2f}x |"
        )
    return lines


def create_floor_lines(url: str, sizes: list[int], rounds: int = 7) -> list[str]:
    """Where a create's time goes, at each of ``sizes`` rows (a flushed server per size):
    ours; the script floor (the very ``EVALSHA`` our create sends, its arguments built once,
    sent by raw redis-py: no walrus Python at all); raw redis-py's INCR + MULTI/EXEC. Best
    and median us of ``rounds`` alternated rounds, and the server's own time per call
    (``INFO commandstats`` of the commands sent: EVALSHA and EXEC include what they ran)."""
    header = "| rows | create | best / median us (RT) | server us | / raw (best) |"
    return _per_size(url, sizes, [header, "|---:|---|---:|---:|---:|"], _create_rows, rounds)


def _create_rows(db: Database, r: redis.Redis, n: int, rounds: int) -> list[str]:
    """The rows of ``create_floor_lines`` at ``n`` rows."""
    ours, floor = our_model(db, f"c{n}"), our_model(db, f"f{n}")
    fill_ours(ours, n)
    fill_ours(floor, n)
    fill_raw(r, "craw|item:", n)
    script = _captured_create(db, floor)
    creates = iter(range(n + 1, 10**9))
    raw_create = next(c for c in raw_cases(r, n, "craw|item:", creates) if c[0] == "create")
    contenders: list[tuple[str, Callable[[], Any]]] = [
        ("ours: Model.create", lambda: ours.create(**row(next(creates)))),
        ("script floor: the same EVALSHA by raw redis-py", lambda: r.execute_command(*script)),
        ("raw redis-py: INCR + MULTI/EXEC", raw_create[1]),
    ]
    return _timed_rows(n, contenders, rounds, 300, server=r)


def _captured_create(db: Database, item: type[Model]) -> tuple[Any, ...]:
    """The arguments of the one ``EVALSHA`` that ``item.create`` sends (it is sent)."""
    sent: list[tuple[Any, ...]] = []
    execute = db.execute_command

    def spy(*args: Any, **options: Any) -> Any:
        sent.append(args)
        return execute(*args, **options)

    item.create(**row(10**8))  # the first call may send the script's source (EVAL)
    db.execute_command = spy  # type: ignore[method-assign]
    try:
        item.create(**row(10**8 + 1))
    finally:
        del db.execute_command
    (script,) = sent  # a create is one round trip
    assert script[0] == "EVALSHA", script[:2]
    return script


def unordered_lines(url: str, sizes: list[int], rounds: int = 7) -> list[str]:
    """A page of 1,000 rows of ``(score >= 0) & (score < 1000)`` at each of ``sizes`` rows:
    ours in primary-key order (the default: a Lua sort of the keys), ours ``unordered()``
    (index order, no sort) and raw redis-py (ZRANGEBYSCORE + pipelined HGETALL). Best and
    median us of ``rounds`` alternated rounds."""
    header = "| rows | page of 1,000 rows | best / median us (RT) | / raw (best) |"
    return _per_size(url, sizes, [header, "|---:|---|---:|---:|"], _page_rows, rounds)


def _page_rows(db: Database, r: redis.Redis, n: int, rounds: int) -> list[str]:
    """The rows of ``unordered_lines`` at ``n`` rows."""
    item = our_model(db, f"u{n}")
    fill_ours(item, n)
    fill_raw(r, "uraw|item:", n)
    raw_page = next(c for c in raw_cases(r, n, "uraw|item:", iter([])) if c[0] == "page 1000")
    contenders = [*_page_cases(item), ("raw redis-py", raw_page[1])]
    for _label, fn in contenders:
        assert rows_of(fn()) == 1000
    return _timed_rows(n, contenders, rounds, 10)


TOP_LEVEL = ("cmdstat_eval", "cmdstat_evalsha", "cmdstat_incr", "cmdstat_multi", "cmdstat_exec")


def _per_size(
    url: str,
    sizes: list[int],
    header: list[str],
    rows_at: Callable[[Database, redis.Redis, int, int], list[str]],
    rounds: int,
) -> list[str]:
    """``header``, then ``rows_at(db, r, n, rounds)`` for each size on a flushed server."""
    db = Database.from_url(url)
    r = redis.Redis.from_url(url)
    lines = list(header)
    for n in sizes:
        r.flushdb()
        lines.extend(rows_at(db, r, n, rounds))
    db.close()
    r.close()
    return lines


def _timed_rows(
    n: int,
    contenders: list[tuple[str, Callable[[], Any]]],
    rounds: int,
    number: int,
    server: redis.Redis | None = None,
) -> list[str]:
    """Table rows of ``contenders`` (the last is the raw baseline): best / median us of
    ``rounds`` alternated rounds of ``number`` calls, round trips, and with ``server`` the
    server's own us per call (``INFO commandstats``, top-level commands only: EVALSHA and
    EXEC already include what they ran)."""
    samples: dict[str, list[float]] = {label: [] for label, _ in contenders}
    spent: dict[str, float] = dict.fromkeys(samples, 0.0)
    for _ in range(rounds):
        for label, fn in contenders:  # alternated
            if server is not None:
                server.config_resetstat()
            samples[label].append(time_case(fn, number))
            if server is not None:
                stats = server.info("commandstats")
                usec = sum(float(stats[k]["usec"]) for k in TOP_LEVEL if k in stats)
                spent[label] += usec / number / rounds
    raw_best = min(samples[contenders[-1][0]])
    lines = []
    for label, fn in contenders:
        best, median = min(samples[label]), statistics.median(samples[label])
        server_cell = "" if server is None else f" {spent[label]:.0f} |"
        lines.append(
            f"| {n:,} | {label} | {fmt_us(best)} / {fmt_us(median)} ({round_trips(fn)}) |"
            f"{server_cell} {best / raw_best:.2f}x |"
        )
    return lines


def _page_cases(item: Any) -> list[tuple[str, Callable[[], Any]]]:
    """Ours: a fresh 1,000-row query per call (a query keeps its rows once iterated)."""

    def page() -> Any:
        return item.query((item.score >= 0) & (item.score < 1000))

    return [
        ("ours, primary-key order (default)", lambda: list(page())),
        ("ours, unordered()", lambda: list(page().unordered())),
    ]


def memory_only(rounds: int) -> None:
    """Only the memory:// table, printed (RESULTS.md is not written)."""
    with bench_server() as url:
        lines = embedded_lines(url, rounds)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("\n".join(lines))
    print(f"1-minute load average after the run: {load:.1f}")


def _side_table(measure: Callable[..., list[str]], title: str, flag: str, rounds: int) -> None:
    """Run one side table at 1k and 100k rows on a fresh server; write its section."""
    with bench_server() as url:
        lines = measure(url, [1000, 100_000], max(rounds, 7))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    write_section(
        f"Models at scale: {title}",
        "\n".join(lines) + f"\n\n1-minute load average after the run: {load:.1f}.",
        command=f".venv/bin/python -m benchmarks.bench_models_scale {flag}",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--million", action="store_true", help="also 1M rows (ours and raw redis-py)"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="only the memory:// against real server table, printed, not written",
    )
    parser.add_argument(
        "--create-floor",
        action="store_true",
        help="only the create floor table (ours, the same EVALSHA by raw redis-py, raw)",
    )
    parser.add_argument(
        "--no-upstream",
        action="store_true",
        help="the same stages without timing upstream (printed, not written)",
    )
    parser.add_argument(
        "--unordered",
        action="store_true",
        help="only the table of a 1,000-row page in pk order, unordered() and raw",
    )
    options = parser.parse_args(argv)
    if options.memory_only:
        memory_only(options.rounds)
        return
    extra = {
        "unordered": (unordered_lines, "unordered pages"),
        "create_floor": (create_floor_lines, "where a create's time goes"),
    }
    for flag, (measure, title) in extra.items():
        if getattr(options, flag):
            _side_table(measure, title, f"--{flag.replace('_', '-')}", options.rounds)
            return
    sizes = [int(s) for s in options.sizes.split(",")] + ([1_000_000] if options.million else [])
    upstream = load_upstream()
    lines = [
        "| rows | case | ours best / median us (RT) | raw redis-py | upstream 0.9.8 "
        "| ours/raw (best) | ours/upstream (best) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    memory_lines = [
        "| rows | ours bytes/row | ours, `__compact_indexes__` | upstream bytes/row "
        "| raw redis-py bytes/row |",
        "|---:|---:|---:|---:|---:|",
    ]
    with bench_server() as url:
        db = Database.from_url(url)
        r = redis.Redis.from_url(url)
        up_db = upstream.Database.from_url(url)
        db.flushdb(asynchronous=True)
        for n in sizes:
            item = our_model(db, f"o{n}")  # namespaces of one length: keys of equal size
            before = used_memory(r)
            started = time.perf_counter()
            fill_ours(item, n)
            ours_mem = (used_memory(r) - before) / n
            print(f"{n} rows: ours filled in {time.perf_counter() - started:.1f} s", flush=True)
            compact_mem: float | None = None
            if n <= 100_000:
                before = used_memory(r)
                fill_ours(our_model(db, f"c{n}", compact=True), n)
                compact_mem = (used_memory(r) - before) / n
            before = used_memory(r)
            fill_raw(r, f"r{n}|item:", n)
            raw_mem = (used_memory(r) - before) / n
            up_item = upstream_model(upstream, up_db, f"u{n}")
            up_mem: float | None = None
            if n <= 10_000:
                before = used_memory(r)
                for i in range(n):
                    up_item.create(_id=i + 1, **row(i))
                up_mem = (used_memory(r) - before) / n
            elif n <= 100_000:
                fill_ours(our_model(db, f"u{n}"), n)  # same layout: the data upstream would write
            contenders: dict[str, list[Case]] = {
                "ours": model_cases(item, n, iter(range(n, 10**9))),
                "raw": raw_cases(r, n, f"r{n}|item:", iter(range(n, 10**9))),
            }
            if n <= 100_000 and not options.no_upstream:
                contenders["upstream"] = model_cases(up_item, n, iter(range(n, 10**9)))
            lines.extend(run_size(n, contenders, options.rounds))
            compact_cell = "-" if compact_mem is None else f"{compact_mem:,.0f}"
            up_cell = "-" if up_mem is None else f"{up_mem:,.0f}"
            memory_lines.append(
                f"| {n:,} | {ours_mem:,.0f} | {compact_cell} | {up_cell} | {raw_mem:,.0f} |"
            )
            print("\n".join(lines[-len(contenders["ours"]) :]), flush=True)
            print(memory_lines[-1], flush=True)
            db.flushdb(
                asynchronous=True
            )  # a synchronous FLUSHDB of 1M rows outlasts the socket timeout
        if options.no_upstream:  # a check of the alternation, printed only
            db.close()
            r.close()
            return
        embedded = embedded_lines(url, options.rounds)
        print("\n".join(embedded), flush=True)
        db.flushdb(asynchronous=True)
        db.close()
        r.close()
    cluster = cluster_lines(options.rounds)
    print("\n".join(cluster), flush=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    command = ".venv/bin/python -m benchmarks.bench_models_scale" + (
        " --million" if options.million else ""
    )
    body = (
        "\n".join(lines)
        + "\n\nMemory: `used_memory` growth while each contender writes its own rows.\n\n"
    )
    body += "\n".join(memory_lines)
    body += "\n\nThe `memory://` engine against the real server (same process, same scripts):\n\n"
    body += "\n".join(embedded)
    body += "\n\nOurs on a local 3-node Redis Cluster (1,000 rows; RT = socket writes):\n\n"
    body += "\n".join(
        [
            lines[0].replace(
                " raw redis-py | upstream 0.9.8 | ours/raw (best) | ours/upstream (best) |", ""
            ),
            "|---:|---|---:|",
            *["| " + " | ".join(line.strip("| ").split(" | ")[:3]) + " |" for line in cluster],
        ]
    )
    body += f"\n\n1-minute load average after the run: {load:.1f}.\n"
    write_section("Models at scale", body, command=command)


if __name__ == "__main__":
    main()
