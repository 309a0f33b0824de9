"""Races between threads: unique values stay unique, no ghost instance is left behind."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from limpyd import fields, model
from limpyd.database import RedisDatabase
from limpyd.exceptions import UniquenessError

THREADS = 8


def race(target: Callable[[int], Any]) -> list[Any]:
    """Run ``target(i)`` in THREADS threads released together; results or exceptions."""
    barrier = threading.Barrier(THREADS)
    results: list[Any] = [None] * THREADS

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_unique_creation_race_leaves_no_duplicate_and_no_ghost(
    limpyd_db: RedisDatabase, raw, helpers
) -> None:
    class Account(model.RedisModel):
        database = limpyd_db
        email = fields.HashableField(unique=True)
        login = fields.StringField(unique=True)
        visits = fields.StringField(default=0)

    for round_ in range(5):
        results = race(lambda i, r=round_: Account(email=f"x{r}@y", login=f"l{r}-{i}"))
        created = [r for r in results if isinstance(r, Account)]
        refused = [r for r in results if isinstance(r, UniquenessError)]
        assert len(created) == 1 and len(refused) == THREADS - 1, results
    pks = raw.smembers(":account:collection")
    assert pks == {"1", "2", "3", "4", "5"}
    assert raw.get(":account:max_pk") == "5"  # refused creations allocated no pk
    assert helpers.index_state(raw, Account, "email") == {f"x{r}@y": {str(r + 1)} for r in range(5)}
    helpers.assert_index_consistent(raw, Account, "login")
    expected_keys = {":account:collection", ":account:max_pk"}
    for pk in pks:
        expected_keys |= {f":account:{pk}:hash", f":account:{pk}:login", f":account:{pk}:visits"}
    expected_keys |= {f":account:email:x{r}@y" for r in range(5)}
    expected_keys |= {f":account:login:{raw.get(f':account:{pk}:login')}" for pk in pks}
    assert set(raw.keys()) == expected_keys


def test_auto_pks_are_distinct_under_contention(limpyd_db: RedisDatabase, raw) -> None:
    class Event(model.RedisModel):
        database = limpyd_db
        name = fields.StringField(indexable=True)

    results = race(lambda i: [Event(name=f"e{i}-{n}").get_pk() for n in range(10)])
    pks = [pk for batch in results for pk in batch]
    assert sorted(pks, key=int) == [str(n) for n in range(1, THREADS * 10 + 1)]
    assert raw.get(":event:max_pk") == str(THREADS * 10)


def test_unique_update_race_has_one_winner(limpyd_db: RedisDatabase, raw, helpers) -> None:
    class Seat(model.RedisModel):
        database = limpyd_db
        holder = fields.StringField(unique=True)

    seats = [Seat(holder=f"h{i}") for i in range(THREADS)]
    results = race(lambda i: seats[i].holder.set("winner"))
    assert results.count(True) == 1
    assert sum(isinstance(r, UniquenessError) for r in results) == THREADS - 1
    assert raw.smembers(":seat:holder:winner") and len(raw.smembers(":seat:holder:winner")) == 1
    helpers.assert_index_consistent(raw, Seat, "holder")


def test_concurrent_writes_to_one_indexed_set_stay_indexed(
    limpyd_db: RedisDatabase, raw, helpers
) -> None:
    class Bag(model.RedisModel):
        database = limpyd_db
        items = fields.SetField(indexable=True)

    bag = Bag(items=["start"])
    race(lambda i: [Bag(bag.get_pk()).items.sadd(f"v{i}-{n}") for n in range(10)])
    race(lambda i: [Bag(bag.get_pk()).items.srem(f"v{i}-{n}") for n in range(0, 10, 2)])
    assert bag.items.scard() == 1 + THREADS * 5
    helpers.assert_index_consistent(raw, Bag, "items")


def test_concurrent_incr_of_an_indexed_field(limpyd_db: RedisDatabase, raw, helpers) -> None:
    """New values are unknown before the command runs: the script indexes the value Redis
    computed, atomically, without ever leaving a stale index entry."""

    class Counter(model.RedisModel):
        database = limpyd_db
        value = fields.StringField(indexable=True, default=0)

    counter = Counter()
    pk = counter.get_pk()  # saves it with its default (Counter() alone stores nothing)
    race(lambda i: [Counter(pk).value.incr() for _ in range(10)])
    assert counter.value.get() == str(THREADS * 10)
    assert helpers.index_state(raw, Counter, "value") == {str(THREADS * 10): {"1"}}
