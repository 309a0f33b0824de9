"""Django's own cache test suite (BaseCacheTests from Django's sources) against WalrusCache.

Runs once per supported Django series: the project venv's Django (5.2) and the Django 4.2 LTS
venv the Makefile builds (``.venv-django42``) against both engines; 5.0, 5.1 and 6.0 against
Redis, each in a venv built here on first use (``.venv-djangoXY``, with the newest Python that
series supports). The current series (6.1) runs in tests/test_python_versions.py beside the
suite on Python 3.12/3.13. Each run is a subprocess so it gets Django's settings to itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.support.django_sources import django_version, run_django_cache_tests
from tests.support.pythons import build_venv, interpreter

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


# Series without a venv of their own elsewhere: (series, Pythons to try, newest first).
SERIES = [
    ("5.0", ("3.12", "3.11", "3.10")),
    ("5.1", ("3.13", "3.12", "3.11", "3.10")),
    ("6.0", ("3.13", "3.12")),
]
# What WalrusCache needs beside Django (the code itself comes in through PYTHONPATH).
RUNTIME = ["redis>=5.0", "fakeredis>=2.26", "lupa>=2.0", "msgpack>=1.0"]


def _series_python(series: str, pythons: tuple[str, ...]) -> str:
    """``.venv-djangoXY`` holding the newest release of ``series``, built on first use."""
    found = next((p for p in map(interpreter, pythons) if p), None)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI has none of Python {', '.join(pythons)} for Django {series}")
        pytest.skip(f"no Python {', '.join(pythons)} here for Django {series}")
    venv = ROOT / f".venv-django{series.replace('.', '')}"
    return str(build_venv(venv, found, [f"Django=={series}.*", *RUNTIME]))


# Django's suite runs in a subprocess with settings of its own: ``engine`` picks the backend.
pytestmark = pytest.mark.backends("resp2", reason="a subprocess; the engine parameter picks")


@pytest.mark.parametrize("label,python", _interpreters(), ids=[i[0] for i in _interpreters()])
@pytest.mark.parametrize("engine", ["redis", "resp2", "memory"])
def test_django_cache_conformance(label: str, python: str, engine: str, redis_url: str) -> None:
    assert Path(python).exists(), (
        f"{python} missing: run `make install` to build the Django 4.2 venv"
    )
    locations = {
        "redis": redis_url,  # redis-py's default protocol: RESP3 from redis-py 8 on
        "resp2": f"{redis_url}?protocol=2",  # the LOCATION and the WALRUS URL say RESP2
        "memory": "memory://conformance",
    }
    run_django_cache_tests(python, locations[engine])


@pytest.mark.slow
@pytest.mark.parametrize("series,pythons", SERIES, ids=[s for s, _ in SERIES])
def test_django_series_conformance(series: str, pythons: tuple[str, ...], redis_url: str) -> None:
    python = _series_python(series, pythons)
    assert django_version(python).startswith(series + "."), django_version(python)
    run_django_cache_tests(python, redis_url)
