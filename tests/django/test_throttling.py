"""django_walrus.throttling: DRF throttles on the core limiter, through DRF's APIClient
on every backend; exact under concurrency where DRF's cache throttles are not."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from rest_framework.test import APIClient

from django_walrus import get_database
from tests.django import drf_urls

RATES = {"anon": "3/minute", "user": "2/minute;10/hour", "uploads": "1/minute"}


@pytest.fixture
def api(settings: Any) -> Any:
    settings.ROOT_URLCONF = "tests.django.drf_urls"
    settings.REST_FRAMEWORK = {
        "DEFAULT_THROTTLE_RATES": RATES,
        "DEFAULT_AUTHENTICATION_CLASSES": [],
    }
    return settings


def codes(client: APIClient, path: str, count: int) -> list[int]:
    return [client.get(path).status_code for _ in range(count)]


def test_anon_rate_from_drf_settings_and_wait(api: Any) -> None:
    client = APIClient()
    assert codes(client, "/anon/", 4) == [200, 200, 200, 429]
    refused = client.get("/anon/")
    assert 1 <= int(refused["Retry-After"]) <= 60  # DRF's Throttled from wait()
    assert "throttled" in refused.json()["detail"].lower()
    assert get_database().llen("django_walrus:throttle:anon:127.0.0.1") == 3
    assert codes(APIClient(REMOTE_ADDR="10.2.2.2"), "/anon/", 1) == [200]


def test_wait_is_the_retry_after_of_gcra(api: Any) -> None:
    api.WALRUS_RATELIMIT_STRATEGY = "gcra"
    client = APIClient()
    assert codes(client, "/anon/", 4) == [200, 200, 200, 429]
    # gcra: the next slot comes per/limit = 20 s later, not after a whole window
    assert 1 <= int(client.get("/anon/")["Retry-After"]) <= 20
    assert get_database().exists("django_walrus:throttle:anon#g:127.0.0.1")


@pytest.mark.django_db
def test_user_throttle_multi_rate_by_user(api: Any) -> None:
    from django.contrib.auth.models import User

    ann = User.objects.create_user("ann")
    client = APIClient()
    client.force_authenticate(ann)
    assert codes(client, "/users/", 3) == [200, 200, 429]
    assert codes(APIClient(), "/users/", 3) == [200, 200, 429]  # anonymous: by address
    db = get_database()
    assert db.llen(f"django_walrus:throttle:user:2/60:user:{ann.pk}") == 2
    assert db.llen("django_walrus:throttle:user:10/3600:ip:127.0.0.1") == 2
    # the anon throttle leaves authenticated users alone
    assert codes(client, "/anon/", 5) == [200] * 5


def test_scoped_throttle(api: Any) -> None:
    client = APIClient()
    assert codes(client, "/uploads/", 2) == [200, 429]
    assert codes(client, "/unscoped/", 5) == [200] * 5
    assert get_database().exists("django_walrus:throttle:uploads:ip:127.0.0.1")


def test_missing_scope_rate_names_the_setting(api: Any) -> None:
    api.REST_FRAMEWORK = {"DEFAULT_THROTTLE_RATES": {}, "DEFAULT_AUTHENTICATION_CLASSES": []}
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="DEFAULT_THROTTLE_RATES.*'uploads'"):
        APIClient().get("/uploads/")


@pytest.mark.backends("resp2", reason="system checks of settings: no Redis work")
def test_bad_rate_refused_by_the_system_check(api: Any) -> None:
    api.REST_FRAMEWORK = {
        "DEFAULT_THROTTLE_CLASSES": ["django_walrus.throttling.WalrusAnonRateThrottle"],
        "DEFAULT_THROTTLE_RATES": {"anon": "5/fortnight"},
    }
    with pytest.raises(SystemCheckError) as info:
        call_command("check")
    assert "django_walrus.E021" in str(info.value) and "DEFAULT_THROTTLE_RATES']['anon']" in str(
        info.value
    )


def _race(path: str, parties: int) -> list[int]:
    """``parties`` requests from one address in as many threads, started together."""
    start = threading.Barrier(parties)
    found: list[int] = []
    lock = threading.Lock()

    def one() -> None:
        start.wait(timeout=20)
        code = APIClient().get(path).status_code
        with lock:
            found.append(code)

    threads = [threading.Thread(target=one) for _ in range(parties)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return found


def test_drf_cache_throttle_lets_concurrent_requests_through_ours_does_not(api: Any) -> None:
    # DRF's AnonRateThrottle reads the history, then writes it: six requests that all read
    # before any writes are all allowed under a rate of 3/minute.
    drf_urls.DrfThrottle.cache.barrier = threading.Barrier(6)
    try:
        drf = _race("/drf-anon/", 6)
    finally:
        drf_urls.DrfThrottle.cache.barrier = None
    assert drf.count(200) == 6
    # ours decides and records in one script: exactly 3 of the same six
    ours = _race("/anon/", 6)
    assert ours.count(200) == 3 and ours.count(429) == 3


def test_exact_under_many_threads(api: Any) -> None:
    api.REST_FRAMEWORK = {
        "DEFAULT_THROTTLE_RATES": {**RATES, "anon": "17/minute"},
        "DEFAULT_AUTHENTICATION_CLASSES": [],
    }
    found: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        client = APIClient()
        for _ in range(6):
            code = client.get("/anon/").status_code
            with lock:
                found.append(code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert found.count(200) == 17 and found.count(429) == 31
