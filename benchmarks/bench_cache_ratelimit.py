"""Cache and RateLimit: walrus-suite beside raw redis-py and upstream walrus.

Run: ``.venv/bin/python -m benchmarks.bench_cache_ratelimit`` (``--print-only`` leaves
``benchmarks/RESULTS.md`` alone). Raw redis-py is the floor a hand-written version would
reach: GET/SET of a pickle, MGET, and for the rate limit LLEN/LINDEX then LPUSH+LTRIM+EXPIRE
(the same sliding log, not atomic).
"""

from __future__ import annotations

import itertools
import pickle
import sys
import time

import redis

from benchmarks.harness import Result, bench_server, measure, table, upstream_results, write_section
from walrus import Database

__all__ = ["main"]

NUMBER = 2000
VALUE = {"user": 42, "name": "Ada", "tags": ["a", "b", "c"]}

UPSTREAM_CODE = f"""
import itertools
NUMBER = {NUMBER}
VALUE = {VALUE!r}


def cases(db):
    cache = db.cache("upc", default_timeout=600)
    cache.set("hot", VALUE)
    keys = ["k%d" % i for i in range(10)]
    for k in keys:
        cache.set(k, VALUE)
    counter = itertools.count()

    @cache.cached(timeout=600)
    def add(a, b):
        return a + b

    rl = db.rate_limit("uprl", limit=10 ** 9, per=60)
    rll = (
        db.rate_limit_lua("uprll", limit=10 ** 9, per=60) if hasattr(db, "rate_limit_lua") else None
    )
    out = [
        ("cache get (hit)", lambda: cache.get("hot"), NUMBER),
        ("cache set", lambda: cache.set("w%d" % next(counter), VALUE), NUMBER),
        ("cached function (hit)", lambda: add(1, 2), NUMBER),
        ("cache incr", lambda: cache.incr("hits"), NUMBER),
        ("rate limit check (allowed)", lambda: rl.limit("client"), NUMBER),
    ]
    return out
"""


def ours_cases(db: Database) -> list[tuple[str, object]]:
    cache = db.cache("ourc", default_timeout=600)
    cache.set("hot", VALUE)
    keys = [f"k{i}" for i in range(10)]
    cache.set_many({k: VALUE for k in keys})
    counter = itertools.count()

    @cache.cached(timeout=600)
    def add(a: int, b: int) -> int:
        return a + b

    rl = db.rate_limit("ourrl", limit=10**9, per=60)
    gcra = db.rate_limit("ourrlg", limit=10**9, per=60, strategy="gcra")
    return [
        ("cache get (hit)", lambda: cache.get("hot")),
        ("cache set", lambda: cache.set(f"w{next(counter)}", VALUE)),
        ("cache get_many (10 keys)", lambda: cache.get_many(keys)),
        ("cached function (hit)", lambda: add(1, 2)),
        ("cache incr", lambda: cache.incr("hits")),
        ("rate limit check (allowed)", lambda: rl.limit("client")),
        ("rate limit check (allowed), gcra", lambda: gcra.limit("client")),
    ]


def raw_cases(client: redis.Redis) -> dict[str, object]:
    client.set("rawc:hot", pickle.dumps(VALUE), ex=600)
    keys = [f"rawc:k{i}" for i in range(10)]
    for k in keys:
        client.set(k, pickle.dumps(VALUE), ex=600)
    counter = itertools.count()
    limit, per = 10**9, 60

    def rate_limit() -> bool:
        # The sliding log by hand: read, decide, write. Not atomic (that is the point of ours).
        key = "rawrl:client"
        if client.llen(key) >= limit:
            oldest = client.lindex(key, -1)
            if oldest is not None and time.time() - float(oldest) < per:
                return True
        pipe = client.pipeline()
        pipe.lpush(key, time.time())
        pipe.ltrim(key, 0, limit - 1)
        pipe.expire(key, per)
        pipe.execute()
        return False

    return {
        "cache get (hit)": lambda: pickle.loads(client.get("rawc:hot")),  # type: ignore[arg-type]
        "cache set": lambda: client.set(f"rawc:w{next(counter)}", pickle.dumps(VALUE), ex=600),
        "cache get_many (10 keys)": lambda: [pickle.loads(v) for v in client.mget(keys)],  # type: ignore[arg-type]
        "cached function (hit)": lambda: pickle.loads(client.get("rawc:hot")),  # type: ignore[arg-type]
        "cache incr": lambda: client.incrby("rawc:hits", 1),
        "rate limit check (allowed)": rate_limit,
    }


def main(argv: list[str]) -> int:
    with bench_server() as url:
        db = Database.from_url(url)
        raw = redis.Redis.from_url(url)
        raw_fns = raw_cases(raw)
        rows: list[tuple[str, Result, Result | None, Result | None]] = []
        ours = [measure(label, fn, number=NUMBER) for label, fn in ours_cases(db)]  # type: ignore[arg-type]
        raws = {label: measure(label, fn, number=NUMBER) for label, fn in raw_fns.items()}  # type: ignore[arg-type]
        try:
            up = upstream_results(UPSTREAM_CODE, url)
        except Exception as exc:  # upstream missing: report without it
            print(f"upstream walrus not measured: {exc}", file=sys.stderr)
            up = {}
        for result in ours:
            rows.append((result.label, result, raws.get(result.label), up.get(result.label)))
    note = (
        "\n\nRaw redis-py's rate limit is the same sliding log written by hand (LLEN, then LPUSH + "
        "LTRIM + EXPIRE in a pipeline): 2 round trips and not atomic. Ours is one Lua call on the "
        "server clock (the default moving-window strategy; the gcra row keeps one integer per "
        "client instead of a list); upstream's `RateLimit` sends LLEN/LINDEX then a pipeline "
        "(client clock). "
        "The cached-function raw column is a plain GET + unpickle (the floor for a hit). "
        "Our `cache incr` is one Lua call (INCRBY, plus PEXPIRE for a new counter with a "
        "timeout; a plain INCRBY when no timeout applies); raw and upstream send a plain INCRBY."
    )
    markdown = table(rows) + note
    if "--print-only" in argv:
        print(markdown)
    else:
        write_section(
            "Cache and rate limit", markdown, "python -m benchmarks.bench_cache_ratelimit"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
