"""Django's own cache test suite (BaseCacheTests from Django's sources) against WalrusCache.

Runs once per supported Django version found: the project venv's Django and, when present,
the Django 4.2 LTS venv the Makefile builds (``.venv-django42``). Each run is a subprocess so
it gets Django's settings to itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django_sources import django_cache_tests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def _interpreters() -> list[tuple[str, str]]:
    found = [("venv", sys.executable)]
    lts = ROOT / ".venv-django42" / "bin" / "python"
    if lts.exists():
        found.append(("django42", str(lts)))
    elif os.environ.get("CI"):
        found.append(("django42", str(lts)))  # CI must have it: fail loudly below if missing
    return found


def _django_version(python: str) -> str:
    out = subprocess.run([python, "-c", "import django; print(django.get_version())"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.parametrize("label,python", _interpreters(), ids=[i[0] for i in _interpreters()])
@pytest.mark.parametrize("engine", ["redis", "memory"])
def test_django_cache_conformance(label: str, python: str, engine: str, redis_url: str) -> None:
    assert Path(python).exists(), f"{python} missing: run `make install` to build the Django 4.2 venv"
    version = _django_version(python)
    tests_dir = django_cache_tests(version, python=sys.executable)
    location = redis_url if engine == "redis" else "memory://conformance"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "core"), str(ROOT / "integrations")]))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [python, str(HERE / "conformance_runner.py"), str(tests_dir), location],
        capture_output=True, text=True, env=env, timeout=600,
    )
    output = proc.stdout + proc.stderr
    match = re.search(r"CONFORMANCE ran=(\d+) failures=(\d+) errors=(\d+) skipped=(\d+)", output)
    assert match, output[-6000:]
    ran, failures, errors, skipped = map(int, match.groups())
    assert proc.returncode == 0 and failures == 0 and errors == 0, output[-8000:]
    # BaseCacheTests holds 54 tests in Django 4.2 and 5.2; fewer means the import went wrong.
    assert ran >= 50, f"Django {version}: only {ran} tests ran"
    # Only the cull tests (not applicable: Redis evicts by policy, not MAX_ENTRIES) may skip.
    assert skipped <= 3, output[-4000:]
