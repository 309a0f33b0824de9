"""Benchmark harness: ops/s and round trips per operation, ours beside raw redis-py and upstream.

Upstream walrus runs in a subprocess (its import name clashes with ours), installed once with
``pip install --target benchmarks/.upstream walrus``. Results are printed and written as
sections of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from walrus.roundtrips import RoundTripCounter

__all__ = [
    "Result",
    "bench_server",
    "import_beside",
    "pin_together",
    "measure",
    "table",
    "upstream_results",
    "write_section",
]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
UPSTREAM_DIR = HERE / ".upstream"
UPSTREAM_SPEC = os.environ.get("WALRUS_UPSTREAM_SPEC", "walrus==0.9.8")


@dataclass(frozen=True)
class Result:
    label: str
    ops_per_sec: float
    round_trips_per_op: float

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "ops": self.ops_per_sec, "rt": self.round_trips_per_op}


def measure(label: str, fn: Callable[[], Any], *, number: int = 1000, warmup: int = 20) -> Result:
    """Call ``fn`` ``number`` times after ``warmup`` calls; best of three timed runs."""
    for _ in range(warmup):
        fn()
    with RoundTripCounter() as rt:
        fn()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, time.perf_counter() - start)
    return Result(label, number / best if best > 0 else float("inf"), float(rt.count))


def import_beside(package: str, folder: Path, modules: Sequence[str]) -> list[ModuleType]:
    """``modules`` of another release of ``package``, installed in ``folder``, imported beside
    ours in this interpreter: our modules are set aside from ``sys.modules`` while it
    imports, then put back (its modules keep their own references). No Redis work."""

    def of_package(name: str) -> bool:
        return name == package or name.startswith(package + ".")

    ours = {name: mod for name, mod in sys.modules.items() if of_package(name)}
    for name in ours:
        del sys.modules[name]
    sys.path.insert(0, str(folder))
    try:
        loaded = [importlib.import_module(name) for name in modules]
        where = loaded[0].__file__ or ""
        if not Path(where).is_relative_to(folder):
            raise RuntimeError(f"{modules[0]} was imported from {where}, not from {folder}")
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if of_package(n)]:
            del sys.modules[name]
        sys.modules.update(ours)
    return loaded


def pin_together(pid: int | None) -> None:
    """Pin this process (and so the subprocesses it starts later) and every thread of
    process ``pid`` to one CPU.

    On this 2-vCPU VM a loopback round trip between two idle vCPUs costs 4-5 times one on a
    single CPU, and which placement a run gets changes from one measurement to the next, so
    unpinned figures swing by 4x. ``WALRUS_BENCH_PIN=none`` leaves placement to the kernel.
    """
    if os.environ.get("WALRUS_BENCH_PIN", "same") == "none" or not hasattr(os, "sched_setaffinity"):
        return
    cpu = {min(os.sched_getaffinity(0))}
    os.sched_setaffinity(0, cpu)
    if pid is not None:
        for task in Path(f"/proc/{pid}/task").iterdir():
            os.sched_setaffinity(int(task.name), cpu)


@contextmanager
def bench_server() -> Iterator[str]:
    """A throwaway loopback redis-server for one benchmark run (or WALRUS_BENCH_REDIS_URL),
    pinned with this process to one CPU (see ``pin_together``)."""
    url = os.environ.get("WALRUS_BENCH_REDIS_URL")
    if url:
        yield url
        return
    from tests.support.redis_server import start_redis_server

    server = start_redis_server()
    try:
        pin_together(server.process.pid if server.process is not None else None)
        yield server.url(0)
    finally:
        server.stop()


def _ensure_upstream() -> Path:
    marker = UPSTREAM_DIR / ".spec"
    if marker.exists() and marker.read_text() == UPSTREAM_SPEC:
        return UPSTREAM_DIR
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--upgrade",
            "--target",
            str(UPSTREAM_DIR),
            UPSTREAM_SPEC,
        ],
        check=True,
    )
    marker.write_text(UPSTREAM_SPEC)
    return UPSTREAM_DIR


_RUNNER = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    for name in [m for m in sys.modules if m == "walrus" or m.startswith("walrus.")]:
        del sys.modules[name]
    import walrus
    assert walrus.__file__.startswith(sys.argv[1]), walrus.__file__
    from redis.connection import AbstractConnection
    state = {"n": 0, "hs": False}
    send, onc = AbstractConnection.send_packed_command, AbstractConnection.on_connect_check_health
    def counting(self, c, check_health=True):
        if not state["hs"]:
            state["n"] += 1
        return send(self, c, check_health)
    def quiet(self, *a, **k):
        state["hs"] = True
        try:
            return onc(self, *a, **k)
        finally:
            state["hs"] = False
    AbstractConnection.send_packed_command = counting
    AbstractConnection.on_connect_check_health = quiet
    db = walrus.Database.from_url(sys.argv[2])
    ns = {}
    exec(sys.stdin.read(), ns)
    out = []
    for label, fn, number in ns["cases"](db):
        for _ in range(20):
            fn()
        state["n"] = 0
        fn()
        rt = state["n"]
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(number):
                fn()
            best = min(best, time.perf_counter() - t)
        out.append({"label": label, "ops": number / best, "rt": rt})
    print("@@RESULTS@@" + json.dumps(out))
    """
)


def upstream_results(code: str, redis_url: str) -> dict[str, Result]:
    """Run ``code`` (defining ``cases(db)``) against upstream walrus in a subprocess."""
    target = _ensure_upstream()
    proc = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(target), redis_url],
        input=textwrap.dedent(code),
        capture_output=True,
        text=True,
        cwd=str(target),
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"upstream benchmark failed:\n{proc.stderr[-4000:]}")
    payload = proc.stdout.split("@@RESULTS@@", 1)[1]
    return {r["label"]: Result(r["label"], r["ops"], r["rt"]) for r in json.loads(payload)}


def _ratio(ours: Result, other: Result | None) -> str:
    if other is None:
        return "-"
    return f"{other.ops_per_sec / ours.ops_per_sec:.2f}x"


def table(rows: Sequence[tuple[str, Result, Result | None, Result | None]]) -> str:
    """Markdown table: ops/s and round trips of ours, raw redis-py and upstream walrus.

    The time ratio columns are ours-time / other-time (1.00x = same speed, <1 = ours faster).
    """
    lines = [
        "| operation | ours ops/s | ours RT/op | raw ops/s | raw RT/op | time vs raw "
        "| upstream ops/s | upstream RT/op | time vs upstream |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def cell(r: Result | None, attr: str, fmt: str) -> str:
        return "-" if r is None else format(getattr(r, attr), fmt)

    for label, ours, raw, up in rows:
        lines.append(
            f"| {label} | {ours.ops_per_sec:,.0f} | {ours.round_trips_per_op:g} | "
            f"{cell(raw, 'ops_per_sec', ',.0f')} | {cell(raw, 'round_trips_per_op', 'g')} "
            f"| {_ratio(ours, raw)} | "
            f"{cell(up, 'ops_per_sec', ',.0f')} | {cell(up, 'round_trips_per_op', 'g')} "
            f"| {_ratio(ours, up)} |"
        )
    return "\n".join(lines)


def write_section(name: str, markdown: str, command: str | None = None) -> None:
    """Replace (or append) the section ``## name`` of benchmarks/RESULTS.md and print it."""
    header = f"## {name}"
    stamp = time.strftime("%Y-%m-%d")
    body = f"{header}\n\nMeasured {stamp}"
    if command:
        body += f" with `{command}`"
    placement = (
        "one CPU shared by client and server"
        if os.environ.get("WALRUS_BENCH_PIN", "same") != "none"
        else "unpinned"
    )
    body += f" (2-core VM, redis-server on loopback, {placement})."
    if hasattr(os, "getloadavg"):
        # Above about 1 other jobs shared the CPUs: every ops/s figure drops, ratios widen.
        body += (
            f" 1-minute load average when written: {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} CPUs."
        )
    body += f"\n\n{markdown.strip()}\n"
    text = (
        RESULTS.read_text()
        if RESULTS.exists()
        else "# Benchmark results\n\nRatios are time per operation, ours / other.\n"
    )
    pattern = re.compile(rf"^{re.escape(header)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: body + "\n", text)
    else:
        text = text.rstrip() + "\n\n" + body
    RESULTS.write_text(text)
    print(body)
