"""``manage.py walrus_ratelimit show|reset`` through call_command, on every backend."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from django_walrus import get_database


def run(*args: str) -> str:
    out = StringIO()
    call_command("walrus_ratelimit", *args, stdout=out)
    return out.getvalue()


def test_show_reads_the_decorator_rate_and_records_nothing() -> None:
    client = Client()
    client.get("/limited/")
    client.get("/limited/")
    shown = run("show", "tests.support.django_test_urls.limited", "127.0.0.1")
    assert shown.startswith(
        "tests.support.django_test_urls.limited  3/60s  remaining 1/3  resets in "
    )
    assert (
        get_database().llen("django_walrus:rl:tests.support.django_test_urls.limited:127.0.0.1")
        == 2
    )
    assert run("show", "shared", "10.0.0.1").startswith("shared  2/60s  remaining 2/2")


def test_reset_makes_the_budget_whole() -> None:
    client = Client()
    assert [client.get("/limited/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert "1 key(s) deleted" in run("reset", "tests.support.django_test_urls.limited", "127.0.0.1")
    assert client.get("/limited/").status_code == 200


def test_rate_option_multi_rates_and_strategy() -> None:
    from django.test import RequestFactory

    from django_walrus.ratelimit import is_ratelimited

    request = RequestFactory().get("/")
    for _ in range(2):
        is_ratelimited(request, rate="5/m;100/h", group="cmd-multi", strategy="gcra")
    shown = run(
        "show", "cmd-multi", "127.0.0.1", "--rate", "5/m;100/h", "--strategy", "gcra"
    ).splitlines()
    assert shown[0].startswith("cmd-multi  5/60s  remaining 3/5") and shown[0].endswith("(gcra)")
    assert shown[1].startswith("cmd-multi  100/3600s  remaining 98/100")
    assert "2 key(s) deleted" in run("reset", "cmd-multi", "127.0.0.1", "--rate", "5/m;100/h")


def test_middleware_groups_and_throttle_scopes(settings: Any) -> None:
    settings.WALRUS_RATELIMIT_APPLICATION = "50/hour"
    settings.REST_FRAMEWORK = {"DEFAULT_THROTTLE_RATES": {"anon": "7/minute"}}
    assert run("show", "__application__", "1.2.3.4").startswith(
        "__application__  50/3600s  remaining 50/50"
    )
    assert run("show", "anon", "1.2.3.4", "--throttle").startswith("anon  7/60s  remaining 7/7")


def test_errors_name_what_is_missing() -> None:
    with pytest.raises(CommandError, match="no rate is known for the group 'nowhere'.*--rate"):
        run("show", "nowhere", "1.2.3.4")
    with pytest.raises(CommandError, match="cannot read rate"):
        run("show", "nowhere", "1.2.3.4", "--rate", "5/fortnight")
    with pytest.raises(CommandError, match="unknown rate limit strategy"):
        run("show", "nowhere", "1.2.3.4", "--rate", "5/m", "--strategy", "leaky")
    with pytest.raises(CommandError, match="no rate for the scope 'burst'"):
        run("show", "burst", "1.2.3.4", "--throttle")
