"""limpyd writes and collections: ours, upstream redis-limpyd 2.1.2 and raw redis-py side by
side in one process.

Run: ``.venv/bin/python -m benchmarks.bench_limpyd [--rounds N] [--tags N]`` (writes the
section "limpyd writes" of benchmarks/RESULTS.md; ``--tags`` other than the default only
prints).

Upstream is installed once with ``pip install --no-deps --target .cache/upstream-limpyd
redis-limpyd==2.1.2 future`` (done here when missing) and imported in this process with
``sys.modules`` swapped while it imports (both packages are named ``limpyd``). Each contender
gets its own namespace holding the same model and rows: ``Item`` with an indexable ``name``
and ``hits``, a plain ``note`` and an indexable set ``tags``; ``ROWS`` rows, row i named
``n<i % 10>``, so each name matches ``ROWS / 10`` rows. One row's ``tags`` holds ``TAGS``
members, so a set write shows whether its cost follows the set's size.

Cases (every contender runs the same calls; the raw redis-py column is what a hand-written
layer would send without guards: no existence check, no unique check, no atomicity between
reading the old value and writing the index):

- ``create``: a new row with an auto-increment pk and 3 values (raw: INCR, then one
  MULTI/EXEC with the values, the pk set and the index sets).
- ``set indexed``: ``name.set`` on a fresh instance, cycling through 10 values (raw: GET the
  old value, then SET, SREM, SADD in one MULTI/EXEC).
- ``incr indexed``: ``count.incr()`` (raw: INCRBY, then SREM/SADD in one MULTI/EXEC).
- ``set plain``: ``note.set`` (raw: SET).
- ``sadd+srem, big set``: ``tags.sadd`` of one new member, then ``srem`` of it, on the set of
  ``TAGS`` members (raw: SADD + SADD to the index set, then SREM + SREM, each one
  MULTI/EXEC).
- ``filter``: ``list(Item.collection(name="n3"))``: ``ROWS / 10`` pks (raw: SMEMBERS).

Times are microseconds per call, best / median of ``--rounds`` rounds, contenders alternated
case by case; round trips are socket writes of one call (a pipeline is one).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable
from itertools import count
from types import ModuleType
from typing import Any

import redis

from benchmarks.bench_models_scale import (
    Case,
    check_rows,
    count_round_trips,
    table_row,
    time_cases,
)
from benchmarks.harness import ROOT, bench_server, import_beside, write_section

__all__ = ["load_upstream", "main"]

UPSTREAM_DIR = ROOT / ".cache" / "upstream-limpyd"
UPSTREAM_SPEC = ("redis-limpyd==2.1.2", "future==1.0.0")
ROWS = 1000
TAGS = 10_000
NAMES = [f"n{i}" for i in range(10)]


def load_upstream() -> dict[str, ModuleType]:
    """Upstream redis-limpyd's ``model``, ``fields`` and ``database`` modules, imported beside
    ours. Installs it on first use."""
    if not (UPSTREAM_DIR / "limpyd").is_dir():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target"]
            + [str(UPSTREAM_DIR), *UPSTREAM_SPEC],
            check=True,
        )
    names = ("model", "fields", "database")
    modules = import_beside("limpyd", UPSTREAM_DIR, [f"limpyd.{name}" for name in names])
    return dict(zip(names, modules, strict=True))


def define(mods: dict[str, Any], db: Any, ns: str) -> Any:
    fields = mods["fields"]

    class Item(mods["model"].RedisModel):  # type: ignore[misc,name-defined]
        # in the class body: redis-limpyd fixes a model's key prefix when the class is made
        database = db
        namespace = ns
        name = fields.StringField(indexable=True)
        hits = fields.StringField(indexable=True)
        note = fields.StringField()
        tags = fields.SetField(indexable=True)

    return Item


def model_cases(item: Any, tags: int) -> list[Case]:
    for i in range(ROWS):
        item(name=NAMES[i % 10], hits=0, note="x")
    big, named, counted, plain = item(1), item(2), item(3), item(4)
    big.tags.sadd(*[f"t{i}" for i in range(tags)])
    ticks = count()

    def sadd_srem() -> None:
        big.tags.sadd("extra")
        big.tags.srem("extra")

    return [
        ("create", lambda: item(name="n0", hits=0, note="x"), 200, -1),
        ("set indexed", lambda: named.name.set(NAMES[next(ticks) % 10]), 500, -1),
        ("incr indexed", counted.hits.incr, 500, -1),
        ("set plain", lambda: plain.note.set("y"), 500, -1),
        ("sadd+srem, big set", sadd_srem, 200, -1),
        ("filter", lambda: list(item.collection(name="n3")), 300, ROWS // 10),
    ]


def raw_cases(r: redis.Redis, prefix: str, tags: int) -> list[Case]:
    def create(name: str = "n0") -> None:
        pk = r.incr(f"{prefix}:max_pk")
        with r.pipeline() as pipe:
            pipe.sadd(f"{prefix}:collection", pk)
            pipe.set(f"{prefix}:{pk}:name", name).sadd(f"{prefix}:name:{name}", pk)
            pipe.set(f"{prefix}:{pk}:hits", 0).sadd(f"{prefix}:hits:0", pk)
            pipe.set(f"{prefix}:{pk}:note", "x")
            pipe.execute()

    def reindex(pk: int, field: str, old: Any, new: Any, write: Callable[[Any], Any]) -> None:
        with r.pipeline() as pipe:
            write(pipe)
            if old is not None:
                pipe.srem(f"{prefix}:{field}:{old.decode()}", pk)
            pipe.sadd(f"{prefix}:{field}:{new}", pk)
            pipe.execute()

    for i in range(ROWS):
        create(NAMES[i % 10])
    r.sadd(f"{prefix}:1:tags", *[f"t{i}" for i in range(tags)])
    ticks = count()

    def set_indexed() -> None:
        new = NAMES[next(ticks) % 10]
        old = r.get(f"{prefix}:2:name")
        reindex(2, "name", old, new, lambda p: p.set(f"{prefix}:2:name", new))

    def incr_indexed() -> None:
        new = r.incrby(f"{prefix}:3:hits", 1)
        reindex(3, "hits", str(new - 1).encode(), new, lambda p: None)

    def sadd_srem() -> None:
        with r.pipeline() as pipe:
            pipe.sadd(f"{prefix}:1:tags", "extra").sadd(f"{prefix}:tags:extra", 1).execute()
        with r.pipeline() as pipe:
            pipe.srem(f"{prefix}:1:tags", "extra").srem(f"{prefix}:tags:extra", 1).execute()

    return [
        ("create", create, 200, -1),
        ("set indexed", set_indexed, 500, -1),
        ("incr indexed", incr_indexed, 500, -1),
        ("set plain", lambda: r.set(f"{prefix}:4:note", "y"), 500, -1),
        ("sadd+srem, big set", sadd_srem, 200, -1),
        ("filter", lambda: list(r.smembers(f"{prefix}:name:n3")), 300, ROWS // 10),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--tags", type=int, default=TAGS, help="members of the big set")
    args = parser.parse_args(argv)
    upstream = load_upstream()
    import limpyd.database
    import limpyd.fields
    import limpyd.model

    ours_mods = {"model": limpyd.model, "fields": limpyd.fields, "database": limpyd.database}
    with bench_server() as url:
        settings = redis.connection.parse_url(url)
        host, port = settings["host"], settings["port"]
        r = redis.Redis(host=host, port=port, db=0)
        r.flushdb()
        ours_db = limpyd.database.RedisDatabase(host=host, port=port, db=0)
        up_db = upstream["database"].RedisDatabase(host=host, port=port, db=0)
        contenders = {
            "ours": model_cases(define(ours_mods, ours_db, "ours"), args.tags),
            "raw": raw_cases(r, "raw:item", args.tags),
            "upstream": model_cases(define(upstream, up_db, "up"), args.tags),
        }
        labels = [c[0] for c in contenders["ours"]]
        check_rows(ROWS, contenders)  # each contender's filter finds its own 100 rows
        rts = count_round_trips(contenders)
        times = time_cases(contenders, len(labels), args.rounds)
    header = [
        "| rows | operation | ours us best / median (RT) | raw | upstream 2.1.2 "
        "| ours / raw | ours / upstream |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    rows = [table_row(ROWS, label, times, rts) for label in labels]
    if args.tags != TAGS:
        print("\n".join(header + rows))
        return
    write_section(
        "limpyd writes",
        "\n".join(header + rows),
        f".venv/bin/python -m benchmarks.bench_limpyd --rounds {args.rounds}",
    )


if __name__ == "__main__":
    main()
