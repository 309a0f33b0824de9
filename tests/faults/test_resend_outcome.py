"""A write resent after a lost reply whose resends then fail raises OutcomeUnknownError (#25,
found by the fault suite): the lost attempt may have been applied, so a plain
``ConnectionError`` there (the last attempt's error) would report a success as a failure.

A loopback TCP proxy in front of a real server (``fault_injectors.ReplyDropper``) lets the
test lose exactly one reply: the command reaches the server and runs, the proxy drops its
reply, closes the connection and refuses new ones, so every resend fails to connect.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis

from tests.support.fault_injectors import ReplyDropper
from tests.support.redis_server import RedisServer, start_redis_server
from walrus import Database, Model, TextField
from walrus.retry import OutcomeUnknownError


@pytest.fixture
def server() -> Iterator[RedisServer]:
    started = start_redis_server()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def proxy(server: RedisServer) -> Iterator[ReplyDropper]:
    dropper = ReplyDropper(server)
    try:
        yield dropper
    finally:
        dropper.close()


@pytest.fixture
def closing() -> Iterator[list[Database]]:
    """Clients a test opens, closed after it: a dropped client's sockets are otherwise left
    to the garbage collector, whose ResourceWarning fails whichever test runs then."""
    opened: list[Database] = []
    yield opened
    for db in opened:
        db.close()


def _client(proxy: ReplyDropper, closing: list[Database], **options: object) -> Database:
    db = Database.from_url(
        f"redis://127.0.0.1:{proxy.port}/0", retries=2, retry_backoff=0.01, **options
    )  # type: ignore[arg-type]
    closing.append(db)
    db.ping()  # connected through the proxy before the fault
    return db


def _lose_reply_then_stay_down(
    proxy: ReplyDropper, marker: bytes, call: object
) -> BaseException | None:
    proxy.drop_reply_to(marker)
    started = time.monotonic()
    try:
        call()  # type: ignore[operator]
    except BaseException as exc:  # noqa: BLE001 - inspected by the caller
        assert proxy.wait_dropped(), "the proxy never saw the reply"
        assert time.monotonic() - started < 5
        return exc
    return None


def test_idempotent_write_resent_then_refused_is_outcome_unknown(
    proxy: ReplyDropper, server: RedisServer, closing: list[Database]
) -> None:
    db = _client(proxy, closing)
    error = _lose_reply_then_stay_down(proxy, b"SET", lambda: db.set("k", "v"))
    assert isinstance(error, OutcomeUnknownError), repr(error)
    assert error.resent and error.command == "SET" and "resending it failed" in str(error)
    assert isinstance(error, redis.ConnectionError)
    direct = server.client()
    closing.append(direct)  # type: ignore[arg-type]  # a redis.Redis: close() as well
    assert direct.get("k") == b"v"  # the lost attempt was applied: not a failure


def test_request_id_script_resent_then_refused_is_outcome_unknown(
    proxy: ReplyDropper, server: RedisServer, closing: list[Database]
) -> None:
    db = _client(proxy, closing, request_ids=True)

    class FaultNote(Model):
        __database__ = db
        text = TextField(index=True)

    FaultNote.create(text="warm-up")  # the script is loaded; the next create sends EVALSHA
    error = _lose_reply_then_stay_down(proxy, b"EVALSHA", lambda: FaultNote.create(text="lost"))
    assert isinstance(error, OutcomeUnknownError) and error.resent, repr(error)
    assert "model_write" in error.command
    FaultNote.__database__ = Database.from_url(server.url(0))
    closing.append(FaultNote.__database__)
    assert [n.text for n in FaultNote.query(FaultNote.text == "lost")] == ["lost"]  # applied once
    assert FaultNote.check_indexes() == []


def test_read_resent_then_refused_stays_a_connection_error(
    proxy: ReplyDropper, server: RedisServer, closing: list[Database]
) -> None:
    db = _client(proxy, closing)
    db.set("k", "v")
    error = _lose_reply_then_stay_down(proxy, b"GET", lambda: db.get("k"))
    assert isinstance(error, redis.ConnectionError) and not isinstance(
        error, OutcomeUnknownError
    ), repr(error)


def test_nothing_lost_means_a_plain_error(proxy: ReplyDropper, closing: list[Database]) -> None:
    """A write that never reached the server (the proxy refuses before it is sent) is a
    plain ConnectionError: nothing was applied."""
    db = _client(proxy, closing)
    proxy.close()
    db.connection_pool.disconnect()
    with pytest.raises(redis.ConnectionError) as raised:
        db.set("k", "v")
    assert not isinstance(raised.value, OutcomeUnknownError)


def _paused_then_killed(server: RedisServer, call: object) -> tuple[object, BaseException | None]:
    """Run ``call`` while the server holds writes (CLIENT PAUSE WRITE: sent, not answered),
    then kill its connection: the reply is lost, the command did not run."""
    raw = server.client()
    raw.client_pause(600, all=False)
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = call()  # type: ignore[operator]
        except BaseException as exc:  # noqa: BLE001 - inspected below
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.2)
    raw.client_kill_filter(_type="normal", skipme=True)
    thread.join(10)
    raw.close()
    error = outcome.get("error")
    return outcome.get("value"), error if isinstance(error, BaseException) else None


def test_django_incr_with_request_ids_is_resent(
    server: RedisServer, closing: list[Database]
) -> None:
    """The Django cache's incr sent EVALSHA itself, without the request id: with
    REQUEST_IDS on, a lost reply raised OutcomeUnknownError instead of being resent."""
    from django_walrus.cache import WalrusCache

    cache = WalrusCache(server.url(0), {"OPTIONS": {"REQUEST_IDS": True, "SERIALIZER": "json"}})
    closing.append(cache.database)
    cache.set("n", 0, None)
    assert cache.incr("n") == 1 and cache.incr("n") == 2  # the second one took the fast path
    value, error = _paused_then_killed(server, lambda: cache.incr("n"))
    assert error is None and value == 3, repr(error)
    assert cache.get("n") == 3
    plain = WalrusCache(server.url(0), {"OPTIONS": {"SERIALIZER": "json"}})
    closing.append(plain.database)
    assert plain.incr("n") == 4 and plain.incr("n") == 5
    _, error = _paused_then_killed(server, lambda: plain.incr("n"))
    assert isinstance(error, OutcomeUnknownError) and not error.resent  # not resent: no ids
