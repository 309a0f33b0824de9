"""The Django example with a real Celery worker (as its README runs it): the maintenance page
queues the locked rebuild task, the worker runs it, the page shows the result."""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from tests.e2e.e2e_helpers import DJANGO_SITE, Client, Site, base_env, start_demo, start_site

E2E_DB = 14


@pytest.fixture(scope="module")
def worker(flushed_db: tuple[str, redis.Redis]) -> Iterator[Site]:
    """``celery -A linkboard worker`` on the test server (solo pool: one process)."""
    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "linkboard",
        "worker",
        "--pool=solo",
        "-l",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"e2e-{uuid.uuid4().hex[:8]}@%h",
    ]
    env = base_env(WALRUS_URL=flushed_db[0])
    # A worker listens on no port: wait for its "ready." line instead.
    site = start_site(cmd, None, env, cwd=DJANGO_SITE, ready_text=" ready.")
    try:
        yield site
    finally:
        site.close()


@pytest.fixture(scope="module")
def queued_site(flushed_db: tuple[str, redis.Redis]) -> Iterator[Site]:
    site = start_demo(flushed_db[0], LINKBOARD_CELERY_EAGER="0")
    try:
        yield site
    finally:
        site.close()


def test_rebuild_runs_on_the_worker(
    queued_site: Site, worker: Site, flushed_db: tuple[str, redis.Redis]
) -> None:
    raw = flushed_db[1]
    damaged = list(raw.scan_iter("linkboard|link:title.fts.*"))
    assert damaged
    raw.delete(*damaged)
    client = Client(queued_site.url)
    assert "Celery runs tasks on a worker" in client.get("maintenance/").body
    queued = client.post_form("maintenance/", {})
    match = re.search(r"Rebuild queued as task ([0-9a-f-]{36}); a worker runs it.", queued.body)
    assert match, queued.body[:2000]
    task_id = match.group(1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        page = client.get("maintenance/").body
        if f"by task {task_id}" in page:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the worker did not run {task_id}:\n{worker.output()[-3000:]}")
    repaired = int(re.search(r"(\d+) entries repaired", page).group(1))  # type: ignore[union-attr]
    assert repaired >= len(damaged)
    assert "Lock: free" in page
    assert "Redis streams as durable queues" in client.get("?q=streams").body
    assert f"Task links.rebuild_search_index[{task_id}] succeeded" in worker.output()
