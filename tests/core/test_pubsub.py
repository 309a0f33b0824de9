"""Database.listener (pub/sub) and Database.stream_log (MONITOR)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from redis.exceptions import ResponseError

from walrus import Database, WalrusError
from walrus.cluster import is_cluster
from walrus.embedded import reset_memory_server
from walrus.pubsub import (
    ListenerThread,
    ListenerTypeError,
    ListenerValueError,
    MonitorUnavailableError,
)


def _wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def _subscribers(db: Database, channel: str) -> int:
    return int(dict(db.pubsub_numsub(channel))[channel.encode()])


def test_async_listener_delivers_in_order_and_stops_on_stop_iteration(db: Database) -> None:
    received: list[tuple[Any, ...]] = []

    @db.listener(channels=["news", "sport"], patterns="log.*", is_async=True)
    def handler(type: str, channel: bytes, data: bytes, pattern: bytes | None) -> None:  # noqa: A002
        received.append((type, channel, data, pattern))
        if data == b"bye":
            raise StopIteration

    thread = handler()
    assert isinstance(thread, ListenerThread) and thread.daemon
    # Subscriptions are confirmed when handler() returns: nothing published now is lost.
    assert _subscribers(db, "news") == 1
    # On a cluster each PUBLISH goes to its channel's node, which relays it over the cluster
    # bus: messages published on different nodes may arrive in any order, so there each one
    # is awaited before the next (one node delivers in the order it publishes).
    on_cluster = is_cluster(db)

    def publish(channel: str, data: str, delivered: bool = True) -> None:
        before = len(received)
        db.publish(channel, data)
        if on_cluster and delivered:
            assert _wait_for(lambda: len(received) > before), (channel, data)

    publish("news", "one")
    publish("log.app", "two")
    publish("other", "ignored", delivered=False)
    publish("sport", "three")
    publish("news", "bye")
    publish("news", "after", delivered=False)
    thread.join(5)
    assert not thread.is_alive() and thread.exception is None
    assert received == [
        ("message", b"news", b"one", None),
        ("pmessage", b"log.app", b"two", b"log.*"),
        ("message", b"sport", b"three", None),
        ("message", b"news", b"bye", None),
    ]
    assert _wait_for(lambda: _subscribers(db, "news") == 0)  # the connection was closed


def test_async_listener_can_be_stopped(db: Database) -> None:
    received: list[bytes] = []

    @db.listener("chan", is_async=True)
    def handler(data: bytes, **_: Any) -> None:
        received.append(data)

    thread = handler()
    db.publish("chan", "x")
    assert _wait_for(lambda: received == [b"x"])
    assert thread.stop() is True
    assert not thread.is_alive()
    assert _wait_for(lambda: _subscribers(db, "chan") == 0)
    assert db.publish("chan", "y") == 0
    assert received == [b"x"]


def test_async_listener_keeps_the_exception(db: Database) -> None:
    @db.listener("chan", is_async=True)
    def handler(data: bytes, **_: Any) -> None:
        raise RuntimeError(f"boom {data!r}")

    thread = handler()
    db.publish("chan", "x")
    thread.join(5)
    assert not thread.is_alive()
    assert isinstance(thread.exception, RuntimeError) and "boom" in str(thread.exception)


def test_sync_listener_blocks_until_stop_iteration(db: Database) -> None:
    received: list[bytes] = []
    result: list[Any] = []

    @db.listener(patterns=["jobs:*"])
    def worker(data: bytes, **_: Any) -> None:
        received.append(data)
        if len(received) == 3:
            raise StopIteration

    runner = threading.Thread(target=lambda: result.append(worker()))
    runner.start()
    assert _wait_for(lambda: db.pubsub_numpat() == 1)
    for i in range(5):
        db.publish(f"jobs:{i}", str(i))
    runner.join(5)
    assert not runner.is_alive()
    assert result == [None]
    assert received == [b"0", b"1", b"2"]
    assert _wait_for(lambda: db.pubsub_numpat() == 0)
    assert worker.__name__ == "worker"


def test_sync_listener_propagates_errors_and_closes(db: Database) -> None:
    errors: list[BaseException] = []

    @db.listener("chan")
    def worker(data: bytes, **_: Any) -> None:
        raise KeyError(data)

    def run() -> None:
        try:
            worker()
        except KeyError as exc:
            errors.append(exc)

    runner = threading.Thread(target=run)
    runner.start()
    assert _wait_for(lambda: _subscribers(db, "chan") == 1)
    db.publish("chan", "x")
    runner.join(5)
    assert len(errors) == 1 and errors[0].args == (b"x",)
    assert _wait_for(lambda: _subscribers(db, "chan") == 0)


def test_listener_bad_arguments(db: Database) -> None:
    with pytest.raises(ListenerValueError, match="at least one channel or pattern") as info:
        db.listener()
    assert isinstance(info.value, ValueError) and isinstance(info.value, WalrusError)
    with pytest.raises(ListenerTypeError, match="channels"):
        db.listener(channels=5)
    with pytest.raises(ListenerTypeError, match="patterns"):
        db.listener(patterns=["ok", ""])
    with pytest.raises(ListenerTypeError, match="callable"):
        db.listener("chan")(42)


@pytest.mark.redis_only  # the memory:// engine (fakeredis) has no MONITOR
def test_stream_log_feeds_commands_and_releases_its_connection(db: Database) -> None:
    lines: list[bytes] = []
    pool = db.connection_pool
    db.ping()
    in_use_before = len(pool._in_use_connections)  # type: ignore[attr-defined]

    def callback(line: bytes) -> bool:
        lines.append(line)
        return b"stop-marker" not in line

    runner = threading.Thread(target=db.stream_log, args=(callback,))
    runner.start()
    assert _wait_for(lambda: len(pool._in_use_connections) == in_use_before + 1)  # type: ignore[attr-defined]
    time.sleep(0.1)
    db.set("logged-key", "v")
    db.get("stop-marker")
    runner.join(5)
    assert not runner.is_alive()
    assert any(b'"SET" "logged-key" "v"' in line for line in lines)
    assert b'"GET" "stop-marker"' in lines[-1]
    assert len(pool._in_use_connections) == in_use_before  # type: ignore[attr-defined]
    # The client still works, and no MONITOR client is left on the server.
    assert db.get("logged-key") == b"v"
    assert _wait_for(lambda: all("O" not in c["flags"] for c in db.client_list()))


@pytest.mark.redis_only  # the memory:// engine (fakeredis) has no MONITOR
def test_stream_log_stops_on_stop_iteration(db: Database) -> None:
    seen: list[bytes] = []

    def callback(line: bytes) -> None:  # returning None keeps listening
        seen.append(line)
        if len(seen) == 2:
            raise StopIteration

    runner = threading.Thread(target=db.stream_log, args=(callback,))
    runner.start()
    time.sleep(0.1)
    for i in range(4):
        db.set(f"k{i}", i)
        if not runner.is_alive():
            break
    runner.join(5)
    assert not runner.is_alive() and len(seen) == 2
    with pytest.raises(ListenerTypeError):
        db.stream_log("not callable")


def test_stream_log_on_memory_engine_is_a_clear_error() -> None:
    name = f"stream-log-{uuid.uuid4().hex}"
    db = Database.from_url(f"memory://{name}/0")
    called: list[Any] = []
    with pytest.raises(
        MonitorUnavailableError, match="not available on the memory:// engine"
    ) as info:
        db.stream_log(called.append)
    assert isinstance(info.value, WalrusError)
    assert called == []
    assert db.ping()  # the client is unharmed
    db.close()
    reset_memory_server(name)


def test_stream_log_refused_by_the_server_is_a_clear_error(redis_server: Any) -> None:
    if redis_server.version < (6, 0):
        pytest.skip("ACL users need Redis >= 6.0")
    if redis_server.process is None:
        pytest.skip("adds an ACL user: only on a server the suite started itself")
    # A real ACL user without +monitor: the server answers MONITOR with NOPERM.
    user = f"walrus-nomonitor-{uuid.uuid4().hex[:8]}"
    admin = Database(host=redis_server.host, port=redis_server.port)
    admin.acl_setuser(
        user, enabled=True, passwords=["+pw"], commands=["+@all", "-monitor"], keys=["*"]
    )
    limited = Database(host=redis_server.host, port=redis_server.port, username=user, password="pw")
    try:
        with pytest.raises(MonitorUnavailableError, match="refused MONITOR") as refused:
            limited.stream_log(lambda line: False)
        assert isinstance(refused.value, ResponseError)  # the server's refusal keeps its type
        assert limited.ping()  # the refused connection went back to the pool usable
        assert len(limited.connection_pool._in_use_connections) == 0  # type: ignore[attr-defined]
    finally:
        limited.close()
        admin.acl_deluser(user)
        admin.close()
