"""Throughput on one Redis node vs a local 3-primary Redis Cluster, with 1, 2 and 4 client
processes.

Run: ``.venv/bin/python -m benchmarks.bench_cluster``. The script starts a throwaway
redis-server and a throwaway 3-primary cluster (tests/support/redis_server.py,
tests/support/cluster_server.py), all on loopback, and stops them at the end.

Workloads, each client process with its own client:

- cache: a walrus ``Cache`` on 1000 keys, 80 % ``get`` / 20 % ``set`` (1 round trip each);
- model: one cycle = ``create`` + ``load`` + an indexed equality query (1-2 + 1 + 2 round
  trips). Each process writes its own model (its own namespace, hence its own hash tag on
  the cluster), as tenants or apps would; one model always lives on one shard.

Each run lasts ``WALRUS_BENCH_SECONDS`` (default 3) after a warm-up; the figure is the sum of
the processes' operations per second. Nothing is pinned: clients and servers share the
machine's cores.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import write_section

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = (1, 2, 4)
CACHE_KEYS = 1000


def _seconds() -> float:
    return float(os.environ.get("WALRUS_BENCH_SECONDS", "3"))


def _cache_worker(url: str, index: int, seconds: float, start: Any, results: Any) -> None:
    from walrus import Database

    db = Database.from_url(url)
    cache = db.cache("bench", default_timeout=None)
    rng = random.Random(index)
    for i in range(50):  # warm-up: connections, slot map
        cache.set(f"k{i}", i)

    def op() -> None:
        key = f"k{rng.randrange(CACHE_KEYS)}"
        if rng.random() < 0.8:
            cache.get(key)
        else:
            cache.set(key, {"n": rng.random()})

    start.wait()
    done = 0
    deadline = time.perf_counter() + seconds
    began = time.perf_counter()
    while time.perf_counter() < deadline:
        for _ in range(20):
            op()
        done += 20
    results.put((done, time.perf_counter() - began))
    db.disconnect()


def _model_worker(url: str, index: int, seconds: float, start: Any, results: Any) -> None:
    from walrus import Database
    from walrus.models import IntegerField, Model, TextField

    db = Database.from_url(url)

    class Item(Model):
        __database__ = db
        __namespace__ = f"bench{index}"
        name = TextField()
        grp = IntegerField(index=True)

    counter = iter(range(10**9))

    def cycle() -> None:
        n = next(counter)
        row = Item.create(name=f"item{n}", grp=n % 50)
        Item.load(row.get_id())
        list(Item.query(Item.grp == n % 50)[:10])

    for _ in range(50):  # warm-up
        cycle()
    start.wait()
    done = 0
    deadline = time.perf_counter() + seconds
    began = time.perf_counter()
    while time.perf_counter() < deadline:
        for _ in range(5):
            cycle()
        done += 5
    results.put((done, time.perf_counter() - began))
    db.disconnect()


def _run(workload: str, url: str, processes: int, seconds: float) -> float:
    """Sum over ``processes`` client processes of their operations per second."""
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes)
    results = context.Queue()
    target = _cache_worker if workload == "cache" else _model_worker
    workers = [
        context.Process(target=target, args=(url, i, seconds, start, results))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    figures = [results.get(timeout=120 + seconds) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    return sum(done / elapsed for done, elapsed in figures)


def _flush(single_url: str, cluster: Any) -> None:
    import redis

    client = redis.Redis.from_url(single_url)
    client.flushdb()
    client.close()
    cluster.flushall()


def main() -> None:
    from tests.support.cluster_server import start_cluster
    from tests.support.redis_server import start_redis_server

    seconds = _seconds()
    server = start_redis_server()
    try:
        cluster = start_cluster(3)
        try:
            single_url, cluster_url = server.url(0), cluster.url()
            rows = []
            for workload, label in (
                ("cache", "cache get/set 80/20"),
                ("model", "model create+load+query"),
            ):
                for processes in PROCESSES:
                    _flush(single_url, cluster)
                    one = _run(workload, single_url, processes, seconds)
                    _flush(single_url, cluster)
                    three = _run(workload, cluster_url, processes, seconds)
                    rows.append((label, processes, one, three))
                    print(
                        f"{label:<26} {processes} proc  1 node {one:>9.0f}/s  "
                        f"cluster {three:>9.0f}/s",
                        flush=True,
                    )
            _flush(single_url, cluster)
        finally:
            cluster.stop()
    finally:
        server.stop()
    lines = [
        "| workload | client processes | 1 node (ops/s) | 3-primary cluster (ops/s) "
        "| cluster / 1 node |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, processes, one, three in rows:
        lines.append(f"| {label} | {processes} | {one:,.0f} | {three:,.0f} | {three / one:.2f} |")
    note = (
        f"Each figure sums the operations per second of the client processes over {seconds:g} s "
        "(a model operation is one create + load + indexed query cycle, each process on its own "
        "model, so on its own hash tag). Every server and client runs on the same 2-core machine, "
        "unpinned: the three cluster nodes share those two cores with the clients, so this shows "
        "the cost of the cluster client (slot routing, per-node connections) rather than the "
        "scaling that separate machines give. On real hardware each primary brings its own cores "
        "and the cluster's throughput grows with the number of primaries for keys that spread over "
        "them."
    )
    os.environ["WALRUS_BENCH_PIN"] = "none"  # the header then says "unpinned", as measured
    write_section(
        "Cluster", "\n".join(lines) + "\n\n" + note, command="python -m benchmarks.bench_cluster"
    )


if __name__ == "__main__":
    main()
