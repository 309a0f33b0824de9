"""Lock.acquire settles a lost reply itself (#25): the token is the Lock's own, so one GET
says whether the attempt took the lock. Nothing escapes as OutcomeUnknownError unless the
server stays unreachable for that GET too."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.support import fault_injectors as injectors
from tests.support.redis_server import RedisServer, start_redis_server
from walrus import Database
from walrus.retry import OutcomeUnknownError


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


def _reopen_when_dropped(proxy: injectors.ReplyDropper) -> threading.Thread:
    thread = threading.Thread(target=lambda: proxy.wait_dropped() and proxy.reopen())
    thread.start()
    return thread


@pytest.mark.parametrize("block", [False, True])
def test_a_lost_reply_of_a_taking_attempt_is_settled(
    server: RedisServer, proxy: injectors.ReplyDropper, block: bool
) -> None:
    db = Database.from_url(f"redis://127.0.0.1:{proxy.port}/0")
    lock = db.lock("job", ttl=10_000)
    db.ping()
    proxy.drop_reply_to(b"\r\nNX\r\n")
    reopener = _reopen_when_dropped(proxy)
    assert lock.acquire(block=block) is True  # the SET ran: the lock is ours
    reopener.join(timeout=10)
    assert lock.owned() and lock.release()
    db.close()


def test_a_lost_reply_when_another_holds_it_is_settled_as_refused(
    server: RedisServer, proxy: injectors.ReplyDropper
) -> None:
    db = Database.from_url(f"redis://127.0.0.1:{proxy.port}/0")
    other = db.lock("job", ttl=10_000)
    assert other.acquire(block=False)
    proxy.drop_reply_to(b"\r\nNX\r\n")
    reopener = _reopen_when_dropped(proxy)
    assert db.lock("job", ttl=10_000).acquire(block=False) is False
    reopener.join(timeout=10)
    assert other.owned()
    db.close()


def test_an_unreachable_server_keeps_the_outcome_unknown(
    server: RedisServer, proxy: injectors.ReplyDropper
) -> None:
    db = Database.from_url(f"redis://127.0.0.1:{proxy.port}/0", retries=1)
    lock = db.lock("job", ttl=10_000)
    db.ping()
    proxy.drop_reply_to(b"\r\nNX\r\n")  # and refuse connections until reopen()
    with pytest.raises(OutcomeUnknownError):
        lock.acquire(block=False)
    proxy.reopen()
    assert server.client().get("lock:job") is not None  # it ran; the caller was told "unknown"
    db.close()
