"""django_walrus rate limits and DRF throttles on a real 3-primary Redis Cluster: exact across
processes, client keys hash-tagged."""

from __future__ import annotations

import multiprocessing
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from django_walrus.ratelimit import is_ratelimited, rate_limited

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.backends("resp2", reason="a Redis Cluster of its own: the backend is not used"),
]


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@pytest.fixture
def on_cluster(settings: Any, cluster_db: Any, redis_cluster: Any) -> str:
    url = redis_cluster.url()
    settings.WALRUS = {"default": {"URL": url}}
    return str(url)


def _hammer(args: tuple[str, str, int]) -> list[int]:
    url, strategy, count = args
    from django.conf import settings as django_settings

    django_settings.WALRUS = {"default": {"URL": url}}
    from django_walrus.conf import reset_databases

    reset_databases()
    view = rate_limited("30/minute", group=f"cluster-{strategy}", strategy=strategy)(ok)
    return [view(RequestFactory().get("/")).status_code for _ in range(count)]


@pytest.mark.parametrize("strategy", ["moving-window", "fixed-window", "gcra"])
def test_exact_across_processes_on_a_cluster(
    on_cluster: str, cluster_db: Any, strategy: str
) -> None:
    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(_hammer, [(on_cluster, strategy, 12)] * 4)
    codes = [code for chunk in results for code in chunk]
    assert codes.count(200) == 30 and codes.count(429) == 18


def test_client_keys_are_hash_tagged(on_cluster: str, cluster_db: Any) -> None:
    factory = RequestFactory()
    by_user = factory.get("/?u=bob")
    assert [
        is_ratelimited(by_user, rate="2/minute", key="get:u", group="per-user") for _ in range(3)
    ] == [False, False, True]
    assert not is_ratelimited(factory.get("/"), rate="5/minute", key="ip", group="per-ip")
    assert cluster_db.llen("django_walrus:rl:per-user:{bob}") == 2
    assert cluster_db.llen("django_walrus:rl:per-ip:{127.0.0.1}") == 1


def _throttled(args: tuple[str, int]) -> list[int]:
    url, count = args
    from django.conf import settings as django_settings
    from rest_framework.test import APIClient

    django_settings.WALRUS = {"default": {"URL": url}}
    from django_walrus.conf import reset_databases

    reset_databases()
    client = APIClient()
    return [client.get("/anon/").status_code for _ in range(count)]


def test_drf_throttle_exact_across_processes_on_a_cluster(
    on_cluster: str, cluster_db: Any, settings: Any
) -> None:
    settings.ROOT_URLCONF = "tests.django.drf_urls"
    settings.REST_FRAMEWORK = {
        "DEFAULT_THROTTLE_RATES": {"anon": "20/minute"},
        "DEFAULT_AUTHENTICATION_CLASSES": [],
    }
    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(_throttled, [(on_cluster, 10)] * 4)
    codes = [code for chunk in results for code in chunk]
    assert codes.count(200) == 20 and codes.count(429) == 20
    assert cluster_db.llen("django_walrus:throttle:anon:{127.0.0.1}") == 20


def test_async_views_decide_natively_on_a_cluster(
    on_cluster: str, cluster_db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An async view on a cluster alias decides on the loop's AsyncClusterDatabase: no
    thread, the same tagged keys as the sync path."""
    import asyncio
    import threading

    import django_walrus.ratelimit as ratelimit_module
    from django_walrus.conf import reset_databases

    reset_databases()

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the async view took the sync decide() path")

    monkeypatch.setattr(ratelimit_module, "decide", refuse)
    threads: set[int] = set()

    @rate_limited("2/minute", key="get:u", group="async-user")
    async def view(request: HttpRequest) -> HttpResponse:
        threads.add(threading.get_ident())
        return HttpResponse("ok")

    async def run() -> list[int]:
        factory = RequestFactory()
        return [(await view(factory.get("/?u=ann"))).status_code for _ in range(3)]

    assert asyncio.run(run()) == [200, 200, 429]
    assert threads == {threading.get_ident()}
    assert cluster_db.llen("django_walrus:rl:async-user:{ann}") == 2
