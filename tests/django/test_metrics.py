"""django_walrus.metrics.metrics_view scraped through Django's test client."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from django_walrus import get_database

pytestmark = pytest.mark.django_db
URL = "/walrus-metrics/"


def _samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


@pytest.fixture(autouse=True)
def _uninstall_metrics() -> Any:
    """The views install the collector in the default registry: remove it after each test,
    so that no other test of this process runs with a subscriber."""
    from walrus.prometheus import uninstall

    yield
    uninstall()


def test_only_staff_or_the_token_may_scrape(settings: Any) -> None:
    settings.WALRUS_METRICS_TOKEN = "s3cret"
    assert Client().get(URL).status_code == 403
    assert Client().get(URL, HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    plain = Client()
    plain.force_login(User.objects.create_user("u", "u@example.com", "pw", is_staff=False))
    assert plain.get(URL).status_code == 403
    staff = Client()
    staff.force_login(User.objects.create_user("s", "s@example.com", "pw", is_staff=True))
    assert staff.get(URL).status_code == 200
    response = Client().get(URL, HTTP_AUTHORIZATION="Bearer s3cret")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    assert Client().post(URL, HTTP_AUTHORIZATION="Bearer s3cret").status_code == 405


def test_scrape_shows_what_the_site_did(settings: Any) -> None:
    settings.WALRUS_METRICS_TOKEN = "t"
    client = Client()
    assert client.get(URL, HTTP_AUTHORIZATION="Bearer t").status_code == 200  # counting starts
    before = _samples(client.get(URL, HTTP_AUTHORIZATION="Bearer t").content)
    db = get_database()
    cache = db.cache("site", signing_key="k")
    cache.get("x")
    cache.set("x", 1)
    cache.get("x")
    for _ in range(4):
        client.get("/limited/")  # @rate_limited(3, 60): 3 allowed, 1 refused
    after = _samples(client.get(URL, HTTP_AUTHORIZATION="Bearer t").content)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    assert delta("walrus_cache_requests_total", cache="site", result="hit") == 1
    assert delta("walrus_cache_requests_total", cache="site", result="miss") == 1
    refused = [
        k
        for k in after
        if k[0] == "walrus_rate_limit_decisions_total" and ("decision", "refused") in k[1]
    ]
    assert refused and sum(after[k] - before.get(k, 0.0) for k in refused) == 1


def test_django_cache_reports_hits_misses_and_errors(
    walrus_url: str, location_options: dict[str, Any], free_port_url: str
) -> None:
    from django_walrus.cache import WalrusCache
    from walrus.events import Event, subscribe

    seen: list[Event] = []
    unsubscribe = subscribe(seen.append)
    try:
        cache = WalrusCache(walrus_url, {"KEY_PREFIX": "app", "OPTIONS": location_options})
        cache.get("a")
        cache.set("a", 1)
        cache.get("a")
        cache.get_many(["a", "b"])
        get_database().set("app:1:forged", b"\x00tampered")
        cache.get("forged")
        down = WalrusCache(
            free_port_url, {"OPTIONS": {"IGNORE_EXCEPTIONS": True, "SOCKET_TIMEOUT": 0.2}}
        )
        assert down.get("x", "dflt") == "dflt"
    finally:
        unsubscribe()
    assert [(e.name, e.outcome) for e in seen if e.kind == "cache"] == [
        ("django:app", "miss"),
        ("django:app", "hit"),
        ("django:app", "hit"),
        ("django:app", "miss"),
        ("django:app", "error"),
        ("django", "error"),
    ]
