"""The core tour (example_projects/core_tour.py) runs on a fresh environment with no Redis
server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TOUR = Path(__file__).resolve().parents[1] / "example_projects" / "core_tour.py"


def test_demo_runs_on_the_embedded_engine() -> None:
    env = {k: v for k, v in os.environ.items() if k != "WALRUS_URL"}
    proc = subprocess.run(
        [sys.executable, str(TOUR)], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "memory://demo" in out and "embedded engine" in out
    assert "['Redis streams make durable queues']  [2 round trips]" in out
    assert "[False, False, False, True, True]  [5 round trips]" in out
    assert "144  [1 round trip]" in out
