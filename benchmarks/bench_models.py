"""Model operations: walrus-suite beside raw redis-py and upstream walrus.

Run: ``.venv/bin/python -m benchmarks.bench_models`` (no options). Each size N (10, 1000
and 10 000 rows) gets its own namespace and the same rows in all three libraries: row i
(0 <= i < N, primary key i + 1) has grp = i % 10, score = i and a body whose first word is
WORDS[i % 10]. The create case runs last so the queries see the stated size, and the update
case changes the score of the last row, which no query matches, so every query returns the
same rows whatever ran before. Rows returned (checked before timing, in every library):
eq (grp == 3), range (score < N/10), fts ("delta") and order_by (grp == 3, by score desc)
N/10 rows; and (grp == 3 and score < N/2) N/20 rows (1 at N = 10). Queries repeat 300
times at 10 rows, 20 at 1000 and 5 at 10 000.

The raw redis-py column sends the minimal commands a hand-written layer would, so it is the
floor: a write is the hash plus the same index writes in one MULTI/EXEC; a query is one
index read (SMEMBERS, ZRANGEBYSCORE, or for "and" ZINTERSTORE + ZRANGEBYSCORE + DEL in one
MULTI/EXEC) plus one pipelined HGETALL batch. It skips what the model adds (validation,
unique checks, guarded atomic writes, removal of old index entries).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis

from benchmarks.harness import Result, bench_server, measure, table, upstream_results, write_section
from walrus import Database
from walrus.models import FloatField, IntegerField, Model, TextField

__all__ = ["main"]

SIZES = (10, 1000, 10000)
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

Case = tuple[str, Callable[[], Any], int]


def _row(i: int) -> dict[str, Any]:
    return {
        "name": f"item{i}",
        "grp": i % 10,
        "score": float(i),
        "body": f"{WORDS[i % 10]} common text {i}",
    }


def _number(n: int) -> int:
    return 300 if n <= 10 else 20 if n <= 1000 else 5


def expected_rows(n: int) -> dict[str, int]:
    """Rows each query case returns at size ``n`` (see the module docstring)."""
    return {
        "eq": n // 10,
        "range": n // 10,
        "and": (n // 10 + 1) // 2,
        "fts": n // 10,
        "order_by": n // 10,
    }


def _check(label: str, n: int, result: Any) -> None:
    kind = label.split(" (")[0].removeprefix("query ")
    wanted = expected_rows(n).get(kind)
    if wanted is not None and len(result) != wanted:
        raise AssertionError(f"{label}: {len(result)} rows instead of {wanted}")


def _ours(db: Database, n: int) -> list[Case]:
    class Item(Model):
        __database__ = db
        __namespace__ = f"ours{n}"
        name = TextField(index=True)
        grp = IntegerField(index=True)
        score = FloatField(index=True)
        body = TextField(fts=True)

    for i in range(n):
        Item.create(**_row(i))
    row = Item.load(n)  # the last row: grp 9, the top score, matched by no query
    counter = iter(range(10**9))
    q = _number(n)
    return [
        (f"load ({n} rows)", lambda: Item.load(1), 1000),
        (f"update ({n} rows)", lambda: (setattr(row, "score", row.score + 1), row.save()), 300),
        (f"query eq ({n} rows)", lambda: list(Item.query(Item.grp == 3)), q),
        (f"query range ({n} rows)", lambda: list(Item.query(Item.score < n / 10)), q),
        (
            f"query and ({n} rows)",
            lambda: list(Item.query((Item.grp == 3) & (Item.score < n / 2))),
            q,
        ),
        (f"query fts ({n} rows)", lambda: list(Item.query(Item.body.search("delta"))), q),
        (
            f"query order_by ({n} rows)",
            lambda: list(Item.query(Item.grp == 3, order_by=Item.score.desc())),
            q,
        ),
        (f"create ({n} rows)", lambda: Item.create(**_row(n + next(counter))), 300),
    ]


def _raw(r: redis.Redis, n: int) -> list[Case]:
    p = f"raw{n}|item:"

    def write(i: int, values: dict[str, Any]) -> None:
        key = f"{p}id.{i}"
        pipe = r.pipeline(transaction=True)
        pipe.hset(key, mapping={"_id": i, **values})
        pipe.sadd(f"{p}all", key)
        pipe.sadd(f"{p}name.absolute.{values['name']}", key)
        pipe.sadd(f"{p}_id.absolute.{i}", key)
        pipe.zadd(f"{p}_id.continuous", {key: i})
        pipe.sadd(f"{p}grp.absolute.{values['grp']}", key)
        pipe.zadd(f"{p}grp.continuous", {key: values["grp"]})
        pipe.sadd(f"{p}score.absolute.{values['score']!r}", key)
        pipe.zadd(f"{p}score.continuous", {key: values["score"]})
        pipe.sadd(f"{p}body.absolute.{values['body']}", key)
        pipe.zadd(f"{p}body.fts.{values['body'].split()[0]}", {key: -0.2})
        pipe.execute()

    def fetch(keys: list[bytes]) -> list[dict[bytes, bytes]]:
        pipe = r.pipeline(transaction=False)
        for key in keys:
            pipe.hgetall(key)
        return pipe.execute()

    def both(low: str, high: str) -> list[bytes]:
        # grp == 3 and score in low..high: intersect in Redis, read the range, drop the temp.
        temp = f"{p}temp.and"
        pipe = r.pipeline(transaction=True)
        pipe.zinterstore(temp, {f"{p}grp.absolute.3": 0, f"{p}score.continuous": 1})
        pipe.zrangebyscore(temp, low, high)
        pipe.delete(temp)
        return list(pipe.execute()[1])

    for i in range(n):
        write(i + 1, _row(i))
    updated = {"row": _row(n - 1)}
    counter = iter(range(n, 10**9))
    q = _number(n)
    grp = f"{p}grp.continuous"

    def update() -> None:
        updated["row"] = {**updated["row"], "score": updated["row"]["score"] + 1}
        write(n, updated["row"])

    return [
        (f"load ({n} rows)", lambda: r.hgetall(f"{p}id.1"), 1000),
        (f"update ({n} rows)", update, 300),
        (f"query eq ({n} rows)", lambda: fetch(list(r.smembers(f"{p}grp.absolute.3"))), q),
        (
            f"query range ({n} rows)",
            lambda: fetch(r.zrangebyscore(f"{p}score.continuous", "-inf", f"({n / 10}")),
            q,
        ),
        (f"query and ({n} rows)", lambda: fetch(both("-inf", f"({n / 2}")), q),
        (f"query fts ({n} rows)", lambda: fetch(r.zrange(f"{p}body.fts.delta", 0, -1)), q),
        (
            f"query order_by ({n} rows)",
            lambda: sorted(fetch(r.zrangebyscore(grp, 3, 3)), key=lambda h: -float(h[b"score"])),
            q,
        ),
        (f"create ({n} rows)", lambda: (lambda i: write(i + 1, _row(i)))(next(counter)), 300),
    ]


_UPSTREAM_BODY = """
from walrus import Model, TextField, IntegerField, FloatField

def _row(i):
    return {"name": "item%d" % i, "grp": i % 10, "score": float(i),
            "body": "%s common text %d" % (WORDS[i % 10], i)}

def cases(db):
    out = []
    for n in SIZES:
        class Item(Model):
            __database__ = db
            __namespace__ = "up%d" % n
            name = TextField(index=True)
            grp = IntegerField(index=True)
            score = FloatField(index=True)
            body = TextField(fts=True)
        for i in range(n):
            Item.create(**_row(i))
        row = Item.load(n)
        counter = iter(range(n, 10**9))
        q = 300 if n <= 10 else 20 if n <= 1000 else 5
        def update(row=row):
            row.score = row.score + 1
            row.save()
        I = Item
        out += [
            ("load (%d rows)" % n, lambda I=I: I.load(1), 1000),
            ("update (%d rows)" % n, update, 300),
            ("query eq (%d rows)" % n, lambda I=I: list(I.query(I.grp == 3)), q),
            ("query range (%d rows)" % n, lambda I=I, n=n: list(I.query(I.score < n / 10)), q),
            ("query and (%d rows)" % n,
             lambda I=I, n=n: list(I.query((I.grp == 3) & (I.score < n / 2))), q),
            ("query fts (%d rows)" % n, lambda I=I: list(I.query(I.body.search("delta"))), q),
            ("query order_by (%d rows)" % n,
             lambda I=I: list(I.query(I.grp == 3, order_by=I.score.desc())), q),
            ("create (%d rows)" % n, lambda I=I, c=counter: I.create(**_row(next(c))), 300),
        ]
    for label, fn, _number in out:
        kind = label.split(" (")[0].replace("query ", "", 1)
        n = int(label.split("(")[1].split()[0])
        wanted = {"eq": n // 10, "range": n // 10, "and": (n // 10 + 1) // 2, "fts": n // 10,
                  "order_by": n // 10}.get(kind)
        if wanted is not None and len(fn()) != wanted:
            raise AssertionError("upstream %s: %d rows instead of %d" % (label, len(fn()), wanted))
    return out
"""
UPSTREAM_CODE = f"WORDS = {WORDS!r}\nSIZES = {SIZES!r}\n" + _UPSTREAM_BODY


def _best(old: Result | None, new: Result) -> Result:
    return new if old is None or new.ops_per_sec > old.ops_per_sec else old


def main() -> None:
    with bench_server() as url:
        db = Database.from_url(url)
        raw = redis.Redis.from_url(url)
        db.flushdb()
        measure("warm-up", raw.ping, number=3000)
        ours: dict[str, Result] = {}
        raws: dict[str, Result] = {}
        for n in SIZES:
            for (label, fn, number), (_, raw_fn, raw_number) in zip(
                _ours(db, n), _raw(raw, n), strict=True
            ):
                _check(label, n, fn())
                _check(label, n, raw_fn())
                raws[label] = _best(
                    raws.get(label), measure(label, raw_fn, number=raw_number, warmup=3)
                )
                ours[label] = _best(ours.get(label), measure(label, fn, number=number, warmup=3))
        try:
            upstream = upstream_results(UPSTREAM_CODE, url)
        except Exception as exc:  # the upstream install needs the package index
            print(f"upstream walrus not measured: {exc}")
            upstream = {}
        rows = [(label, ours[label], raws.get(label), upstream.get(label)) for label in ours]
        db.close()
        raw.close()
    write_section("Models", table(rows), command=".venv/bin/python -m benchmarks.bench_models")


if __name__ == "__main__":
    main()
