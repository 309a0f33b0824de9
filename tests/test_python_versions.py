"""The suite on the other Pythons this machine has (3.10, 3.12, 3.13 beside the main 3.11).

For each interpreter found (pyenv's versions or ``python3.X`` on PATH) a venv is built once
(``.venv-py3XX``, rebuilt when pyproject.toml changes) and the limpyd, model, cache,
rate-limit, lock and Django integration suites run in it against this session's redis-server,
with Django 4.2 LTS on 3.10 and the newest 6.x on 3.12/3.13, where Django's own cache test
suite runs against WalrusCache too.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from django_sources import django_version, run_django_cache_tests
from pythons import ROOT, build_venv, interpreter
from redis_server import RedisServer

VERSIONS = ("3.10", "3.12", "3.13")
SUITES = [
    "tests/limpyd",
    "tests/core/test_models.py",
    "tests/core/test_models_atomic.py",
    "tests/core/test_cache.py",
    "tests/core/test_rate_limit.py",
    "tests/core/test_lock.py",
    "tests/django",  # the integration on the oldest and newest Django series (see _venv)
    "--ignore=tests/django/test_conformance.py",  # runs its own venvs
]
PACKAGES = ["pytest>=8", "hypothesis>=6.100", "pytest-django>=4.8"]
FOUND = {version: interpreter(version) for version in VERSIONS}


def _venv(version: str, python: str) -> Path:
    """``.venv-py3XX`` with the suite installed (editable), the test tools and a Django:
    the newest 6.x from Python 3.12, else the 4.2 LTS (the main venv holds 5.2)."""
    django = "Django>=6.0,<7" if version >= "3.12" else "Django>=4.2,<4.3"
    salt = (ROOT / "pyproject.toml").read_text()
    return build_venv(ROOT / f".venv-py{version.replace('.', '')}", python,
                      ["-e", f"{ROOT}[embedded,search,msgpack]", *PACKAGES, django], salt=salt)


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_suites_on_other_python(version: str, redis_server: RedisServer) -> None:
    found = FOUND[version]
    if found is None:
        if os.environ.get("CI") and not any(FOUND.values()):
            pytest.fail(f"CI found none of Python {', '.join(VERSIONS)}: the version matrix is empty")
        pytest.skip(f"Python {version} is not installed on this machine")
    python = _venv(version, found)
    env = dict(os.environ, WALRUS_TEST_REDIS_URL=redis_server.url(9))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *SUITES],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    match = re.search(r"(\d+) passed", proc.stdout)
    assert match and int(match.group(1)) > 300, tail
    assert "skipped" not in proc.stdout.splitlines()[-1], tail


@pytest.mark.slow
@pytest.mark.parametrize("version", [v for v in VERSIONS if v >= "3.12"])
def test_django6_cache_conformance(version: str, redis_url: str) -> None:
    found = FOUND[version]
    if found is None:
        pytest.skip(f"Python {version} is not installed on this machine")
    python = str(_venv(version, found))
    assert django_version(python).startswith("6."), django_version(python)
    run_django_cache_tests(python, redis_url)
