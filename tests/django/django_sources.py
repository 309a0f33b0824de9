"""Fetch Django's own cache test module (from the Django sdist on PyPI) for the conformance run.

The files are downloaded at test time into ``.cache/`` (git-ignored) and never committed.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

__all__ = ["django_cache_tests", "CACHE_DIR"]

ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = ROOT / ".cache" / "django-tests"
FILES = ("__init__.py", "models.py", "tests.py", "liberal_backend.py", "closeable_cache.py", "failing_cache.py")


def django_cache_tests(version: str, python: str = sys.executable) -> Path:
    """A folder holding Django ``version``'s ``tests/cache`` package as ``cache/``."""
    target = CACHE_DIR / version
    if (target / "cache" / "tests.py").exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [python, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
             f"Django=={version}", "-d", tmp],
            check=True,
        )
        archive = next(Path(tmp).glob("*.tar.gz"))
        with tarfile.open(archive) as tar:
            prefix = tar.getnames()[0].split("/")[0]
            members = [tar.getmember(f"{prefix}/tests/cache/{name}") for name in FILES
                       if f"{prefix}/tests/cache/{name}" in tar.getnames()]
            tar.extractall(tmp, members=members, filter="data")
        staging = target.with_suffix(".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        (staging).mkdir(parents=True)
        shutil.copytree(Path(tmp) / prefix / "tests" / "cache", staging / "cache")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target
