"""The suite on the other Pythons this machine has (3.10, 3.12, 3.13 beside the main 3.11).

For each interpreter found (pyenv's versions or ``python3.X`` on PATH) a venv is built once
(``.venv-py3XX``, rebuilt when pyproject.toml or its pins change) and suites run in it against
redis-servers that run starts:

- Python 3.10 gets the oldest releases pyproject.toml admits (redis-py 5.0, Django 4.2,
  Flask 2.3, Celery 5.3), and the whole core, limpyd, Django, Flask and Celery suites run on
  it, single server and ``memory://`` (a cluster needs redis-py 6.1: tested on the others);
- Python 3.12 and 3.13 get the newest releases (Django 6.x), run the model, cache, lock and
  integration suites, cluster included, and Django's own cache test suite.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.django_sources import django_version, run_django_cache_tests
from tests.support.pythons import ROOT, build_venv, interpreter

VERSIONS = ("3.10", "3.12", "3.13")
OLDEST = "3.10"


def _floors() -> dict[str, str]:
    """``{"redis": "5.0", "Django": "4.2", ...}``: the ``>=`` floors pyproject.toml declares
    for redis-py and the frameworks, so the oldest run follows when a floor moves."""
    text = (ROOT / "pyproject.toml").read_text()
    found = dict(re.findall(r'"(redis|Django|Flask|celery)>=(\d+\.\d+)', text))
    assert set(found) == {"redis", "Django", "Flask", "celery"}, found
    return found


FLOORS = _floors()
# kombu is pinned too: its newest releases ask for redis-py 6.1 in their Redis transport
# (which the Celery worker tests use as broker).
OLDEST_PINS = [*(f"{name}=={floor}.*" for name, floor in FLOORS.items()), "kombu==5.3.*"]
INTEGRATIONS = [
    "tests/django",
    "tests/flask",
    "tests/celery",
    "--ignore=tests/django/test_conformance.py",  # it builds its own venvs
    # mypy and ruff on the generated protocols: static checks, run by the main venv (which
    # has the test tools); these venvs install the suite and pytest only.
    "--ignore=tests/asyncio/test_async_types.py",
]
SUITES = {
    "oldest": ["tests/core", "tests/asyncio", "tests/limpyd", *INTEGRATIONS, "-m", "not cluster"],
    "newest": [
        "tests/limpyd",
        "tests/core/test_models.py",
        "tests/core/test_models_atomic.py",
        "tests/core/test_cache.py",
        "tests/core/test_rate_limit.py",
        "tests/core/test_lock.py",
        "tests/core/test_pubsub.py",
        "tests/asyncio",
        *INTEGRATIONS,
    ],
}
PACKAGES = ["pytest>=8", "hypothesis>=6.100", "pytest-django>=4.8"]
FOUND = {version: interpreter(version) for version in VERSIONS}


def _venv(version: str, python: str) -> Path:
    """``.venv-py3XX`` with the suite installed (editable) and the test tools; the oldest
    admitted dependencies on ``OLDEST``, else the newest."""
    if version == OLDEST:
        wanted = ["-e", f"{ROOT}[embedded,search,msgpack,zstd,lz4,prometheus,drf]", *OLDEST_PINS]
    else:
        wanted = ["-e", f"{ROOT}[all]"]
    salt = (ROOT / "pyproject.toml").read_text()
    return build_venv(
        ROOT / f".venv-py{version.replace('.', '')}", python, [*wanted, *PACKAGES], salt=salt
    )


def _versions(python: Path) -> dict[str, str]:
    script = (
        "import importlib.metadata as m\n"
        "for name in ('redis', 'Django', 'Flask', 'celery'):\n"
        "    print(name, m.version(name))"
    )
    out = subprocess.run([str(python), "-c", script], capture_output=True, text=True, check=True)
    return dict(line.split() for line in out.stdout.splitlines())


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_suites_on_other_python(version: str) -> None:
    found = FOUND[version]
    if found is None:
        if os.environ.get("CI") and not any(FOUND.values()):
            pytest.fail(
                f"CI found none of Python {', '.join(VERSIONS)}: the version matrix is empty"
            )
        pytest.skip(f"Python {version} is not installed on this machine")
    python = _venv(version, found)
    installed = _versions(python)
    kind = "oldest" if version == OLDEST else "newest"
    if kind == "oldest":  # the floors really are what runs
        assert {n: ".".join(v.split(".")[:2]) for n, v in installed.items()} == FLOORS, installed
    else:
        assert int(installed["Django"].split(".")[0]) >= 6, installed
    # No WALRUS_TEST_REDIS_URL: the run starts its own servers, so the tests that change
    # server state (ACL users) run too.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("WALRUS_TEST_REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    proc = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *SUITES[kind]],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, f"{installed}\n{tail}"
    match = re.search(r"(\d+) passed", proc.stdout)
    assert match and int(match.group(1)) > (1500 if kind == "oldest" else 500), tail
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
