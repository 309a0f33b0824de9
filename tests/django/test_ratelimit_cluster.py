"""django_walrus rate limits on a real 3-primary Redis Cluster: exact across processes, client
keys hash-tagged."""

from __future__ import annotations

import multiprocessing
from typing import Any

import cluster.conftest as cluster_fixtures
import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from django_walrus.ratelimit import is_ratelimited, rate_limited

pytestmark = pytest.mark.cluster

cluster_db = cluster_fixtures.cluster_db


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
def test_exact_across_processes_on_a_cluster(on_cluster: str, cluster_db: Any, strategy: str) -> None:
    with multiprocessing.get_context("fork").Pool(4) as pool:
        results = pool.map(_hammer, [(on_cluster, strategy, 12)] * 4)
    codes = [code for chunk in results for code in chunk]
    assert codes.count(200) == 30 and codes.count(429) == 18


def test_client_keys_are_hash_tagged(on_cluster: str, cluster_db: Any) -> None:
    factory = RequestFactory()
    by_user = factory.get("/?u=bob")
    assert [is_ratelimited(by_user, rate="2/minute", key="get:u", group="per-user") for _ in range(3)] == [False, False, True]
    assert not is_ratelimited(factory.get("/"), rate="5/minute", key="ip", group="per-ip")
    assert cluster_db.llen("django_walrus:rl:per-user:{bob}") == 2
    assert cluster_db.llen("django_walrus:rl:per-ip:{127.0.0.1}") == 1
