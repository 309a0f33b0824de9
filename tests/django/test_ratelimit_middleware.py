"""RateLimitMiddleware: site-wide default and application limits from settings, through the
test client, on every backend."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from django_walrus import get_database

MIDDLEWARE = "django_walrus.middleware.RateLimitMiddleware"


@pytest.fixture
def site(settings: Any) -> Any:
    settings.ROOT_URLCONF = "tests.django.ratelimit_urls"
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    settings.WALRUS_RATELIMIT_DEFAULT = "2/minute"
    settings.WALRUS_RATELIMIT_EXEMPT_PATHS = ["/health"]
    return settings


def codes(client: Client, path: str, count: int) -> list[int]:
    return [client.get(path).status_code for _ in range(count)]


def test_default_limit_per_view_with_headers(site: Any) -> None:
    client = Client()
    first = client.get("/plain/")
    assert first["X-RateLimit-Limit"] == "2" and first["X-RateLimit-Remaining"] == "1"
    assert codes(client, "/plain/", 2) == [200, 429]
    assert codes(client, "/other/", 2) == [200, 200]  # a budget per view
    assert get_database().llen("django_walrus:rl:tests.django.ratelimit_urls.plain:127.0.0.1") == 2
    refused = client.get("/plain/", HTTP_ACCEPT="application/json")
    assert refused.json()["error"] == "rate_limited"


def test_views_with_their_own_limit_and_exempt_ones(site: Any) -> None:
    client = Client()
    assert codes(client, "/own/", 6) == [200] * 5 + [429]  # its own 5/minute, not the default
    assert codes(client, "/own-class/", 6) == [200] * 5 + [429]
    assert codes(client, "/free/", 5) == [200] * 5
    assert codes(client, "/health/", 5) == [200] * 5  # exempt path prefix


def test_application_limit_is_shared_by_every_view(site: Any) -> None:
    site.WALRUS_RATELIMIT_DEFAULT = None
    site.WALRUS_RATELIMIT_APPLICATION = "3/minute"
    client = Client()
    assert [client.get(p).status_code for p in ("/plain/", "/other/", "/own/", "/other/")] == [
        200,
        200,
        200,
        429,
    ]
    assert codes(client, "/free/", 2) == [200, 200]
    assert Client(REMOTE_ADDR="10.9.9.9").get("/plain/").status_code == 200


def test_default_key_setting(site: Any) -> None:
    site.WALRUS_RATELIMIT_DEFAULT_KEY = "header:x-api-key"
    a, b = Client(HTTP_X_API_KEY="a"), Client(HTTP_X_API_KEY="b")
    assert codes(a, "/plain/", 3) == [200, 200, 429]
    assert codes(b, "/plain/", 1) == [200]


@pytest.mark.backends("resp2", reason="an outage on a dead port: no backend takes part")
def test_redis_down_policy_applies(site: Any, free_port_url: str) -> None:
    site.WALRUS = {"default": {"URL": free_port_url, "OPTIONS": {"socket_connect_timeout": 0.2}}}
    client = Client()
    allowed = client.get("/plain/")
    assert allowed.status_code == 200 and "X-RateLimit-Limit" not in allowed
    site.WALRUS_RATELIMIT_ON_ERROR = "deny"
    assert client.get("/plain/").status_code == 429


def test_without_default_settings_nothing_is_limited(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.django.ratelimit_urls"
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    assert codes(Client(), "/plain/", 5) == [200] * 5
    assert not list(get_database().scan_iter("django_walrus:rl:*"))
