"""WalrusLockedTask / @locked_task in eager mode (task_always_eager), locks on the real server."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from celery.exceptions import MaxRetriesExceededError

from celery_walrus import TaskLocked, WalrusLockedTask, locked_task
from walrus import Database
from walrus.roundtrips import RoundTripCounter


def held(rdb: Database, task: Any, *args: Any, **kwargs: Any) -> Any:
    """Hold the lock of ``task(*args, **kwargs)`` as another task would; returns the Lock."""
    lock = rdb.lock(task.lock_name_for(*args, **kwargs), ttl=30_000, lock_id="other-task-id")
    assert lock.acquire(block=False)
    return lock


@pytest.fixture
def rdb(redis_url: str) -> Any:
    """A walrus Database on the flushed test DB of the real server."""
    database = Database.from_url(redis_url)
    yield database
    database.close()


def test_execute_lock_is_held_while_running_and_released_after(
    make_app: Any, rdb: Database
) -> None:
    app = make_app()
    seen: dict[str, Any] = {}

    @app.task(base=WalrusLockedTask, bind=True)
    def work(self: Any, x: int) -> int:
        lock = self.lock_for(x)
        seen["owner"] = rdb.get(lock.key)
        seen["id"] = self.request.id
        return x * 2

    result = work.delay(21)
    assert result.get() == 42
    assert seen["owner"] == seen["id"].encode()
    assert not work.lock_for(21).locked()
    assert rdb.keys("lock:*") == []


def test_released_on_failure(make_app: Any, rdb: Database) -> None:
    app = make_app()

    @app.task(base=WalrusLockedTask, lock="both")
    def fails(x: int) -> None:
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        fails.delay(1)
    assert rdb.keys("lock:*") == []


def test_duplicate_execution_raise_skip_and_return(make_app: Any, rdb: Database) -> None:
    app = make_app()
    runs: list[str] = []

    @app.task(base=WalrusLockedTask, lock="execute", on_duplicate="raise")
    def strict(x: int) -> str:
        runs.append("strict")
        return "ran"

    @app.task(base=WalrusLockedTask, lock="execute", on_duplicate="skip")
    def lenient(x: int) -> str:
        runs.append("lenient")
        return "ran"

    other = held(rdb, strict, 1)
    with pytest.raises(TaskLocked) as info:
        strict.delay(1)
    assert info.value.holder == "other-task-id"
    assert info.value.lock_name == strict.lock_name_for(1)
    held(rdb, lenient, 1)
    assert lenient.delay(1).get() is None
    assert runs == []
    # The other holder's lock is untouched (no release of someone else's lock).
    assert other.owned() and other.time_left() > 20_000
    assert strict.delay(2).get() == "ran"  # other arguments: another lock


def test_duplicate_execution_return_is_the_default(make_app: Any, rdb: Database) -> None:
    app = make_app()
    runs: list[int] = []

    @app.task(base=WalrusLockedTask)
    def default(x: int) -> str:
        runs.append(x)
        return "ran"

    assert default.on_duplicate == "return" and default.lock == "execute"
    other = held(rdb, default, 1)
    with RoundTripCounter() as rt:
        result = default.delay(1)
    assert rt.count == 2  # SET NX PX fails; one MULTI/EXEC names the holder
    assert result.state == "SUCCESS" and result.get() is None
    assert runs == []
    assert other.owned() and other.time_left() > 20_000


def test_run_costs_two_round_trips_and_three_with_both(make_app: Any, rdb: Database) -> None:
    app = make_app()

    @app.task(base=WalrusLockedTask, lock="execute")
    def ex(x: int) -> int:
        return x

    @app.task(base=WalrusLockedTask, lock="both")
    def bo(x: int) -> int:
        return x

    ex.lock_name_for(1)  # settings read; Database built
    for task, cost in ((ex, 2), (bo, 3)):
        task.delay(1)  # scripts sent once
        with RoundTripCounter() as rt:
            assert task.delay(1).get() == 1
        assert rt.count == cost, task.name


def test_retry_with_execute_lock(make_app: Any, rdb: Database, caplog: Any) -> None:
    app = make_app(task_eager_propagates=False)
    attempts: list[tuple[int, bytes | None, str]] = []

    @app.task(base=WalrusLockedTask, lock="execute", bind=True, max_retries=3)
    def flaky_execute(self: Any, x: int) -> str:
        attempts.append((self.request.retries, rdb.get(self.lock_for(x).key), self.request.id))
        if self.request.retries < 2:
            raise self.retry(countdown=0)
        return "done"

    with caplog.at_level(logging.WARNING, logger="celery_walrus"):
        assert flaky_execute.delay(3).get() == "done"
    assert [a[0] for a in attempts] == [0, 1, 2]
    assert all(owner == task_id.encode() for _, owner, task_id in attempts)
    assert len({task_id for _, _, task_id in attempts}) == 1
    assert rdb.keys("lock:*") == []
    assert caplog.records == []  # every attempt released its own lock; none was lost


def test_redelivery_adopts_the_lock_its_task_id_holds(make_app: Any, rdb: Database) -> None:
    app = make_app(walrus_lock_renew_interval=1)
    runs: list[int] = []

    @app.task(base=WalrusLockedTask, on_duplicate="raise")
    def redelivered(x: int) -> int:
        runs.append(x)
        return x

    # A worker died mid-run; its lock (task id "tid-1") has not lapsed when the broker
    # redelivers the same message (same task id): that run owns the lock and goes ahead.
    stale = rdb.lock(redelivered.lock_name_for(1), ttl=30_000, lock_id="tid-1")
    assert stale.acquire(block=False)
    assert redelivered.apply((1,), task_id="tid-1").get() == 1
    assert runs == [1] and not stale.locked()
    assert stale.acquire(block=False)
    with pytest.raises(TaskLocked, match="tid-1"):
        redelivered.apply((1,), task_id="tid-2").get()
    assert runs == [1] and stale.owned() and stale.time_left() > 20_000


def test_duplicate_execution_retry(make_app: Any, rdb: Database) -> None:
    app = make_app(task_eager_propagates=False)  # eager + propagate raises Retry itself

    @app.task(
        base=WalrusLockedTask,
        lock="execute",
        on_duplicate="retry",
        lock_retry_countdown=0,
        max_retries=2,
    )
    def patient(x: int) -> str:
        return "ran"

    held(rdb, patient, 1)
    result = patient.delay(1)
    assert isinstance(result.result, MaxRetriesExceededError)


def test_enqueue_dedupe_on_duplicate(make_app: Any, rdb: Database) -> None:
    app = make_app()
    ran: list[int] = []

    def body(x: int) -> int:
        ran.append(x)
        return x

    returning = app.task(base=WalrusLockedTask, lock="both", name="t.returning")(body)
    raising = app.task(
        base=WalrusLockedTask, lock="enqueue", on_duplicate="raise", name="t.raising"
    )(body)
    skipping = app.task(base=WalrusLockedTask, lock="both", on_duplicate="skip", name="t.skipping")(
        body
    )
    for task in (returning, raising, skipping):
        held(rdb, task, 7)
    result = returning.delay(7)
    assert result.id == "other-task-id"
    with pytest.raises(TaskLocked, match="other-task-id"):
        raising.delay(7)
    assert skipping.delay(7) is None
    assert ran == []


def test_enqueue_costs_one_round_trip_before_the_send(make_app: Any, rdb: Database) -> None:
    app = make_app(task_always_eager=False, broker_url="memory://")

    @app.task(base=WalrusLockedTask, lock="enqueue")
    def queued(x: int) -> int:
        return x

    queued.lock_name_for(1)  # settings read; Database built
    with RoundTripCounter() as rt:
        first = queued.delay(1)
    assert rt.count == 1
    with RoundTripCounter() as rt:
        second = queued.delay(1)
    assert rt.count == 2  # SET NX fails, GET the holder
    assert second.id == first.id
    assert rdb.get(queued.lock_for(1).key) == first.id.encode()
    assert 0 < rdb.pttl(queued.lock_for(1).key) <= 600_000


def test_retry_takes_the_lock_again(make_app: Any, rdb: Database) -> None:
    app = make_app(task_eager_propagates=False)
    attempts: list[tuple[int, bytes | None, str]] = []

    @app.task(base=WalrusLockedTask, lock="both", bind=True, max_retries=3)
    def flaky(self: Any, x: int) -> str:
        attempts.append((self.request.retries, rdb.get(self.lock_for(x).key), self.request.id))
        if self.request.retries < 2:
            raise self.retry(countdown=0)
        return "done"

    assert flaky.delay(3).get() == "done"
    assert [a[0] for a in attempts] == [0, 1, 2]
    assert all(owner == task_id.encode() for _, owner, task_id in attempts)
    assert rdb.keys("lock:*") == []


def test_renewal_keeps_the_default_lease_through_a_long_task(make_app: Any, rdb: Database) -> None:
    app = make_app(walrus_lock_renew_interval=0.1)  # lease: 0.3 s
    seen: dict[str, Any] = {}

    @app.task(base=WalrusLockedTask, bind=True, name="long.renewed")
    def long(self: Any) -> None:
        time.sleep(1.0)  # > 3 leases
        lock = self.lock_for()
        seen["owner"] = rdb.get(lock.key)
        seen["pttl"] = rdb.pttl(lock.key)
        seen["id"] = self.request.id

    long.delay()
    assert seen["owner"] == seen["id"].encode()
    assert 0 < seen["pttl"] <= 300
    assert rdb.keys("lock:*") == []


def test_running_lock_is_a_lease_not_the_time_limit(make_app: Any, rdb: Database) -> None:
    app = make_app(walrus_lock_renew_interval=2, walrus_lock_ttl_margin=10)
    ttls: dict[str, int] = {}

    def body(name: str) -> Any:
        def run(self: Any) -> None:
            ttls[name] = rdb.pttl(self.lock_for().key)

        run.__name__ = name
        return run

    app.task(base=WalrusLockedTask, bind=True, name="lease.limited", time_limit=3600)(
        body("limited")
    )
    app.task(base=WalrusLockedTask, bind=True, name="lease.both", lock="both", time_limit=3600)(
        body("both")
    )
    app.task(base=WalrusLockedTask, bind=True, name="lease.explicit", lock_ttl=9)(body("explicit"))
    for name in ("limited", "both", "explicit"):
        app.tasks[f"lease.{name}"].delay()
    assert 5_000 < ttls["limited"] <= 6_000  # 3 x the 2 s interval
    assert 5_000 < ttls["both"] <= 6_000  # the enqueue lock, adopted and cut to the lease
    assert 8_000 < ttls["explicit"] <= 9_000  # lock_ttl is the lease, renewed every third


def test_both_keeps_the_enqueue_ttl_while_queued_and_takes_the_lease_at_start(
    make_app: Any, rdb: Database
) -> None:
    app = make_app(
        task_always_eager=False, walrus_lock_enqueue_ttl=600, walrus_lock_renew_interval=1
    )
    seen: dict[str, Any] = {}

    @app.task(base=WalrusLockedTask, lock="both", bind=True)
    def queued_both(self: Any, x: int) -> None:
        key = self.lock_for(x).key
        seen["owner"], seen["pttl"] = rdb.get(key), rdb.pttl(key)

    result = queued_both.delay(1)  # memory broker, no worker: it stays queued
    key = queued_both.lock_for(1).key
    assert 599_000 < rdb.pttl(key) <= 600_000  # nothing renews a queued task's lock
    with RoundTripCounter() as rt:
        queued_both.apply((1,), task_id=result.id)  # the worker's run of that message
    assert seen["owner"] == result.id.encode() and 2_000 < seen["pttl"] <= 3_000
    # 2 for the lock (owner-checked renew to the lease; release) and the body's GET and PTTL
    assert rt.count == 2 + 2 and rdb.get(key) is None
    # The enqueue lock lapsed while queued: the run takes it afresh...
    seen.clear()
    queued_both.apply((1,), task_id="lapsed")
    assert seen["owner"] == b"lapsed" and rdb.get(key) is None
    # ...unless a later message took it meanwhile: then this run is the duplicate.
    seen.clear()
    later = rdb.lock(queued_both.lock_name_for(1), ttl=30_000, lock_id="later")
    assert later.acquire(block=False)
    assert queued_both.apply((1,), task_id="lapsed").get() is None
    assert seen == {} and later.owned()


def test_renewal_can_be_turned_off(make_app: Any, rdb: Database) -> None:
    app = make_app(walrus_lock_renew=False)
    seen: dict[str, Any] = {}

    @app.task(base=WalrusLockedTask, lock_ttl=0.2, bind=True, name="long.not_renewed")
    def long(self: Any) -> None:
        time.sleep(0.5)
        seen["locked"] = self.lock_for().locked()

    long.delay()
    assert seen["locked"] is False


def test_two_threads_one_run(make_app: Any, rdb: Database) -> None:
    app = make_app()
    inside = threading.Event()
    results: list[Any] = []

    @app.task(base=WalrusLockedTask, on_duplicate="skip", lock_ttl=5)
    def single(x: int) -> str:
        inside.set()
        time.sleep(0.5)
        return "ran"

    # EagerResult.result, not .get(): Celery's "no join inside a task" flag is process-wide.
    thread = threading.Thread(target=lambda: results.append(single.delay(1).result))
    thread.start()
    assert inside.wait(5)
    results.append(single.delay(1).result)
    thread.join()
    assert sorted(results, key=str) == [None, "ran"]


def test_direct_call_takes_no_lock(make_app: Any, rdb: Database) -> None:
    app = make_app()

    @app.task(base=WalrusLockedTask, on_duplicate="raise")
    def plain(x: int) -> int:
        return x + 1

    held(rdb, plain, 1)
    assert plain(1) == 2


def test_lock_none_is_a_plain_task(make_app: Any, rdb: Database) -> None:
    app = make_app()

    @app.task(base=WalrusLockedTask, lock=None)
    def free(x: int) -> int:
        return x

    with RoundTripCounter() as rt:
        assert free.delay(1).get() == 1
    assert rt.count == 0


def test_locked_task_decorator_shared_and_bare(make_app: Any, rdb: Database) -> None:
    app = make_app()

    @locked_task(app=app, lock="both", unique_on=["user_id"], on_duplicate="raise")
    def sync(user_id: int, full: bool = False) -> int:
        return user_id

    assert sync.lock_name_for(5) == sync.lock_name_for(5, full=True)
    assert sync.delay(5).get() == 5

    @locked_task
    def bare(x: int) -> int:
        return x

    # No app: a shared task, bound to the current app when used.
    assert bare.lock == "execute" and bare.unique_on is None


def test_bad_options_are_rejected_up_front(make_app: Any) -> None:
    app = make_app()
    with pytest.raises(ValueError, match="lock must be one of"):
        locked_task(app=app, lock="sometimes")(lambda: None)
    with pytest.raises(ValueError, match="on_duplicate must be one of"):
        locked_task(app=app, on_duplicate="ignore")(lambda: None)
    with pytest.raises(ValueError, match="needs lock='execute' or 'both'"):
        locked_task(app=app, lock="enqueue", on_duplicate="retry")(lambda: None)
    with pytest.raises(ValueError, match="unique_on names 'nope'"):
        locked_task(app=app, unique_on=["nope"])(lambda x: None)
    with pytest.raises(TypeError, match="unique_on must be a list"):
        locked_task(app=app, unique_on="x")(lambda x: None)
    with pytest.raises(ValueError, match="lock_ttl must be a positive"):
        locked_task(app=app, ttl=0)(lambda: None)
    with pytest.raises(TypeError, match="lock_key must be a function"):
        locked_task(app=app, key="k")(lambda: None)
    with pytest.raises(TypeError, match="base must be a subclass"):
        locked_task(app=app, base=dict)(lambda: None)  # type: ignore[arg-type]

    class Base(WalrusLockedTask):
        lock = "both"

    with pytest.raises(ValueError, match="lock must be one of"):
        type("Broken", (Base,), {"lock": "x"})


def test_bad_arguments_fail_before_anything_is_written(make_app: Any, rdb: Database) -> None:
    app = make_app(task_always_eager=False)

    @app.task(base=WalrusLockedTask, lock="both")
    def two(a: int, b: int) -> int:
        return a + b

    with pytest.raises(TypeError, match="two"):
        two.delay(1, 2, 3)

    class Opaque:
        pass

    with pytest.raises(TypeError, match="stable key"):
        two.delay(1, Opaque())
    assert rdb.keys("*") == []


def test_custom_key_function_shares_a_lock_between_tasks(make_app: Any, rdb: Database) -> None:
    app = make_app()

    def per_user(user_id: int, **_: Any) -> str:
        return f"user:{user_id}"

    @app.task(base=WalrusLockedTask, lock_key=per_user, on_duplicate="raise")
    def sync_user(user_id: int) -> str:
        return "synced"

    @app.task(base=WalrusLockedTask, lock_key=per_user, on_duplicate="raise")
    def delete_user(user_id: int, hard: bool = False) -> str:
        return "deleted"

    assert (
        sync_user.lock_name_for(3)
        == delete_user.lock_name_for(3, hard=True)
        == "celery_walrus:user:3"
    )
    held(rdb, sync_user, 3)
    with pytest.raises(TaskLocked):
        delete_user.delay(3)


def test_ttl_defaults_from_time_limits_without_renewal(make_app: Any, rdb: Database) -> None:
    app = make_app(walrus_lock_ttl_margin=2, walrus_lock_default_ttl=42, walrus_lock_renew=False)
    ttls: dict[str, int] = {}

    def body(name: str) -> Any:
        def run(self: Any) -> None:
            ttls[name] = rdb.pttl(self.lock_for().key)

        run.__name__ = name
        return run

    app.task(base=WalrusLockedTask, bind=True, name="limited", time_limit=20, soft_time_limit=10)(
        body("limited")
    )
    app.task(base=WalrusLockedTask, bind=True, name="plain")(body("plain"))
    app.task(base=WalrusLockedTask, bind=True, name="explicit", lock_ttl=3)(body("explicit"))
    for name in ("limited", "plain", "explicit"):
        app.tasks[name].delay()
    assert 21_000 < ttls["limited"] <= 22_000
    assert 41_000 < ttls["plain"] <= 42_000
    assert 2_000 < ttls["explicit"] <= 3_000


def test_enqueue_ttl_adds_the_countdown(make_app: Any, rdb: Database) -> None:
    app = make_app(task_always_eager=False, walrus_lock_enqueue_ttl=10)

    @app.task(base=WalrusLockedTask, lock="both")
    def later(x: int) -> int:
        return x

    later.apply_async((1,), countdown=30)
    assert 39_000 < rdb.pttl(later.lock_for(1).key) <= 40_000
    later.apply_async((2,), expires=5)
    assert 4_000 < rdb.pttl(later.lock_for(2).key) <= 5_000


def test_memory_engine_works_for_eager_tests(make_app: Any) -> None:
    app = make_app(walrus_url="memory://celery-walrus-eager/0")

    @app.task(base=WalrusLockedTask, lock="both", on_duplicate="raise")
    def mem(x: int) -> int:
        return x

    assert mem.delay(1).get() == 1
    other = mem.lock_for(1)
    other.acquire(block=False)
    with pytest.raises(TaskLocked):
        mem.delay(1)


def test_task_locked_pickles_with_its_details() -> None:
    import pickle

    exc = pickle.loads(pickle.dumps(TaskLocked("busy", "celery_walrus:t:1", "tid")))
    assert (str(exc), exc.lock_name, exc.holder) == ("busy", "celery_walrus:t:1", "tid")


def test_debounce_runs_once_per_window(make_app: Any, rdb: Database) -> None:
    app = make_app()
    runs: list[int] = []

    @app.task(base=WalrusLockedTask, lock_debounce=0.6)
    def refresh(x: int) -> int:
        runs.append(x)
        return x

    assert refresh.delay(1).get() == 1
    lock = refresh.lock_for(1)
    assert (
        lock.locked() and 0 < lock.time_left() <= 600
    )  # kept after the run, until the window ends
    assert refresh.delay(1).get() is None  # a duplicate inside the window: skipped
    assert refresh.delay(2).get() == 2  # another key has its own window
    assert runs == [1, 2]
    time.sleep(0.7)
    assert not lock.locked()
    assert refresh.delay(1).get() == 1
    assert runs == [1, 2, 1]


def test_debounce_window_is_released_when_the_run_fails(make_app: Any, rdb: Database) -> None:
    app = make_app()
    calls: list[int] = []

    @app.task(base=WalrusLockedTask, lock_debounce=30)
    def flaky(x: int) -> int:
        calls.append(x)
        if len(calls) == 1:
            raise RuntimeError("first run fails")
        return x

    with pytest.raises(RuntimeError):
        flaky.delay(5)
    assert not flaky.lock_for(5).locked()  # a failed run keeps no window
    assert flaky.delay(5).get() == 5
    assert flaky.lock_for(5).locked()
    assert flaky.delay(5).get() is None and calls == [5, 5]


def test_debounce_options_are_checked(make_app: Any) -> None:
    app = make_app()
    with pytest.raises(ValueError, match="lock_debounce needs lock='execute' or 'both'"):

        class EnqueueOnly(WalrusLockedTask):
            lock = "enqueue"
            lock_debounce = 5

            def run(self) -> None: ...

    with pytest.raises(ValueError, match="lock_debounce must be a positive number of seconds"):

        @locked_task(app=app, debounce=-1)
        def negative() -> None: ...

    with pytest.raises(TypeError, match="lock_debounce must be a number"):

        @locked_task(app=app, debounce="5m")
        def text() -> None: ...
