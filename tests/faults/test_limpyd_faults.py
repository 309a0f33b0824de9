"""limpyd under faults (#25 parts 2 and 3): a create whose reply is lost is resent and applied
once with request ids (without them: ``OutcomeUnknownError``, never a ``UniquenessError``
for the caller's own row); every limpyd write script declares its flags, so a full server
refuses it before it runs, with nothing written."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from limpyd import fields, model
from limpyd.database import RedisDatabase
from limpyd.indexes import NumberRangeIndex
from tests.support import fault_injectors as injectors
from tests.support.redis_server import RedisServer, start_redis_server
from walrus.retry import OutcomeUnknownError, script_flags

LIMPYD_SCRIPTS = Path(__file__).resolve().parents[2] / "core" / "limpyd" / "scripts"


@pytest.fixture
def server() -> Iterator[RedisServer]:
    started = start_redis_server()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def proxy(server: RedisServer) -> Iterator[injectors.ReplyDropper]:
    dropper = injectors.ReplyDropper(server)
    try:
        yield dropper
    finally:
        dropper.close()


def _models(db: RedisDatabase) -> tuple[Any, Any]:
    class Member(model.RedisModel):  # plain indexes: limpyd_create
        database = db
        namespace = "faults"
        email = fields.InstanceHashField(unique=True)
        team = fields.InstanceHashField(indexable=True)

    class Score(model.RedisModel):  # a range index: limpyd_ops_create
        database = db
        namespace = "faults"
        name = fields.InstanceHashField(unique=True)
        points = fields.InstanceHashField(indexable=True, indexes=[NumberRangeIndex])

    return Member, Score


@pytest.mark.parametrize("which", ["plain", "range"])
def test_lost_reply_of_a_create_is_resent_once_with_request_ids(
    server: RedisServer, proxy: injectors.ReplyDropper, which: str
) -> None:
    database = RedisDatabase(host="127.0.0.1", port=proxy.port, db=0, request_ids=True)
    Member, Score = _models(database)
    Member(email="warm@x", team="a")  # the scripts are loaded: the next call is one EVALSHA
    Score(name="warm", points=1)
    proxy.drop_reply_to(b"EVALSHA")  # the create's script; the server is back at once
    dropped: list[bool] = []
    reopener = threading.Thread(
        target=lambda: dropped.append(proxy.wait_dropped()) or proxy.reopen()
    )
    reopener.start()
    if which == "plain":
        created = Member(email="ann@x", team="a")
        assert set(Member.collection(email="ann@x")) == {created.pk.get()}
        assert len(Member.collection(team="a")) == 2
    else:
        created = Score(name="ann", points=10)
        assert set(Score.collection(points__gte=5)) == {created.pk.get()}
        assert len(Score.collection()) == 2
    reopener.join(timeout=10)
    assert dropped == [True]  # the reply was lost, the resend answered from the first run
    database.close()


def test_lost_reply_without_request_ids_is_an_unknown_outcome(
    server: RedisServer, proxy: injectors.ReplyDropper
) -> None:
    database = RedisDatabase(host="127.0.0.1", port=proxy.port, db=0)
    Member, _ = _models(database)
    Member(email="warm@x", team="a")
    proxy.drop_reply_to(b"EVALSHA")  # and refuse connections until reopen()
    with pytest.raises(OutcomeUnknownError):
        Member(email="ann@x", team="a")
    proxy.reopen()
    # It ran once and was not resent: the caller checks instead of guessing.
    assert len(Member.collection(email="ann@x")) == 1
    assert len(Member.collection()) == 2
    database.close()


def test_every_limpyd_script_declares_its_flags() -> None:
    for path in sorted(LIMPYD_SCRIPTS.glob("*.lua")):
        source = path.read_text(encoding="utf-8")
        flags = script_flags(source)
        assert flags is not None, f"{path.name} has no #!lua line"
        assert flags <= {"allow-oom"}, path.name
        assert "-- Flags:" in source.split("\n", 2)[1], f"{path.name} says why in its header"


def test_a_full_server_refuses_limpyd_writes_and_nothing_is_written() -> None:
    server = start_redis_server("--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
    try:
        database = RedisDatabase(host="127.0.0.1", port=server.port, db=0)
        Member, Score = _models(database)
        ann = Member(email="ann@x", team="a")
        top = Score(name="top", points=5)
        raw = server.client()
        injectors.fill_until_refused(raw)
        before = injectors.dump_keys(raw)
        writes = {
            "create (plain)": lambda: Member(email="bob@x", team="b"),
            "create (range)": lambda: Score(name="bob", points=3),
            "write (plain)": lambda: ann.team.hset("c"),
            "write (range)": lambda: top.points.hset(7),
            "hmset": lambda: ann.hmset(team="d", email="ann2@x"),
            "delete (plain)": lambda: ann.delete(),
            "delete (range)": lambda: top.delete(),
        }
        for label, call in writes.items():
            with pytest.raises(redis.exceptions.OutOfMemoryError):
                call()
            assert injectors.dump_keys(raw) == before, f"{label} wrote something"
        # one-set collections still answer (SORT_RO); collections that intersect in a
        # MULTI/EXEC are refused as a whole (the server refuses anything queued in a MULTI
        # when over maxmemory), with the server's error type and nothing left behind
        assert set(Member.collection(team="a")) == {ann.pk.get()}
        assert Member.collection(team="a").instances()[0].email.hget() == "ann@x"
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            list(Score.collection(points__gte=1))
        assert injectors.dump_keys(raw) == before
        database.close()
    finally:
        server.stop()
