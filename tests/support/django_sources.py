"""Django's own cache test module (from the Django sdist on PyPI), fetched and run.

The files are downloaded at test time into ``.cache/`` (git-ignored) and never committed.
``run_django_cache_tests`` runs them against WalrusCache in a subprocess of a given Python.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

__all__ = ["CACHE_DIR", "django_cache_tests", "django_version", "run_django_cache_tests"]

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = ROOT / ".cache" / "django-tests"
FILES = (
    "__init__.py",
    "models.py",
    "tests.py",
    "liberal_backend.py",
    "closeable_cache.py",
    "failing_cache.py",
)


def django_cache_tests(version: str, python: str = sys.executable) -> Path:
    """A folder holding Django ``version``'s ``tests/cache`` package as ``cache/``."""
    target = CACHE_DIR / version
    if (target / "cache" / "tests.py").exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                python,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"Django=={version}",
                "-d",
                tmp,
            ],
            check=True,
        )
        archive = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(archive) as tar:
            prefix = tar.getnames()[0].split("/")[0]
            members = [
                tar.getmember(f"{prefix}/tests/cache/{name}")
                for name in FILES
                if f"{prefix}/tests/cache/{name}" in tar.getnames()
            ]
            tar.extractall(tmp, members=members, filter="data")
        staging = target.with_suffix(".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        (staging).mkdir(parents=True)
        shutil.copytree(Path(tmp) / prefix / "tests" / "cache", staging / "cache")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target


def django_version(python: str) -> str:
    """The Django version importable by interpreter ``python``."""
    out = subprocess.run(
        [python, "-c", "import django; print(django.get_version())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def run_django_cache_tests(python: str, location: str) -> None:
    """Run that Django's ``BaseCacheTests`` on WalrusCache at ``location``; assert all pass."""
    version = django_version(python)
    tests_dir = django_cache_tests(version, python=python)
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "core"), str(ROOT / "integrations")])
    )
    env.pop("DJANGO_SETTINGS_MODULE", None)
    proc = subprocess.run(
        [
            python,
            str(ROOT / "tests" / "django" / "conformance_runner.py"),
            str(tests_dir),
            location,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
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
