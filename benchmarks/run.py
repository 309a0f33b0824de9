"""Run every benchmark of ``benchmarks/`` in turn: ``python -m benchmarks.run [area ...]``.

Areas: containers, fts, models, limpyd, cache_ratelimit, helpers_lag, django_cache,
django_async, async_batching, asgi, flask, celery, cluster (default: all, in that order). Each
runs in its own interpreter, prints its table and writes its section of
``benchmarks/RESULTS.md`` (bench_flask with ``--write``). Stops at the first benchmark that
fails. Expect about half an hour for all of them on a 2-core machine.
"""

from __future__ import annotations

import subprocess
import sys

from benchmarks.harness import ROOT

__all__ = ["AREAS", "main"]

# area -> extra arguments that make the module write its RESULTS.md section
AREAS: dict[str, list[str]] = {
    "containers": [],
    "fts": [],
    "models": [],
    "limpyd": [],
    "cache_ratelimit": [],
    "helpers_lag": [],
    "django_cache": [],
    "django_async": [],
    "async_batching": [],
    "asgi": [],
    "flask": ["--write"],
    "celery": [],
    "cluster": [],
}


def main(argv: list[str] | None = None) -> int:
    chosen = list(sys.argv[1:] if argv is None else argv) or list(AREAS)
    unknown = [area for area in chosen if area not in AREAS]
    if unknown:
        print(
            f"unknown benchmark area(s): {', '.join(unknown)}; known: {', '.join(AREAS)}",
            file=sys.stderr,
        )
        return 2
    for area in chosen:
        print(f"== benchmarks.bench_{area}", flush=True)
        command = [sys.executable, "-m", f"benchmarks.bench_{area}", *AREAS[area]]
        if subprocess.run(command, cwd=ROOT).returncode != 0:
            print(f"benchmarks.bench_{area} failed", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
