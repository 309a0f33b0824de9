"""@rate_limited on Django views, through the test client, on every backend."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory

from django_walrus import get_database
from django_walrus.ratelimit import rate_limited


def test_limit_then_429_with_headers() -> None:
    client = Client()
    for remaining in (2, 1, 0):
        response = client.get("/limited/")
        assert response.status_code == 200
        assert response["X-RateLimit-Limit"] == "3"
        assert response["X-RateLimit-Remaining"] == str(remaining)
        # Seconds until the window frees a slot: within the 60 s window.
        assert 1 <= int(response["X-RateLimit-Reset"]) <= 60
    refused = client.get("/limited/")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert 1 <= int(refused["X-RateLimit-Reset"]) <= 60
    assert refused["X-RateLimit-Remaining"] == "0"
    assert b"Too many requests" in refused.content


def test_clients_are_keyed_by_ip() -> None:
    a, b = Client(REMOTE_ADDR="10.0.0.1"), Client(REMOTE_ADDR="10.0.0.2")
    for _ in range(3):
        assert a.get("/limited/").status_code == 200
    assert a.get("/limited/").status_code == 429
    assert b.get("/limited/").status_code == 200


def test_forwarded_for_ignored_unless_trusted(settings: Any) -> None:
    client = Client()
    for i in range(3):
        assert client.get("/limited/", HTTP_X_FORWARDED_FOR=f"1.1.1.{i}").status_code == 200
    assert client.get("/limited/", HTTP_X_FORWARDED_FOR="9.9.9.9").status_code == 429
    settings.WALRUS_RATELIMIT_TRUSTED_PROXIES = 1
    assert client.get("/limited/", HTTP_X_FORWARDED_FOR="9.9.9.9").status_code == 200


def test_methods_and_user_key() -> None:
    client = Client()
    for _ in range(5):
        assert client.get("/post-only/").status_code == 200
    assert client.post("/post-only/").status_code == 200
    assert client.post("/post-only/").status_code == 200
    assert client.post("/post-only/").status_code == 429


@pytest.mark.django_db
def test_users_behind_one_ip_get_their_own_budget() -> None:
    from django.contrib.auth.models import User

    ann, bob = User.objects.create_user("ann"), User.objects.create_user("bob")
    first, second = Client(REMOTE_ADDR="10.1.1.1"), Client(REMOTE_ADDR="10.1.1.1")
    first.force_login(ann)
    second.force_login(bob)
    assert [first.post("/post-only/").status_code for _ in range(3)] == [200, 200, 429]
    assert [second.post("/post-only/").status_code for _ in range(3)] == [200, 200, 429]
    # Anonymous clients fall back to their address: still a budget of their own.
    assert Client(REMOTE_ADDR="10.1.1.1").post("/post-only/").status_code == 200
    keys = sorted(k.decode() for k in get_database().scan_iter("django_walrus:rl:*"))
    assert keys == [
        "django_walrus:rl:tests.support.django_test_urls.post_only:ip:10.1.1.1",
        f"django_walrus:rl:tests.support.django_test_urls.post_only:user:{ann.pk}",
        f"django_walrus:rl:tests.support.django_test_urls.post_only:user:{bob.pk}",
    ]


def test_callable_key() -> None:
    client = Client()
    assert [client.get("/by-team/?team=red").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/by-team/?team=blue").status_code == 200
    assert get_database().exists("django_walrus:rl:tests.support.django_test_urls.by_team:team:red")


def test_non_blocking_sets_request_limited() -> None:
    client = Client()
    assert client.get("/soft/").json() == {"limited": False}
    assert client.get("/soft/").json() == {"limited": True}


def test_group_shares_budget() -> None:
    client = Client()
    assert client.get("/shared-a/").status_code == 200
    assert client.get("/shared-b/").status_code == 200
    assert client.get("/shared-a/").status_code == 429
    assert client.get("/shared-b/").status_code == 429


def test_class_view_with_header_key() -> None:
    client = Client()
    for _ in range(2):
        assert client.get("/api/", HTTP_X_API_KEY="k1").status_code == 200
    assert client.get("/api/", HTTP_X_API_KEY="k1").status_code == 429
    assert client.get("/api/", HTTP_X_API_KEY="k2").status_code == 200


def test_async_view() -> None:
    from asgiref.sync import async_to_sync
    from django.test import AsyncClient

    client = AsyncClient()

    async def run() -> list[int]:
        return [(await client.get("/async/")).status_code for _ in range(3)]

    assert async_to_sync(run)() == [200, 200, 429]


def test_exact_under_concurrency() -> None:
    @rate_limited(7, 60, group="concurrency")
    def view(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    factory = RequestFactory()
    codes: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(5):
            code = view(factory.get("/x")).status_code
            with lock:
                codes.append(code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes.count(200) == 7
    assert codes.count(429) == 33


@pytest.mark.backends("resp2", reason="an outage on a dead port: no backend takes part")
def test_redis_down_policies(settings: Any, free_port_url: str) -> None:
    settings.WALRUS = {
        "default": {"URL": free_port_url, "OPTIONS": {"socket_connect_timeout": 0.2}}
    }

    @rate_limited(1, 60, group="down")
    def view(request: Any) -> HttpResponse:
        return HttpResponse("ok")

    factory = RequestFactory()
    assert view(factory.get("/")).status_code == 200
    settings.WALRUS_RATELIMIT_ON_ERROR = "deny"
    assert view(factory.get("/")).status_code == 429


@pytest.mark.backends("resp2", reason="argument checks at decoration: no Redis work")
def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="positive int"):
        rate_limited(0, 60)
    with pytest.raises(ValueError, match="positive number of seconds"):
        rate_limited(1, -1)
    with pytest.raises(ValueError, match="key must be"):
        rate_limited(1, 60, key="cookie")
    with pytest.raises(ValueError):
        rate_limited("lots/minute")
