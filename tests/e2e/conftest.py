"""Fixtures of the end-to-end tests: the example sites as subprocesses on free loopback ports.

Sites on the real test server use their own logical DBs (flushed before and after); the
quick-start and browser tests run the demo on the embedded ``memory://`` engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

# The example sites are a Django project (with a Celery worker) and a Flask app.
for _framework in ("django", "flask", "celery"):
    pytest.importorskip(_framework, reason=f"the end-to-end sites need {_framework}")

from tests.e2e.e2e_helpers import Site, start_demo, start_flask  # noqa: E402

DJANGO_DB = 12  # the Django site on the real server
FLASK_DB = 13  # the Flask app on the real server
COMMANDS_DB = 14  # manage.py commands and the Celery worker test


@pytest.fixture(scope="module")
def flushed_db(
    request: pytest.FixtureRequest, redis_server: Any
) -> Iterator[tuple[str, redis.Redis]]:
    """(url, client) of a logical DB of the test server, flushed before and after the module.
    The DB number comes from the module's ``E2E_DB``."""
    number = int(request.module.E2E_DB)
    client = redis_server.client(number)
    client.flushdb()
    try:
        yield redis_server.url(number), client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(scope="module")
def django_site(flushed_db: tuple[str, redis.Redis]) -> Iterator[Site]:
    """The demo on the real server (Celery eager, so no worker is needed)."""
    site = start_demo(flushed_db[0], LINKBOARD_CELERY_EAGER="1")
    try:
        yield site
    finally:
        site.close()


@pytest.fixture(scope="module")
def flask_site(flushed_db: tuple[str, redis.Redis]) -> Iterator[Site]:
    site = start_flask(flushed_db[0])
    try:
        yield site
    finally:
        site.close()
