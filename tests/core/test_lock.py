"""walrus.Lock: SET NX PX acquire, BLPOP wait, owner-checked Lua release/extend."""

from __future__ import annotations

import threading
import time

import pytest

from walrus import Database, WalrusError
from walrus.lock import Lock, LockError, LockExpired, LockNotOwned
from walrus.roundtrips import RoundTripCounter


def _start(target: object) -> threading.Thread:
    thread = threading.Thread(target=target)  # type: ignore[arg-type]
    thread.start()
    return thread


def test_acquire_release_and_key_layout(db: Database) -> None:
    lock = db.lock("job")
    assert isinstance(lock, Lock)
    assert lock.key == "lock:job" and lock.event == "lock.event:job"
    assert isinstance(lock._lock_id, str) and len(lock._lock_id) == 32
    int(lock._lock_id, 16)  # uuid4 hex
    assert not lock.locked()
    assert lock.acquire() is True
    assert db.get("lock:job") == lock._lock_id.encode()
    assert db.pttl("lock:job") == -1  # no ttl: no expiry
    assert lock.locked() and lock.owned()
    assert lock.time_left() is None
    assert lock.release() is True
    assert not lock.locked() and not lock.owned()
    assert lock.time_left() == 0
    assert db.exists("lock:job") == 0


def test_ttl_is_milliseconds_and_zero_means_none(db: Database) -> None:
    lock = db.lock("t", ttl=5000)
    lock.acquire()
    assert 4000 < db.pttl("lock:t") <= 5000
    left = lock.time_left()
    assert left is not None and 4000 < left <= 5000
    lock.release()
    forever = db.lock("z", ttl=0)
    assert forever.ttl is None
    forever.acquire()
    assert db.pttl("lock:z") == -1


def test_round_trips(db: Database) -> None:
    lock = db.lock("rt", ttl=1000)
    with RoundTripCounter() as rt:
        lock.acquire()
    assert rt.count == 1
    with RoundTripCounter() as rt:
        assert db.lock("rt").acquire(block=False) is False
    assert rt.count == 1
    with RoundTripCounter() as rt:
        lock.release()
    assert rt.count == 1


def test_non_blocking_acquire_of_held_lock(db: Database) -> None:
    a, b = db.lock("x"), db.lock("x")
    assert a.acquire(block=False)
    assert b.acquire(block=False) is False
    assert a.acquire(block=False) is False  # not re-entrant
    a.release()
    assert b.acquire(block=False)


def test_same_lock_id_is_the_same_owner(db: Database) -> None:
    a = db.lock("x", lock_id="worker-1")
    b = db.lock("x", lock_id="worker-1")
    a.acquire()
    assert db.get("lock:x") == b"worker-1"
    assert b.owned()
    assert b.release()


def test_non_owner_release_raises_and_keeps_the_lock(db: Database) -> None:
    owner, other = db.lock("x"), db.lock("x")
    owner.acquire()
    with pytest.raises(LockNotOwned, match="'x'.*another owner"):
        other.release()
    assert owner.owned()
    with pytest.raises(LockNotOwned):
        other.extend(1000)
    with pytest.raises(LockNotOwned):
        other.renew(1000)
    assert db.pttl("lock:x") == -1
    assert owner.release()


def test_expired_release_raises_lock_expired(db: Database) -> None:
    lock = db.lock("x", ttl=100)
    lock.acquire()
    time.sleep(0.25)
    assert not lock.locked()
    with pytest.raises(LockExpired, match="not held"):
        lock.release()
    with pytest.raises(LockExpired):
        lock.extend(100)
    never = db.lock("never")
    with pytest.raises(LockExpired):
        never.release()
    assert issubclass(LockExpired, LockNotOwned)
    assert issubclass(LockNotOwned, LockError)
    assert issubclass(LockError, WalrusError) and issubclass(LockError, RuntimeError)
    assert db.exists("lock.event:x") == 0  # a failed release pushes no wake-up token


def test_expired_lock_taken_over_then_old_owner_cannot_release(db: Database) -> None:
    old, new = db.lock("x", ttl=100), db.lock("x", ttl=5000)
    old.acquire()
    time.sleep(0.2)
    assert new.acquire(block=False)
    with pytest.raises(LockNotOwned) as info:
        old.release()
    assert not isinstance(info.value, LockExpired)
    assert new.owned()


def test_ttl_200ms_frees_and_blocked_acquirer_gets_it_before_1s(db: Database) -> None:
    holder, waiter = db.lock("short", ttl=200), db.lock("short", ttl=200)
    holder.acquire()
    start = time.monotonic()
    assert waiter.acquire(timeout=5)
    elapsed = time.monotonic() - start
    assert 0.1 < elapsed < 0.8, elapsed  # upstream blocked forever for ttl < 1000 ms
    assert waiter.owned()


def test_release_wakes_a_blocked_waiter_without_spinning(db: Database) -> None:
    holder, waiter = db.lock("w"), db.lock("w")
    holder.acquire()
    got: list[float] = []

    def wait() -> None:
        assert waiter.acquire()
        got.append(time.monotonic())

    with RoundTripCounter() as rt:
        thread = _start(wait)
        time.sleep(0.6)
        assert not got
        released_at = time.monotonic()
        holder.release()
        thread.join(5)
    assert got and got[0] - released_at < 0.5
    # SET NX, retry + BLPOP, retry after the wake-up, and the release: no polling loop.
    assert rt.count <= 6, rt.count
    assert waiter.owned()


def test_wake_up_list_expires(db: Database) -> None:
    lock = db.lock("e")
    lock.acquire()
    lock.release()
    ttl = db.pttl("lock.event:e")
    assert 0 < ttl <= Lock.wakeup_ttl
    for _ in range(3):  # repeated releases keep at most one token
        lock.acquire()
        lock.release()
    assert db.llen("lock.event:e") == 1


def test_timeout_gives_up(db: Database) -> None:
    db.lock("x").acquire()
    waiter = db.lock("x")
    start = time.monotonic()
    assert waiter.acquire(timeout=0.3) is False
    assert 0.25 < time.monotonic() - start < 2
    assert waiter.acquire(timeout=0) is False


def test_extend_and_renew(db: Database) -> None:
    lock = db.lock("x", ttl=300)
    lock.acquire()
    new_left = lock.extend(1000)
    assert new_left is not None and 1000 < new_left <= 1300
    assert db.pttl("lock:x") > 1000
    assert lock.renew() == 300
    assert db.pttl("lock:x") <= 300
    assert lock.renew(2000) == 2000
    time.sleep(0.4)
    assert lock.owned()  # the original 300 ms would have expired
    lock.release()
    persistent = db.lock("p")
    persistent.acquire()
    assert persistent.extend(500) is None  # no expiry stays no expiry
    assert db.pttl("lock:p") == -1
    with pytest.raises(ValueError, match="no ttl"):
        persistent.renew()
    with pytest.raises(ValueError, match="additional_ms"):
        lock.extend(-5)


def test_clear_frees_a_lock_and_wakes_a_waiter(db: Database) -> None:
    holder, waiter = db.lock("c"), db.lock("c")
    holder.acquire()
    done: list[bool] = []
    thread = _start(lambda: done.append(waiter.acquire(timeout=5)))
    time.sleep(0.3)
    assert holder.clear() is True
    thread.join(5)
    assert done == [True]
    assert waiter.owned()
    waiter.release()
    assert db.lock("c").clear() is False


def test_context_manager(db: Database) -> None:
    lock = db.lock("cm", ttl=5000)
    with lock as entered:
        assert entered is lock
        assert lock.owned()
    assert not lock.locked()
    with pytest.raises(KeyError):
        with lock:
            raise KeyError("boom")
    assert not lock.locked()


def test_context_manager_reports_a_lost_lock(db: Database) -> None:
    lock = db.lock("lost", ttl=100)
    with pytest.raises(LockExpired):
        with lock:
            time.sleep(0.2)
    # ...but an error raised by the block itself wins.
    with pytest.raises(ZeroDivisionError):
        with lock:
            time.sleep(0.2)
            1 / 0  # noqa: B018


def test_decorator(db: Database) -> None:
    lock = db.lock("deco")
    seen: list[bool] = []

    @lock
    def work(a: int, b: int = 1) -> int:
        """Docstring kept."""
        seen.append(lock.owned())
        return a + b

    assert work(2, b=3) == 5
    assert seen == [True]
    assert not lock.locked()
    assert work.__name__ == "work" and work.__doc__ == "Docstring kept."


def test_no_two_holders_across_8_threads(db: Database) -> None:
    rounds = 15
    state = {"inside": 0, "max": 0, "total": 0}
    guard = threading.Lock()
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            lock = db.lock("mutex", ttl=10_000)  # own instance, own token
            barrier.wait()
            for _ in range(rounds):
                with lock:
                    with guard:
                        state["inside"] += 1
                        state["max"] = max(state["max"], state["inside"])
                    time.sleep(0.001)
                    with guard:
                        state["inside"] -= 1
                        state["total"] += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [_start(work) for _ in range(8)]
    for thread in threads:
        thread.join(60)
    assert not errors
    assert state["max"] == 1
    assert state["total"] == 8 * rounds
    assert db.exists("lock:mutex") == 0


def test_existing_lock_key_is_respected(db: Database) -> None:
    db.set("lock:legacy", "someone-else")  # e.g. taken by upstream walrus
    lock = db.lock("legacy")
    assert lock.acquire(block=False) is False
    with pytest.raises(LockNotOwned):
        lock.release()


def test_bad_input_raises_before_anything_is_written(db: Database) -> None:
    with pytest.raises(ValueError, match="ttl"):
        db.lock("x", ttl=-1)
    with pytest.raises(TypeError, match="ttl"):
        db.lock("x", ttl="100")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ttl"):
        db.lock("x", ttl=True)
    with pytest.raises(ValueError, match="name"):
        db.lock("")
    with pytest.raises(TypeError, match="name"):
        db.lock(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lock_id"):
        db.lock("x", lock_id="")
    with pytest.raises(TypeError, match="lock_id"):
        db.lock("x", lock_id=12)  # type: ignore[arg-type]
    lock = db.lock("x")
    with pytest.raises(ValueError, match="timeout"):
        lock.acquire(timeout=-1)
    with pytest.raises(TypeError, match="timeout"):
        lock.acquire(timeout="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="block=True"):
        lock.acquire(block=False, timeout=1)
    with pytest.raises(TypeError, match="block"):
        lock.acquire(block=1)  # type: ignore[arg-type]
    assert db.dbsize() == 0


def test_held_locks_lists_owner_and_ttl(db: Database) -> None:
    from walrus.lock import held_locks

    a = db.lock("jobs:a", ttl=5000, lock_id="owner-a")
    b = db.lock("jobs:b", lock_id="owner-b")
    other = db.lock("other", ttl=5000)
    assert a.acquire() and b.acquire() and other.acquire()
    db.lpush("lock.event:jobs:x", 1)  # a wake-up list is not a lock
    found = held_locks(db, "jobs:")
    assert [(h.name, h.owner) for h in found] == [("jobs:a", "owner-a"), ("jobs:b", "owner-b")]
    assert 0 < found[0].ttl <= 5.0 and found[1].ttl is None
    assert [h.key for h in found] == [a.key, b.key]  # the stored keys ("lock:{name}" on a cluster)
    assert all(db.get(h.key) == h.owner.encode() for h in found)
    assert [h.name for h in held_locks(db)] == ["jobs:a", "jobs:b", "other"]
    a.release()
    assert [h.name for h in held_locks(db, "jobs:")] == ["jobs:b"]
    with pytest.raises(TypeError):
        held_locks(db, 3)  # type: ignore[arg-type]


def test_clear_locks_frees_held_locks_in_batches(db: Database) -> None:
    from walrus.lock import clear_locks

    held = [db.lock(f"batch-{i}", ttl=60_000) for i in range(3)]
    for lock in held:
        assert lock.acquire(block=False)
    names = [f"batch-{i}" for i in range(3)] + ["never-held"]
    assert clear_locks(db, names, page=2) == 3  # two pipelined batches
    assert all(db.lock(f"batch-{i}", ttl=1000).acquire(block=False) for i in range(3))
    assert clear_locks(db, []) == 0
    with pytest.raises(ValueError, match="page"):
        clear_locks(db, names, page=0)
    holder = db.lock("ok", ttl=60_000)
    assert holder.acquire(block=False)
    with pytest.raises((TypeError, ValueError)):
        clear_locks(db, ["ok", 5])  # type: ignore[list-item]
    assert not db.lock("ok", ttl=1000).acquire(block=False)  # the bad batch freed nothing
