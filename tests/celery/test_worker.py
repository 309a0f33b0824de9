"""celery_walrus with a real prefork worker (2 processes) on the test redis-server."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import redis

from celery_walrus import TaskLocked, list_locks
from celery_walrus.config import LEASE_FACTOR


def token() -> str:
    return uuid.uuid4().hex[:10]


def wait_for(check: Callable[[], Any], timeout: float, step: float = 0.05) -> float:
    """Poll ``check`` until truthy; returns the seconds it took (fails after ``timeout``)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(step)
    return time.monotonic() - start


@pytest.fixture
def probe(worker_url: str) -> Any:
    client = redis.Redis.from_url(worker_url)
    yield client
    client.close()


def test_two_concurrent_deliveries_one_runs(worker: Any, test_app: Any, probe: redis.Redis) -> None:
    t = token()
    first = test_app.exclusive.apply_async((t, 1.0))
    second = test_app.exclusive.apply_async((t, 1.0))  # execute lock: both are delivered
    outcomes = [first.get(timeout=15, propagate=False), second.get(timeout=15, propagate=False)]
    assert t in outcomes
    refused = [o for o in outcomes if o != t]
    assert len(refused) == 1 and isinstance(refused[0], TaskLocked), outcomes
    assert int(probe.get(f"probe:runs:{t}")) == 1
    assert probe.get(f"probe:overlap:{t}") is None
    assert not test_app.exclusive.lock_for(t).locked()


def test_different_arguments_run_in_parallel(
    worker: Any, test_app: Any, probe: redis.Redis
) -> None:
    a, b = token(), token()
    results = [test_app.exclusive.apply_async((a, 1.0)), test_app.exclusive.apply_async((b, 1.0))]
    assert [r.get(timeout=15) for r in results] == [a, b]
    starts = [float(probe.lrange(f"probe:starts:{x}", 0, 0)[0]) for x in (a, b)]
    ends = [float(probe.lrange(f"probe:ends:{x}", 0, 0)[0]) for x in (a, b)]
    assert max(starts) < min(ends)  # the two runs overlapped


def test_duplicate_enqueue_is_deduplicated_and_renewal_keeps_the_lock(
    worker: Any, test_app: Any, probe: redis.Redis
) -> None:
    t = token()
    first = test_app.singleton.apply_async((t, 2.5))
    wait_for(lambda: probe.exists(f"probe:running:{t}"), 10)
    time.sleep(2.0)  # > the 1.5 s lease: only renewal keeps the lock
    again = test_app.singleton.apply_async((t, 0.0))
    assert again.id == first.id
    assert first.get(timeout=15) == t
    assert int(probe.get(f"probe:runs:{t}")) == 1
    assert not test_app.singleton.lock_for(t).locked()
    fresh = test_app.singleton.apply_async((t, 0.0))  # done: a new one may run
    assert fresh.id != first.id
    assert fresh.get(timeout=15) == t
    assert int(probe.get(f"probe:runs:{t}")) == 2


def test_retry_keeps_the_lock_for_the_retried_message(
    worker: Any, test_app: Any, probe: redis.Redis
) -> None:
    t = token()
    result = test_app.flaky.apply_async((t,))
    wait_for(lambda: probe.llen(f"probe:attempts:{t}") >= 1, 10)
    # During the retry countdown the lock still belongs to the task: duplicates get its result.
    assert test_app.flaky.apply_async((t,)).id == result.id
    assert result.get(timeout=15) == "done"
    attempts = [a.decode() for a in probe.lrange(f"probe:attempts:{t}", 0, -1)]
    assert attempts == [f"0:{result.id}", f"1:{result.id}"]
    assert not test_app.flaky.lock_for(t).locked()


def test_failure_releases_the_lock(worker: Any, test_app: Any, probe: redis.Redis) -> None:
    t = token()
    result = test_app.boom.apply_async((t,))
    outcome = result.get(timeout=15, propagate=False)
    assert isinstance(outcome, ValueError) and result.state == "FAILURE"
    assert not test_app.boom.lock_for(t).locked()
    assert test_app.boom.apply_async((t,)).get(timeout=15, propagate=False) is not None
    assert int(probe.get(f"probe:runs:{t}")) == 2


def test_revoked_queued_task_releases_its_enqueue_lock(
    worker: Any, test_app: Any, probe: redis.Redis
) -> None:
    t = token()
    result = test_app.singleton.apply_async((t, 0.0), countdown=1)
    lock = test_app.singleton.lock_for(t)
    assert lock.locked()
    test_app.app.control.revoke(result.id)
    wait_for(lambda: not lock.locked(), 10)
    assert probe.get(f"probe:runs:{t}") is None


def test_hard_time_limit_releases_the_lock(worker: Any, test_app: Any, probe: redis.Redis) -> None:
    t = token()
    result = test_app.overrun.apply_async((t,))
    lock = test_app.overrun.lock_for(t)
    wait_for(lambda: probe.exists(f"probe:started:{t}"), 10)
    assert lock.time_left() > 3000  # its 8 s lease, renewed while the process lives
    outcome = result.get(timeout=15, propagate=False)
    assert type(outcome).__name__ == "TimeLimitExceeded"
    # Freed by the worker's main process (task_failure), not by the ttl running out.
    wait_for(lambda: not lock.locked(), 2)


def test_retry_with_execute_lock_on_the_worker(
    worker: Any, test_app: Any, probe: redis.Redis
) -> None:
    t = token()
    result = test_app.retried.apply_async((t,))
    assert result.get(timeout=15) == "done"
    attempts = [a.decode() for a in probe.lrange(f"probe:attempts:{t}", 0, -1)]
    # Each attempt holds the lock under the task id from its start to its end: the first
    # attempt frees it before sending the retry, so it cannot free it under the second.
    assert attempts == [f"0:{result.id}:{result.id}", f"1:{result.id}:{result.id}"]
    assert not test_app.retried.lock_for(t).locked()


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_revoke_terminate_of_a_running_task_releases_its_lock(
    worker: Any, test_app: Any, probe: redis.Redis, signal_name: str
) -> None:
    t = token()
    result = test_app.sleeper.apply_async((t, 30.0))
    lock = test_app.sleeper.lock_for(t, 30.0)  # unique_on=["token"]: the same lock for any seconds
    wait_for(lambda: probe.exists(f"probe:running:{t}"), 10)
    assert lock.time_left() > 20_000  # a 30 s lease, renewed while the pool process lives
    test_app.app.control.revoke(result.id, terminate=True, signal=signal_name)
    # Freed long before the lease would lapse. SIGTERM unwinds the task in its pool process
    # (its own release runs); with SIGKILL nothing runs there, and the worker's main process
    # frees the lock on task_revoked (terminated=True), owner-checked by task id.
    wait_for(lambda: not lock.locked(), 10)
    wait_for(lambda: result.state == "REVOKED", 10)
    if signal_name == "SIGKILL":
        assert probe.exists(f"probe:running:{t}")  # the task's finally never ran
        assert probe.llen(f"probe:ends:{t}") == 0
    assert test_app.sleeper.apply_async((t, 0.0)).get(timeout=15) == t
    assert int(probe.get(f"probe:runs:{t}")) == 2


def test_killed_worker_lock_frees_itself_and_the_task_runs_again(
    worker: Any, test_app: Any, probe: redis.Redis
) -> None:
    lease = test_app.RENEW_INTERVAL * LEASE_FACTOR  # the default lease: no lock_ttl on the task
    assert test_app.exclusive.lock_ttl is None and lease * 50 < test_app.exclusive.time_limit
    t = token()
    test_app.exclusive.apply_async((t, 30.0))
    lock = test_app.exclusive.lock_for(t)
    wait_for(lambda: probe.exists(f"probe:running:{t}"), 10)
    time.sleep(lease + 0.1)  # past one lease: renewal is what keeps it
    assert lock.locked()
    assert 0 < lock.time_left() <= lease * 1000  # a lease, not the time limit + margin
    assert [info.task_id for info in list_locks(test_app.app)] == [probe.get(lock.key).decode()]
    worker.kill()
    # Nothing renews it now: it lapses within one lease (slack for a loaded machine), not
    # after the task's 120 s time limit.
    wait_for(lambda: not lock.locked(), lease + 1.5)
    worker.start(test_app.app)
    assert test_app.exclusive.apply_async((t, 0.0)).get(timeout=15) == t
    assert int(probe.get(f"probe:runs:{t}")) == 2


def test_send_task_honours_the_enqueue_lock(worker: Any, test_app: Any, probe: redis.Redis) -> None:
    t = token()
    first = test_app.app.send_task("celery_test_app.singleton", (t, 1.0))
    again = test_app.app.send_task("celery_test_app.singleton", (t, 0.0))
    assert again.id == first.id  # a duplicate of a queued/running one: the first's result
    assert first.get(timeout=15) == t
    assert int(probe.get(f"probe:runs:{t}")) == 1
    assert not test_app.singleton.lock_for(t).locked()
    # A task without an enqueue lock is sent as Celery sends it.
    assert test_app.app.send_task("celery_test_app.ping").get(timeout=15) == "pong"


def test_canvas_primitives_honour_the_enqueue_lock(
    worker: Any, test_app: Any, probe: redis.Redis
) -> None:
    from celery import chain, chord, group

    t, u = token(), token()
    held = test_app.singleton.apply_async((t, 1.5))  # queued/running: later copies are duplicates
    in_group = group(test_app.singleton.s(t, 0.0), test_app.singleton.s(u, 0.0)).apply_async()
    assert held.get(timeout=15) == t and in_group.results[1].get(timeout=15) == u
    time.sleep(0.5)
    assert int(probe.get(f"probe:runs:{t}")) == 1
    # The group's copy of t was refused at enqueue: never sent, so never delivered (a copy
    # refused by a worker would be SUCCESS with None).
    assert in_group.results[0].state == "PENDING"
    assert not test_app.singleton.lock_for(u).locked()
    v = token()
    linked = chain(test_app.singleton.si(v, 0.5), test_app.singleton.si(v, 0.0)).apply_async()
    assert linked.get(timeout=15) == v  # the second link was sent when the first had finished
    assert int(probe.get(f"probe:runs:{v}")) == 2
    w, x = token(), token()
    body = chord(
        [test_app.singleton.s(w, 0.2), test_app.singleton.s(x, 0.2)], test_app.ping.si()
    ).apply_async()
    assert body.get(timeout=20) == "pong"
    assert [int(probe.get(f"probe:runs:{k}")) for k in (w, x)] == [1, 1]
    assert (
        not test_app.singleton.lock_for(w).locked() and not test_app.singleton.lock_for(x).locked()
    )


def test_killed_pool_process_frees_its_lock_at_once(
    worker: Any, test_app: Any, probe: redis.Redis
) -> None:
    import os
    import signal

    t = token()
    result = test_app.sleeper.apply_async((t, 30.0))  # its lease is 30 s (ttl=30)
    wait_for(lambda: probe.exists(f"probe:running:{t}"), 10)
    lock = test_app.sleeper.lock_for(t, 30.0)
    assert lock.locked() and lock.time_left() > 20_000
    os.kill(int(probe.get(f"probe:pid:{t}")), signal.SIGKILL)  # the pool process, not the worker
    took = wait_for(lambda: not lock.locked(), 10)
    assert took < 5  # freed by the worker's main process (task_failure), not by the 30 s lease
    assert result.get(timeout=15, propagate=False).__class__.__name__ == "WorkerLostError"
