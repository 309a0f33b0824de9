"""The suite on the other Pythons this machine has (3.10, 3.12, 3.13 beside the main 3.11).

For each interpreter found (pyenv's versions or ``python3.X`` on PATH) a venv is built once
(``.venv-py3XX``, rebuilt when pyproject.toml changes) and the limpyd, model, cache and
rate-limit suites run in it against this session's redis-server. Where Django 6 installs
(Python >= 3.12), Django's own cache test suite runs against WalrusCache on it too.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django_sources import django_cache_tests
from redis_server import RedisServer

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ("3.10", "3.12", "3.13")
SUITES = [
    "tests/limpyd",
    "tests/core/test_models.py",
    "tests/core/test_models_atomic.py",
    "tests/core/test_cache.py",
    "tests/core/test_rate_limit.py",
    "tests/core/test_lock.py",
]
PACKAGES = ["pytest>=8", "hypothesis>=6.100", "pytest-django>=4.8"]


def _interpreter(version: str) -> str | None:
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for candidate in sorted(pyenv.glob(f"{version}.*/bin/python{version}"), reverse=True):
        if candidate.exists():
            return str(candidate)
    return shutil.which(f"python{version}")


FOUND = {version: _interpreter(version) for version in VERSIONS}


def _venv(version: str, interpreter: str) -> Path:
    """``.venv-py3XX`` with the suite installed (editable) and the test tools."""
    venv = ROOT / f".venv-py{version.replace('.', '')}"
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([interpreter, "-m", "venv", str(venv)], check=True, capture_output=True)
    django = ["Django>=6.0,<7"] if version >= "3.12" else ["Django>=4.2,<6"]
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[embedded,search,msgpack]",
         *PACKAGES, *django],
        check=True,
        capture_output=True,
        timeout=900,
    )
    stamp.write_text(wanted)
    return python


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_suites_on_other_python(version: str, redis_server: RedisServer) -> None:
    interpreter = FOUND[version]
    if interpreter is None:
        if os.environ.get("CI") and not any(FOUND.values()):
            pytest.fail(f"CI found none of Python {', '.join(VERSIONS)}: the version matrix is empty")
        pytest.skip(f"Python {version} is not installed on this machine")
    python = _venv(version, interpreter)
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
    interpreter = FOUND[version]
    if interpreter is None:
        pytest.skip(f"Python {version} is not installed on this machine")
    python = _venv(version, interpreter)
    django_version = subprocess.run(
        [str(python), "-c", "import django; print(django.get_version())"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert django_version.startswith("6."), django_version
    tests_dir = django_cache_tests(django_version, python=str(python))
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [str(python), str(ROOT / "tests" / "django" / "conformance_runner.py"), str(tests_dir), redis_url],
        capture_output=True, text=True, env=env, timeout=600,
    )
    output = proc.stdout + proc.stderr
    found = re.search(r"CONFORMANCE ran=(\d+) failures=(\d+) errors=(\d+) skipped=(\d+)", output)
    assert found, output[-6000:]
    ran, failures, errors, skipped = map(int, found.groups())
    assert proc.returncode == 0 and failures == 0 and errors == 0, output[-8000:]
    assert ran >= 50 and skipped <= 3, output[-4000:]
