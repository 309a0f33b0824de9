"""@rate_limited on async views decides natively on redis.asyncio, in the event loop."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.asyncio import async_unsafe

import django_walrus.ratelimit as ratelimit_module
from django_walrus.ratelimit import rate_limited


def _group() -> str:
    return f"async-{uuid.uuid4().hex[:8]}"


def _no_sync_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the async view took the sync decide() path")

    monkeypatch.setattr(ratelimit_module, "decide", refuse)


def test_async_views_decide_in_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_sync_path(monkeypatch)
    threads: set[int] = set()

    @rate_limited(2, 60, group=_group())
    async def view(request: Any) -> HttpResponse:
        threads.add(threading.get_ident())
        return HttpResponse("ok")

    async def run() -> list[tuple[int, str | None]]:
        factory = RequestFactory(REMOTE_ADDR="10.9.9.9")
        responses = [await view(factory.get("/")) for _ in range(3)]
        return [(r.status_code, r.get("X-RateLimit-Remaining")) for r in responses]

    assert asyncio.run(run()) == [(200, "1"), (200, "0"), (429, "0")]
    assert threads == {threading.get_ident()}


def test_a_key_that_needs_the_orm_runs_in_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key function Django refuses to run in the loop (SynchronousOnlyOperation, as an ORM
    query raises there) is run in a worker thread; the decision stays native."""
    _no_sync_path(monkeypatch)
    seen: list[int] = []

    @async_unsafe
    def account_key(group: str, request: Any) -> str:
        seen.append(threading.get_ident())
        return "account-7"

    @rate_limited(1, 60, key=account_key, group=_group())
    async def view(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    async def run() -> list[int]:
        factory = RequestFactory()
        return [(await view(factory.get("/"))).status_code for _ in range(2)]

    assert asyncio.run(run()) == [200, 429]
    assert seen and threading.get_ident() not in seen  # the key ran in a worker thread


@pytest.mark.backends("resp2", reason="a dead port: a real server's address")
def test_outage_policy_applies_on_asyncio(settings: Any, free_port_url: str) -> None:
    settings.WALRUS = {"default": {"URL": free_port_url, "OPTIONS": {"socket_timeout": 0.5}}}

    @rate_limited(1, 60, group=_group())
    async def view(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    async def run() -> int:
        return (await view(RequestFactory().get("/"))).status_code

    settings.WALRUS_RATELIMIT_ON_ERROR = "allow"
    assert asyncio.run(run()) == 200
    settings.WALRUS_RATELIMIT_ON_ERROR = "deny"
    assert asyncio.run(run()) == 429
