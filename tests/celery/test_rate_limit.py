"""walrus_rate_limit: task rate limits shared by every worker. In-process checks (eager apps,
the retry a refused run sends) here; two real workers at the end."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Task
from celery.exceptions import Retry

import celery_walrus
from celery_walrus import TaskRateLimited, WalrusCelery, WalrusRateLimitedTask, locked_task
from celery_walrus.config import read_settings


@pytest.fixture
def walrus_app(redis_url: str) -> Iterator[WalrusCelery]:
    app = WalrusCelery(f"rl-{uuid.uuid4().hex[:8]}", set_as_current=False)
    app.conf.update(broker_url="memory://", result_backend="cache+memory://", walrus_url=redis_url,
                    task_always_eager=True, task_eager_propagates=True)  # fmt: skip
    yield app
    celery_walrus.reset(app)


def test_eager_run_over_the_budget_raises(
    walrus_app: WalrusCelery, raw_client: redis.Redis
) -> None:
    @walrus_app.task(walrus_rate_limit="2/minute")
    def report(n: int) -> int:
        return n

    assert isinstance(report, WalrusRateLimitedTask)
    assert [report.delay(i).get() for i in range(2)] == [0, 1]
    with pytest.raises(TaskRateLimited) as info:
        report.delay(2)
    assert 0 < info.value.retry_after <= 60
    assert raw_client.llen(f"celery_walrus:rl:{report.name}:all") == 2
    assert report(3) == 3  # called directly: a plain function call, not limited


def test_multi_rate_key_and_strategy(walrus_app: WalrusCelery, raw_client: redis.Redis) -> None:
    @walrus_app.task(
        walrus_rate_limit="1/minute;5/hour",
        walrus_rate_limit_key=lambda tenant: tenant,
        walrus_rate_limit_strategy="gcra",
    )
    def sync(tenant: str) -> str:
        return tenant

    assert sync.delay("a").get() == "a" and sync.delay("b").get() == "b"
    with pytest.raises(TaskRateLimited):
        sync.delay("a")
    assert (
        raw_client.exists(
            f"celery_walrus:rl:{sync.name}:1/60#g:a", f"celery_walrus:rl:{sync.name}:5/3600#g:b"
        )
        == 2
    )


def test_config_strategy_and_prefix(redis_url: str, raw_client: redis.Redis) -> None:
    app = WalrusCelery("rl-conf", set_as_current=False)
    app.conf.update(
        broker_url="memory://",
        walrus_url=redis_url,
        task_always_eager=True,
        walrus_rate_limit_prefix="jobs:",
        walrus_rate_limit_strategy="fixed-window",
    )

    @app.task(walrus_rate_limit="1/minute")
    def job() -> int:
        return 1

    try:
        assert job.delay().get() == 1
        assert raw_client.exists(f"jobs:{job.name}#f:all")
    finally:
        celery_walrus.reset(app)


def test_refused_run_is_sent_again_with_its_retry_after_and_no_retry_spent(redis_url: str) -> None:
    app = WalrusCelery("rl-retry", set_as_current=False)
    app.conf.update(broker_url="memory://", walrus_url=redis_url)
    ran: list[int] = []

    @app.task(walrus_rate_limit="1/minute", max_retries=0)
    def once(n: int) -> int:
        ran.append(n)
        return n

    try:
        for n in (1, 2):
            once.push_request(
                id=f"id-{n}", args=[n], kwargs={}, retries=0, is_eager=False, called_directly=False
            )
            try:
                if n == 1:
                    assert once(n) == 1
                else:
                    with pytest.raises(Retry) as info:
                        once(n)
            finally:
                once.pop_request()
        assert ran == [1]  # the refused run never started
        retry = info.value
        assert retry.when is not None and 0 < float(retry.when) <= 60
        assert retry.sig.options["countdown"] == retry.when
        assert retry.sig.options["retries"] == 0 and retry.sig.options["task_id"] == "id-2"
    finally:
        celery_walrus.reset(app)


def test_locked_task_takes_a_rate_limit_too(walrus_app: WalrusCelery) -> None:
    @locked_task(app=walrus_app, lock="execute", walrus_rate_limit="1/minute")
    def locked(n: int) -> int:
        return n

    assert locked.delay(1).get() == 1
    with pytest.raises(TaskRateLimited):
        locked.delay(2)
    assert not locked.lock_for(2).locked()  # refused before the lock was taken


def test_bad_options_are_refused_when_the_task_is_defined(walrus_app: WalrusCelery) -> None:
    with pytest.raises(ValueError, match="task bad: walrus_rate_limit: cannot read rate"):
        walrus_app.task(name="bad", walrus_rate_limit="lots/minute")(lambda: None)
    with pytest.raises(ValueError, match="per must be a positive, finite"):
        walrus_app.task(name="inf", walrus_rate_limit=[(5, float("inf"))])(lambda: None)
    with pytest.raises(ValueError, match="walrus_rate_limit_strategy: unknown rate limit strategy"):
        walrus_app.task(name="s", walrus_rate_limit="5/m", walrus_rate_limit_strategy="leaky")(
            lambda: None
        )
    with pytest.raises(TypeError, match="walrus_rate_limit_key must be a function"):
        walrus_app.task(name="k", walrus_rate_limit="5/m", walrus_rate_limit_key="tenant")(
            lambda: None
        )
    with pytest.raises(TypeError, match="derived from WalrusRateLimitedTask"):
        walrus_app.task(name="b", base=Task, walrus_rate_limit="5/m")


def test_bad_config_names_the_key() -> None:
    with pytest.raises(ValueError, match="walrus_rate_limit_strategy: unknown rate limit strategy"):
        read_settings({"walrus_rate_limit_strategy": "token-bucket"})
    with pytest.raises(ValueError, match="walrus_rate_limit_on_error must be one of allow, deny"):
        read_settings({"walrus_rate_limit_on_error": "ignore"})
    with pytest.raises(ValueError, match="unknown Celery config key 'walrus_rate_limit_stategy'"):
        read_settings({"walrus_rate_limit_stategy": "gcra"})
    with pytest.raises(TypeError, match="walrus_rate_limit_prefix must be a non-empty string"):
        read_settings({"walrus_rate_limit_prefix": ""})


def test_redis_down_policy(free_redis_url: str) -> None:
    app = WalrusCelery("rl-down", set_as_current=False)
    app.conf.update(
        broker_url="memory://",
        walrus_url=free_redis_url,
        task_always_eager=True,
        task_eager_propagates=True,
        walrus_connection_options={"socket_connect_timeout": 0.2},
    )

    @app.task(walrus_rate_limit="1/minute")
    def down_job() -> int:
        return 1

    try:
        assert [down_job.delay().get() for _ in range(2)] == [1, 1]  # "allow" (the default) runs
        app.conf.walrus_rate_limit_on_error = "deny"
        celery_walrus.reset(app)
        with pytest.raises(TaskRateLimited):
            down_job.delay()
    finally:
        celery_walrus.reset(app)


@pytest.fixture
def free_redis_url() -> str:
    from tests.support.redis_server import free_port

    return f"redis://127.0.0.1:{free_port()}/0"


# -- two real workers ---------------------------------------------------------------------


def wait_for(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(0.05)


@pytest.fixture
def probe(worker_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(worker_url)
    yield client
    client.close()


def test_exact_across_two_workers(
    worker: Any, second_worker: Any, test_app: Any, probe: redis.Redis
) -> None:
    token = uuid.uuid4().hex[:10]
    results = [test_app.limited.apply_async((token, n)) for n in range(12)]
    # 5 run (a budget of 5 a minute shared by both workers' 4 processes); the 7 others are
    # sent again with a countdown of about a minute and never run meanwhile
    wait_for(
        lambda: (
            sum(r.state == "RETRY" for r in results) == 7
            and probe.llen(f"probe:limited:{token}") == 5
        ),
        30,
    )
    assert sorted(r.get(timeout=5) for r in results if r.state == "SUCCESS") == sorted(
        int(item.split(b":")[0]) for item in probe.lrange(f"probe:limited:{token}", 0, -1)
    )
    time.sleep(1.0)
    assert probe.llen(f"probe:limited:{token}") == 5
    for result in results:
        result.revoke()


def test_deferred_runs_run_later_without_spending_retries(
    worker: Any, second_worker: Any, test_app: Any, probe: redis.Redis
) -> None:
    token = uuid.uuid4().hex[:10]
    results = [test_app.paced.apply_async((token, n)) for n in range(5)]
    # 2 per 2 s: the last ones wait two windows; max_retries=0 and still every one succeeds
    assert sorted(r.get(timeout=30) for r in results) == [0, 1, 2, 3, 4]
    runs = [item.decode() for item in probe.lrange(f"probe:paced:{token}", 0, -1)]
    assert sorted(runs) == [f"{n}:0" for n in range(5)]  # each ran once, retry count untouched
