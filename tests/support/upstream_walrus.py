"""Upstream walrus (0.9.8 by default) for compatibility tests: installed once per machine into
the git-ignored ``.cache/upstream-walrus`` and run in a child interpreter, so that data written
by either library can be read back by the other on the same logical DB.

``WALRUS_UPSTREAM_SPEC`` picks another version. Without a package index the tests that need it
skip locally and fail under ``CI``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

__all__ = ["UPSTREAM_DIR", "UPSTREAM_SPEC", "compat_db", "ensure_upstream", "run_upstream_code"]

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM_SPEC = os.environ.get("WALRUS_UPSTREAM_SPEC", "walrus==0.9.8")
UPSTREAM_DIR = ROOT / ".cache" / "upstream-walrus"
_OUT = "@@OUT@@"


def ensure_upstream() -> Path:
    """The folder holding upstream walrus (pip-installed there on first use)."""
    marker = UPSTREAM_DIR / ".spec"
    if marker.exists() and marker.read_text() == UPSTREAM_SPEC:
        return UPSTREAM_DIR
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--upgrade",
         "--target", str(UPSTREAM_DIR), UPSTREAM_SPEC],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"cannot install {UPSTREAM_SPEC}: {proc.stderr[-2000:]}")
        pytest.skip(f"cannot install {UPSTREAM_SPEC} (no package index?): {proc.stderr[-500:]}")
    marker.write_text(UPSTREAM_SPEC)
    return UPSTREAM_DIR


def run_upstream_code(code: str, url: str, tmp_path: Path, **env: str) -> Any:
    """Run ``code`` under upstream walrus (``sys.argv[1]`` is its folder, ``sys.argv[2]`` the
    Redis URL) and return the JSON of its ``out`` variable."""
    upstream = ensure_upstream()
    proc = subprocess.run(
        [sys.executable, "-c", f"{code}\nprint({_OUT!r} + json.dumps(out))\n", str(upstream), url],
        capture_output=True, text=True, cwd=str(tmp_path), check=False, timeout=120,
        env=dict(os.environ, PYTHONPATH=str(upstream), **env),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.split(_OUT, 1)[1])


def compat_db(redis_server: Any, number: int) -> Iterator[tuple[str, redis.Redis]]:
    """For a fixture: URL and raw client of logical DB ``number`` of the session's server,
    flushed before and after (both libraries use it)."""
    client = redis_server.client(number)
    client.flushdb()
    yield redis_server.url(number), client
    client.flushdb()
    client.close()
