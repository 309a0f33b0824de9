"""Django cache backends: ``django_walrus.cache.WalrusCache`` beside django-redis and raw redis-py.

Run: ``.venv/bin/python -m benchmarks.bench_django_cache`` (``--print-only`` leaves
``benchmarks/RESULTS.md`` alone). django-redis is needed for its column only
(``pip install django-redis``; it is not a dependency of the suite). Both backends pickle
values with a 600 s timeout; WalrusCache runs with its defaults (values MAC-signed) and once
with ``SIGN=False``, django-redis with its default client. Raw redis-py is the floor a
hand-written cache would reach: pickle + GET/SET PX/MGET, a pipeline of SET PX for set_many,
INCR.
"""

from __future__ import annotations

import itertools
import pickle
import sys
from collections.abc import Callable
from typing import Any

import redis

from benchmarks.harness import Result, bench_server, measure, write_section

__all__ = ["main"]

NUMBER = 2000
ROUNDS = 8  # two full rotations of the four contenders
VALUE = {"user": 42, "name": "Ada", "tags": ["a", "b", "c"]}
MANY = 10


def _setup_django(url: str, with_django_redis: bool) -> None:
    import django
    from django.conf import settings

    caches: dict[str, Any] = {
        "walrus": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": url,
            "TIMEOUT": 600,
            "KEY_PREFIX": "w",
        },
        "walrus_unsigned": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": url,
            "TIMEOUT": 600,
            "KEY_PREFIX": "wu",
            "OPTIONS": {"SIGN": False},
        },
    }
    if with_django_redis:
        caches["django_redis"] = {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "TIMEOUT": 600,
            "KEY_PREFIX": "dr",
        }
    settings.configure(
        SECRET_KEY="bench", CACHES=caches, INSTALLED_APPS=["django_walrus"], USE_TZ=True
    )
    django.setup()


def cache_cases(cache: Any) -> list[tuple[str, Callable[[], Any]]]:
    keys = [f"k{i}" for i in range(MANY)]
    cache.set("hot", VALUE)
    cache.set_many(dict.fromkeys(keys, VALUE))
    cache.set("counter", 0)
    counter = itertools.count()
    return [
        ("get (hit)", lambda: cache.get("hot")),
        ("get (miss)", lambda: cache.get("absent")),
        ("set", lambda: cache.set(f"w{next(counter)}", VALUE)),
        (f"get_many ({MANY} keys)", lambda: cache.get_many(keys)),
        (f"set_many ({MANY} keys)", lambda: cache.set_many(dict.fromkeys(keys, VALUE))),
        ("incr", lambda: cache.incr("counter")),
    ]


def raw_cases(client: redis.Redis) -> dict[str, Callable[[], Any]]:
    keys = [f"raw:k{i}" for i in range(MANY)]
    client.set("raw:hot", pickle.dumps(VALUE), px=600_000)
    for key in keys:
        client.set(key, pickle.dumps(VALUE), px=600_000)
    client.set("raw:counter", 0)
    counter = itertools.count()

    def get(key: str) -> Any:
        data = client.get(key)
        return None if data is None else pickle.loads(data)  # type: ignore[arg-type]

    def set_many() -> None:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.set(key, pickle.dumps(VALUE), px=600_000)
        pipe.execute()

    return {
        "get (hit)": lambda: get("raw:hot"),
        "get (miss)": lambda: get("raw:absent"),
        "set": lambda: client.set(f"raw:w{next(counter)}", pickle.dumps(VALUE), px=600_000),
        f"get_many ({MANY} keys)": lambda: [pickle.loads(v) for v in client.mget(keys)],  # type: ignore[arg-type, union-attr]
        f"set_many ({MANY} keys)": set_many,
        "incr": lambda: client.incr("raw:counter"),
    }


def _ratio(ours: Result, other: Result | None) -> str:
    return "-" if other is None else f"{other.ops_per_sec / ours.ops_per_sec:.2f}x"


def _cell(result: Result | None, attr: str, fmt: str) -> str:
    return "-" if result is None else format(getattr(result, attr), fmt)


def render(rows: list[tuple[str, Result, Result, Result | None, Result]]) -> str:
    lines = [
        "| operation | WalrusCache ops/s | RT/op | SIGN=False ops/s | django-redis ops/s | RT/op "
        "| time vs django-redis | raw redis-py ops/s | RT/op | time vs raw |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, ours, unsigned, other, raw in rows:
        lines.append(
            f"| {label} | {ours.ops_per_sec:,.0f} | {ours.round_trips_per_op:g} "
            f"| {unsigned.ops_per_sec:,.0f} | {_cell(other, 'ops_per_sec', ',.0f')} "
            f"| {_cell(other, 'round_trips_per_op', 'g')} | {_ratio(ours, other)} | "
            f"{raw.ops_per_sec:,.0f} | {raw.round_trips_per_op:g} | {_ratio(ours, raw)} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    try:
        import django_redis  # noqa: F401

        have_django_redis = True
    except ImportError:
        print(
            "django-redis not installed: its column is empty (pip install django-redis)",
            file=sys.stderr,
        )
        have_django_redis = False
    with bench_server() as url:
        _setup_django(url, have_django_redis)
        from django.core.cache import caches

        contenders: dict[str, dict[str, Callable[[], Any]]] = {
            "ours": dict(cache_cases(caches["walrus"])),
            "unsigned": dict(cache_cases(caches["walrus_unsigned"])),
            "raw": raw_cases(redis.Redis.from_url(url)),
        }
        if have_django_redis:
            contenders["django_redis"] = dict(cache_cases(caches["django_redis"]))
        # Interleaved rounds (each operation on every backend back to back), best kept: a
        # busy machine then slows all columns alike instead of whichever ran at that moment.
        # The order rotates each round so no backend always runs first or last (the "set"
        # rows grow the keyspace, and Redis rehashes it as it grows).
        best: dict[tuple[str, str], Result] = {}
        names = list(contenders)
        for round_no in range(ROUNDS):
            shift = round_no % len(names)
            order = names[shift:] + names[:shift]
            for label in contenders["ours"]:
                for name in order:
                    result = measure(label, contenders[name][label], number=NUMBER)
                    kept = best.get((name, label))
                    if kept is None or result.ops_per_sec > kept.ops_per_sec:
                        best[(name, label)] = result
        ours = [best[("ours", label)] for label in contenders["ours"]]
        unsigned = {label: best[("unsigned", label)] for label in contenders["ours"]}
        others = {
            label: best[("django_redis", label)]
            for label in contenders["ours"]
            if ("django_redis", label) in best
        }
        raws = {label: best[("raw", label)] for label in contenders["ours"]}
    rows = [(r.label, r, unsigned[r.label], others.get(r.label), raws[r.label]) for r in ours]
    note = (
        "\n\nTime ratios are WalrusCache (default options, values signed with a keyed BLAKE2b MAC) "
        "time / other time: below 1.00x WalrusCache is faster. Every WalrusCache call is one "
        "round trip; "
        "`incr` is one Lua script that keeps the key's TTL and refuses a missing key. "
        "Raw redis-py does no key versioning, signing or error handling."
    )
    markdown = render(rows) + note
    if "--print-only" in argv:
        print(markdown)
    else:
        write_section("Django cache", markdown, "python -m benchmarks.bench_django_cache")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
