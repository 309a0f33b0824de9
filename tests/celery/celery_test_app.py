"""The Celery app the celery_walrus worker tests run in a real worker subprocess.

Broker, result backend and the ``probe:*`` keys use ``CELERY_WALRUS_TEST_URL`` (the test
redis-server). The locks use ``CELERY_WALRUS_TEST_LOCK_URL`` when it is set (e.g. a
``redis+cluster://`` URL), else the same URL. Tasks record what happened in the probe keys
so the tests can check it.
"""

from __future__ import annotations

import os
import time

import redis

from celery_walrus import WalrusCelery, WalrusLockedTask, locked_task

URL = os.environ.get("CELERY_WALRUS_TEST_URL", "redis://127.0.0.1:6379/9")
#: Where the walrus locks live (``walrus_url``); the probe keys stay on URL.
LOCK_URL = os.environ.get("CELERY_WALRUS_TEST_LOCK_URL") or URL
#: Seconds between renewals of a running task's lock; its lease is LEASE_FACTOR of them.
RENEW_INTERVAL = 0.5

app = WalrusCelery("celery_test_app", broker=URL, backend=URL, set_as_current=False)
app.conf.update(
    walrus_url=LOCK_URL,
    walrus_lock_ttl_margin=5,
    walrus_lock_renew_interval=RENEW_INTERVAL,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    result_expires=600,
    worker_hijack_root_logger=False,
    task_track_started=False,
)

_probe: redis.Redis | None = None


def probe() -> redis.Redis:
    global _probe
    if _probe is None or _probe.connection_pool.pid != os.getpid():
        _probe = redis.Redis.from_url(URL)
    return _probe


def _run(token: str, seconds: float) -> str:
    r = probe()
    r.set(f"probe:pid:{token}", os.getpid())
    r.incr(f"probe:runs:{token}")
    if not r.set(f"probe:running:{token}", "1", nx=True, ex=60):
        r.incr(f"probe:overlap:{token}")
    r.rpush(f"probe:starts:{token}", repr(time.time()))
    try:
        time.sleep(seconds)
    finally:
        r.delete(f"probe:running:{token}")
        r.rpush(f"probe:ends:{token}", repr(time.time()))
    return token


@app.task
def ping() -> str:
    return "pong"


@app.task(
    base=WalrusLockedTask, lock="execute", unique_on=["token"], on_duplicate="raise", time_limit=120
)
def exclusive(token: str, seconds: float = 0.0) -> str:
    """Mutual exclusion per token; a duplicate delivery fails with TaskLocked. Its lock is the
    default lease (3 x RENEW_INTERVAL), far shorter than its 120 s time limit."""
    return _run(token, seconds)


@locked_task(app=app, lock="both", unique_on=["token"], enqueue_ttl=30)
def singleton(token: str, seconds: float = 0.0) -> str:
    """At most one queued-or-running per token; a duplicate enqueue returns the first."""
    return _run(token, seconds)


@locked_task(app=app, lock="both", enqueue_ttl=30, bind=True, max_retries=3)
def flaky(self: WalrusLockedTask, token: str) -> str:
    """Fails its first attempt with self.retry(countdown=1), succeeds on the second."""
    r = probe()
    lock = self.lock_for(token)
    owner = lock.database.get(lock.key)  # where the locks live (LOCK_URL)
    r.rpush(
        f"probe:attempts:{token}", f"{self.request.retries}:{owner.decode() if owner else None}"
    )
    if self.request.retries == 0:
        raise self.retry(countdown=1)
    return "done"


@locked_task(app=app, lock="execute", bind=True, max_retries=3)
def retried(self: WalrusLockedTask, token: str) -> str:
    """Execute lock + self.retry(countdown=0): the retried run may start at once, in the
    other pool process. Records the lock owner at its start and half a second later."""
    r = probe()
    lock = self.lock_for(token)

    def owner() -> str:
        value = lock.database.get(lock.key)  # where the locks live (LOCK_URL)
        return value.decode() if value else "None"

    first = owner()
    time.sleep(0.5)
    r.rpush(f"probe:attempts:{token}", f"{self.request.retries}:{first}:{owner()}")
    if self.request.retries == 0:
        raise self.retry(countdown=0)
    return "done"


@locked_task(app=app, lock="both")
def boom(token: str) -> str:
    probe().incr(f"probe:runs:{token}")
    raise ValueError(f"boom {token}")


@locked_task(app=app, lock="execute", time_limit=1, ttl=8)
def overrun(token: str) -> str:
    """Killed by its hard time limit; its 8 s lease (renewed) would outlive it."""
    probe().set(f"probe:started:{token}", "1")
    time.sleep(10)
    return token


@locked_task(app=app, lock="execute", unique_on=["token"], ttl=30)
def sleeper(token: str, seconds: float) -> str:
    """Runs until revoked with terminate=True; its 30 s lease would outlive the pool process."""
    return _run(token, seconds)


@app.task(walrus_rate_limit="5/minute", walrus_rate_limit_key=lambda token, n: token)
def limited(token: str, n: int) -> int:
    """Shared rate limit (5 a minute per token) across every worker; records each run."""
    probe().rpush(f"probe:limited:{token}", f"{n}:{os.getpid()}")
    return n


@app.task(
    bind=True, max_retries=0, walrus_rate_limit="2/2s", walrus_rate_limit_key=lambda token, n: token
)
def paced(self: WalrusLockedTask, token: str, n: int) -> int:
    """2 runs per 2 s per token; max_retries=0: a rate-limit deferral spends no retry."""
    probe().rpush(f"probe:paced:{token}", f"{n}:{self.request.retries}")
    return n
