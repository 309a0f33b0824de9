"""Compressed Django cache values: WalrusCache with each compressor beside django-redis with
the same one, on a 10 KB JSON-like value.

Run: ``.venv/bin/python -m benchmarks.bench_compression`` (``--print-only`` leaves RESULTS.md
alone; needs the ``bench`` extra: django-redis, and pyzstd for its zstd compressor). Both
backends pickle, compress at the algorithm's default level and store with a 600 s timeout;
WalrusCache runs with ``SIGN=False`` here, as django-redis has no signing. One operation is
``set`` then ``get`` of the value (2 round trips on both sides). Contenders alternate round
by round; best of the rounds.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import redis

from benchmarks.harness import Result, bench_server, measure, write_section

__all__ = ["main"]

NUMBER = 500
ROUNDS = 6
# About 10 KB pickled: the kind of value a page fragment or an API response cache holds.
VALUE = {
    "items": [
        {"id": i, "title": f"Item number {i}", "price": round(i * 1.37, 2),
         "tags": ["red", "blue", "sale"][: i % 3 + 1],
         "description": "A fairly ordinary product description that repeats across items."}
        for i in range(190)
    ],
    "page": 1,
}  # fmt: skip
COMPRESSORS = {"none": None, "zlib": "zlib.ZlibCompressor", "lzma": "lzma.LzmaCompressor",
               "zstd": "zstd.ZStdCompressor", "lz4": "lz4.Lz4Compressor"}  # fmt: skip


def _setup(url: str) -> None:
    import django
    from django.conf import settings

    caches: dict[str, Any] = {}
    for name, path in COMPRESSORS.items():
        caches[f"walrus-{name}"] = {
            "BACKEND": "django_walrus.cache.WalrusCache", "LOCATION": url, "TIMEOUT": 600,
            "KEY_PREFIX": f"w{name}",
            "OPTIONS": {"SIGN": False, "COMPRESSOR": None if path is None else name},
        }  # fmt: skip
        options = {} if path is None else {"COMPRESSOR": f"django_redis.compressors.{path}"}
        caches[f"django-redis-{name}"] = {
            "BACKEND": "django_redis.cache.RedisCache", "LOCATION": url, "TIMEOUT": 600,
            "KEY_PREFIX": f"d{name}",
            "OPTIONS": options,
        }  # fmt: skip
    settings.configure(
        SECRET_KEY="bench", CACHES=caches, INSTALLED_APPS=["django_walrus"], USE_TZ=True
    )
    django.setup()


def main(argv: list[str]) -> dict[str, tuple[Result, int]]:
    from django.core.cache import caches

    best: dict[str, tuple[Result, int]] = {}
    with bench_server() as url:
        _setup(url)
        raw = redis.Redis.from_url(url)
        labels = [f"{side}-{name}" for name in COMPRESSORS for side in ("walrus", "django-redis")]
        cases: dict[str, Callable[[], Any]] = {}
        for label in labels:
            cache = caches[label]

            def cycle(cache: Any = cache) -> Any:
                cache.set("v", VALUE)
                return cache.get("v")

            cases[label] = cycle
        for round_number in range(ROUNDS):
            shift = round_number % len(labels)
            for label in labels[shift:] + labels[:shift]:  # contenders rotate each round
                result = measure(label, cases[label], number=NUMBER)
                if label not in best or result.ops_per_sec > best[label][0].ops_per_sec:
                    prefix = ("w" if label.startswith("walrus") else "d") + label.split("-")[-1]
                    stored = raw.strlen(next(iter(raw.scan_iter(match=f"{prefix}:*:v"))))
                    best[label] = (result, int(stored))
        raw.close()
    lines = ["| compressor | walrus set+get/s | walrus RT/op | walrus stored bytes "
             "| django-redis set+get/s | django-redis RT/op | django-redis stored bytes "
             "| time vs django-redis |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name in COMPRESSORS:
        (w, wb), (d, db) = best[f"walrus-{name}"], best[f"django-redis-{name}"]
        lines.append(f"| {name} | {w.ops_per_sec:,.0f} | {w.round_trips_per_op:g} | {wb:,} "
                     f"| {d.ops_per_sec:,.0f} | {d.round_trips_per_op:g} | {db:,} "
                     f"| {d.ops_per_sec / w.ops_per_sec:.2f}x |")  # fmt: skip
    load = (
        f" Load average while measuring: {os.getloadavg()[0]:.1f}."
        if hasattr(os, "getloadavg")
        else ""
    )
    markdown = (__doc__ or "").split("\n\n")[0] + load + "\n\n" + "\n".join(lines)
    if "--print-only" in argv:
        print(markdown)
    else:
        write_section(
            "Django cache compression", markdown, "python -m benchmarks.bench_compression"
        )
    return best


if __name__ == "__main__":
    main(sys.argv[1:])
