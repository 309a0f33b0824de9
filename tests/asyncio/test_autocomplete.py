"""Autocomplete on an AsyncDatabase: the sync helper's code, awaited.

Each test writes with one client kind and reads with the other, so the async methods are
checked against the sync ones (one implementation, written as steps)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from redis.exceptions import ResponseError

from tests.support.asyncio_clients import run_with_clients as run
from walrus import Database
from walrus.asyncio import AsyncDatabase
from walrus.autocomplete import MAX_ATTEMPTS, Autocomplete, AutocompleteConflictError
from walrus.roundtrips import RoundTripCounter


def unlink_calls(sync: Database) -> int:
    """The server's count of UNLINK commands run so far."""
    stat = sync.info("commandstats").get("cmdstat_unlink", {"calls": 0})
    return int(stat["calls"])


def test_store_search_and_reads_match_the_sync_helper(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        ac = Autocomplete(db, "titles")
        sac = Autocomplete(sync, "titles")
        assert await ac.store("python programming", data={"id": 1}) is True
        assert await ac.store("pyramid schemes", data={"id": 2}) is True
        assert sac.store("rust book", data={"id": 3}) is True
        assert await ac.store("rusty", obj_type="word") is True  # data defaults to the title
        assert await ac.search("py") == [{"id": 2}, {"id": 1}] == sac.search("py")
        assert await ac.search("rust") == [{"id": 3}, "rusty"] == sac.search("rust")
        assert await ac.search("pro py") == [{"id": 1}]
        assert await ac.search("py", limit=1) == [{"id": 2}]
        assert await ac.search("py", limit=0) == [] and await ac.search("!!") == []
        assert await ac.search("py", boosts={"python programming": 10}) == [{"id": 1}, {"id": 2}]
        assert await ac.exists("rust book") is True and sac.exists("rust book") is True
        assert await ac.exists("rusty", obj_type="word") is True
        assert await ac.exists("rusty") is False and await ac.exists("missing") is False
        assert sorted(map(str, await ac.list_data())) == sorted(map(str, sac.list_data()))
        assert len(await ac.list_data()) == 4
        assert sorted(await ac.list_titles()) == sorted(sac.list_titles())
        assert sorted(await ac.list_titles()) == [
            "pyramid schemes",
            "python programming",
            "rust book",
            "rusty",
        ]
        # a title change re-indexes the object (2 round trips), read by the sync helper
        assert await ac.store("rust book", title="ferris crab", data={"id": 3}) is True
        assert sac.search("rust") == ["rusty"] and sac.search("ferr") == [{"id": 3}]
        sac.store("pyramid schemes", title="egypt", data={"id": 2})
        assert await ac.search("py") == [{"id": 1}] and await ac.search("egy") == [{"id": 2}]

    run(async_url, body)


def test_boost_remove_and_flush_match_the_sync_helper(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        ac = Autocomplete(db, "ns", use_json=False)
        sac = Autocomplete(sync, "ns", use_json=False)
        ns = sync.tag("ns")  # "{ns}" on a cluster: the helper keeps its keys in one slot
        for title in ("alpha onyx", "alpha topaz", "alpha ruby"):
            await ac.store(title, obj_type="t1" if "topaz" in title else None)
        assert sac.search("alp") == ["alpha onyx", "alpha ruby", "alpha topaz"]
        assert await ac.boost_object("alpha topaz", "t1", multiplier=10) == 10.0
        assert sac.search("alp")[0] == "alpha topaz"
        assert await ac.boost_object("alpha topaz", "t1", multiplier=0.5) == 5.0  # relative
        assert await ac.boost_object("alpha topaz", "t1", 0.01, relative=False) == 0.01
        assert sac.search("alp")[-1] == "alpha topaz"
        assert await ac.boost_object(obj_type="t1", multiplier=2) == 2.0
        assert float(sync.hget(f"{ns}:b", "\x01t1") or 0) == 2.0
        assert sync.exists(f"{ns}:s:o", f"{ns}:s:on", f"{ns}:s:onyx") == 3
        assert await ac.remove("alpha onyx") is True
        assert sac.search("alp") == ["alpha ruby", "alpha topaz"]
        assert sync.exists(f"{ns}:s:o", f"{ns}:s:on", f"{ns}:s:onyx") == 0
        sac.remove("alpha ruby")
        assert await ac.search("alp") == ["alpha topaz"]
        with pytest.raises(KeyError, match="alpha onyx"):
            await ac.remove("alpha onyx")
        assert await ac.remove("alpha topaz", obj_type="t1") is True
        assert await ac.list_titles() == []
        for index in range(12):
            sac.store(f"word{index} thing{index}")
        before = len(sync.keys(f"{ns}:*"))
        assert await ac.flush(batch_size=5) == before  # several pages and UNLINKs
        assert sync.keys(f"{ns}:*") == [] and sac.search("wor") == []
        assert await ac.flush() == 0

    run(async_url, body)


def test_bad_input_raises_before_anything_is_written(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> None:
        ac = Autocomplete(db, "bad")
        await ac.store("kept title", data=[1])
        before = {key: sync.dump(key) for key in sync.keys("*")}
        with RoundTripCounter() as rt:
            with pytest.raises(TypeError, match="data is not JSON serializable"):
                await ac.store("new title", data=object())
            with pytest.raises(ValueError, match="has no word"):
                await ac.store("???")
            with pytest.raises(TypeError, match="title must be str or bytes"):
                await ac.store("x", title=5)
            with pytest.raises(ValueError, match="must not contain"):
                await ac.store("a\x01b")
            with pytest.raises(TypeError, match="obj_id must be str, bytes or int"):
                await ac.remove(1.5)
            with pytest.raises(ValueError, match="needs obj_id, obj_type or both"):
                await ac.boost_object()
            with pytest.raises(ValueError, match="positive finite"):
                await ac.boost_object("kept title", multiplier=0)
            with pytest.raises(TypeError, match="relative must be True or False"):
                await ac.boost_object("kept title", relative=1)
            with pytest.raises(ValueError, match="batch_size must be positive"):
                await ac.flush(batch_size=0)
            with pytest.raises(ValueError, match="limit must not be negative"):
                await ac.search("kept", limit=-1)
            with pytest.raises(TypeError, match="boosts must be a mapping"):
                await ac.search("kept", boosts=[1])
            with pytest.raises(TypeError, match="must be a number"):
                await ac.search("kept", boosts={"kept title": "2"})
            with pytest.raises(TypeError, match="obj_id must be str"):
                await ac.exists(None)
        assert rt.count == 0  # nothing sent
        assert {key: sync.dump(key) for key in sync.keys("*")} == before
        assert await ac.list_data() == [[1]]

    run(async_url, body)


def test_server_errors_are_raised_as_they_come(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> list[str]:
        err = sync.tag("err")
        sync.set(f"{err}:t", "not a hash")
        sync.set(f"{err}:d", "not a hash")
        ac = Autocomplete(db, "err")
        sac = Autocomplete(sync, "err")
        messages = []
        for check in (ac.exists, ac.remove):
            with pytest.raises(ResponseError) as raised:
                await check("x")
            with pytest.raises(ResponseError) as sync_raised:
                getattr(sac, check.__name__)("x")
            assert type(raised.value) is type(sync_raised.value) is ResponseError
            messages.append(str(raised.value))
        with pytest.raises(ResponseError):
            await ac.list_titles()
        assert sync.get(f"{err}:t") == b"not a hash"
        return messages

    messages = run(async_url, body)
    assert all("WRONGTYPE" in message for message in messages)


def test_calls_return_awaitables_and_round_trips_match_sync(async_url: str) -> None:
    async def body(db: AsyncDatabase, sync: Database) -> list[tuple[int, int]]:
        ac = Autocomplete(db, "rt")
        sac = Autocomplete(sync, "rt")
        pending = ac.exists("x")
        assert asyncio.iscoroutine(pending) or isinstance(pending, Awaitable)
        assert await pending is False
        await db.ping()
        sync.ping()
        calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
            ("store", ("first title",), {}),
            ("store", ("first title",), {"title": "renamed title"}),  # 2: title changed
            ("store", ("second title",), {"data": {"n": 2}}),
            ("search", ("tit",), {}),
            ("search", ("!!",), {}),  # no word: nothing sent
            ("boost_object", ("second title",), {"multiplier": 3}),
            ("exists", ("first title",), {}),
            ("list_data", (), {}),
            ("list_titles", (), {}),
            ("remove", ("second title",), {}),
        ]
        counts: list[tuple[int, int]] = []
        for name, args, kwargs in calls:
            with RoundTripCounter() as rt:
                await getattr(ac, name)(*args, **kwargs)
            counts.append((rt.count, -1))
        # the same calls on the sync helper, from the same starting state
        sync.flushdb()
        for index, (name, args, kwargs) in enumerate(calls):
            with RoundTripCounter() as rt:
                getattr(sac, name)(*args, **kwargs)
            counts[index] = (counts[index][0], rt.count)
        sync.flushdb()
        for index in range(15):
            sac.store(f"many{index} words{index}")
        with RoundTripCounter() as rt:
            sync_deleted = sac.flush(batch_size=4)
        sync_flush = rt.count
        sync.flushdb()
        for index in range(15):
            sac.store(f"many{index} words{index}")
        real_server = not async_url.startswith("memory://")  # memory://: no commandstats
        unlinks_before = unlink_calls(sync) if real_server else 0
        with RoundTripCounter() as rt:
            async_deleted = await ac.flush(batch_size=4)
        assert async_deleted == sync_deleted > 15
        if real_server:  # an UNLINK per 4 keys (rt:d, rt:t, the absent rt:b, the prefixes)
            unlinks = unlink_calls(sync) - unlinks_before
            assert unlinks == -(-(async_deleted + 1) // 4)
        counts.append((rt.count, sync_flush))
        return counts

    counts = run(async_url, body)
    assert all(async_count == sync_count for async_count, sync_count in counts), counts
    assert [pair[0] for pair in counts[:10]] == [1, 2, 1, 1, 0, 1, 1, 1, 1, 2]
    assert counts[-1][0] > 2  # SCAN pages and UNLINKs


def test_a_title_changing_under_a_write_is_retried_then_refused(
    async_url: str, tmp_path: Any
) -> None:
    """The store/remove retry loops on asyncio: a title changed elsewhere is retried with the
    stored one (2 round trips, as the sync helper); one that keeps changing ends in
    AutocompleteConflictError after MAX_ATTEMPTS scripts, with nothing written. The endless
    conflict is a real script run by the server: a ``script_dir`` override reporting a new
    title on every call."""
    (tmp_path / "autocomplete_store.lua").write_text(
        "return {0, ARGV[4] .. 'x'}  -- never stored: the title 'changed' again"
    )
    (tmp_path / "autocomplete_remove.lua").write_text("return {0}  -- never removed")

    async def main() -> list[Any]:
        got: list[Any] = []
        db = AsyncDatabase.from_url(async_url)
        sync = Database.from_url(async_url)
        ac, sac = Autocomplete(db, "ns"), Autocomplete(sync, "ns")
        sac.store("w1", "walrus tusk")
        await db.ping()  # connected (and the slot map read on a cluster): not counted below
        with RoundTripCounter() as rt:
            await ac.store("w1", "narwhal horn")  # expects no title: told the stored one, retries
        got += [rt.count, sac.search("narw"), sac.search("walr")]
        stubborn = AsyncDatabase.from_url(async_url, script_dir=tmp_path)
        await stubborn.ping()
        before = {key: sync.dump(key) for key in sync.keys("*")}
        with RoundTripCounter() as rt:
            with pytest.raises(AutocompleteConflictError, match="after 10 attempts"):
                await Autocomplete(stubborn, "ns").store("w1", "beluga")
        got.append(rt.count)
        with pytest.raises(AutocompleteConflictError, match="not removed after 10"):
            await Autocomplete(stubborn, "ns").remove("w1")
        got.append({key: sync.dump(key) for key in sync.keys("*")} == before)
        await stubborn.aclose()
        await db.aclose()
        sync.close()
        return got

    got = asyncio.run(main())
    assert got == [2, ["narwhal horn"], [], MAX_ATTEMPTS, True]
