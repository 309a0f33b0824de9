"""The options of django_walrus rate limits over the core limiter: multi-rates, callable rates
and costs, keys, strategies, is_ratelimited, the 429 response and headers, settings checks.
Views are called through RequestFactory, on every backend."""

from __future__ import annotations

import json
import multiprocessing
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import RequestFactory

from django_walrus import get_database
from django_walrus.ratelimit import RateLimited, is_ratelimited, rate_limited, registered_rates

factory = RequestFactory()


def ok(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def statuses(view: Any, count: int, **extra: Any) -> list[int]:
    return [view(factory.get("/", **extra)).status_code for _ in range(count)]


def test_multi_rates_report_the_tightest_and_refuse_on_any() -> None:
    view = rate_limited("2/minute;3/hour", group="multi")(ok)
    first = view(factory.get("/"))
    assert first["X-RateLimit-Limit"] == "2" and first["X-RateLimit-Remaining"] == "1"
    assert statuses(view, 2) == [200, 429]
    db = get_database()
    # one key per rate; the refused request spent nothing (all-or-nothing)
    assert db.llen("django_walrus:rl:multi:2/60:127.0.0.1") == 2
    assert db.llen("django_walrus:rl:multi:3/3600:127.0.0.1") == 2
    assert sorted(registered_rates()["multi"], key=lambda rate: rate.per)[1].limit == 3


def test_callable_rate_gets_group_and_request() -> None:
    seen: list[str] = []

    def rate(group: str, request: HttpRequest) -> str | None:
        seen.append(group)
        if request.GET.get("tier") == "free":
            return None  # not limited
        return "1/minute" if request.GET.get("tier") == "low" else "3/minute"

    view = rate_limited(rate=rate, group="tiers")(ok)
    assert [view(factory.get("/?tier=low")).status_code for _ in range(2)] == [200, 429]
    assert [view(factory.get("/?tier=high")).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert [view(factory.get("/?tier=free")).status_code for _ in range(5)] == [200] * 5
    assert set(seen) == {"tiers"}
    assert (
        get_database().exists(
            "django_walrus:rl:tiers:1/60:127.0.0.1", "django_walrus:rl:tiers:3/60:127.0.0.1"
        )
        == 2
    )


def test_callable_cost() -> None:
    view = rate_limited(
        "5/minute", group="cost", cost=lambda group, request: int(request.GET.get("n", "1"))
    )(ok)
    assert view(factory.get("/?n=3")).status_code == 200
    assert view(factory.get("/?n=3")).status_code == 429  # 3 + 3 > 5, nothing spent
    assert view(factory.get("/?n=2")).status_code == 200
    assert view(factory.get("/?n=9")).status_code == 429  # can never fit: refused without Redis
    assert get_database().llen("django_walrus:rl:cost:127.0.0.1") == 5


@pytest.mark.django_db
def test_keys_user_or_ip_get_post_header_and_callable() -> None:
    from django.contrib.auth.models import AnonymousUser, User

    ann = User.objects.create_user("ann")
    view = rate_limited("1/minute", key="user_or_ip", group="k-user")(ok)
    request = factory.get("/")
    request.user = ann
    assert view(request).status_code == 200
    anonymous = factory.get("/")
    anonymous.user = AnonymousUser()
    assert view(anonymous).status_code == 200
    db = get_database()
    assert (
        db.exists(f"django_walrus:rl:k-user:user:{ann.pk}", "django_walrus:rl:k-user:ip:127.0.0.1")
        == 2
    )

    by_get = rate_limited("1/minute", key="get:q", group="k-get")(ok)
    assert [by_get(factory.get("/?q=a")).status_code for _ in range(2)] == [200, 429]
    assert by_get(factory.get("/?q=b")).status_code == 200
    by_post = rate_limited("1/minute", key="post:username", group="k-post")(ok)
    assert [by_post(factory.post("/", {"username": "al"})).status_code for _ in range(2)] == [
        200,
        429,
    ]
    assert by_post(factory.post("/", {"username": "bo"})).status_code == 200
    by_header = rate_limited("1/minute", key="header:x-api-key", group="k-header")(ok)
    assert [by_header(factory.get("/", HTTP_X_API_KEY="k")).status_code for _ in range(2)] == [
        200,
        429,
    ]
    groups: list[str] = []

    def key(group: str, request: HttpRequest) -> str:
        groups.append(group)
        return "team-" + request.GET.get("team", "")

    by_callable = rate_limited("1/minute", key=key, group="k-call")(ok)
    assert [by_callable(factory.get("/?team=red")).status_code for _ in range(2)] == [200, 429]
    assert groups == ["k-call", "k-call"] and db.exists("django_walrus:rl:k-call:team-red")


def test_methods_as_one_string_and_block_false() -> None:
    view = rate_limited("1/minute", methods="POST", group="m", block=False)(
        lambda request: JsonResponse({"limited": request.limited})
    )
    assert [json.loads(view(factory.get("/")).content)["limited"] for _ in range(3)] == [False] * 3
    assert [json.loads(view(factory.post("/")).content)["limited"] for _ in range(2)] == [
        False,
        True,
    ]


@pytest.mark.parametrize(
    ("strategy", "marker"),
    [("fixed-window", "#f"), ("gcra", "#g"), ("sliding-window-counter", "#s")],
)
def test_strategy_per_decorator(strategy: str, marker: str) -> None:
    view = rate_limited("2/minute", group="strat", strategy=strategy)(ok)
    assert statuses(view, 3) == [200, 200, 429]
    assert get_database().exists(f"django_walrus:rl:strat{marker}:127.0.0.1")


def test_strategy_setting(settings: Any) -> None:
    settings.WALRUS_RATELIMIT_STRATEGY = "gcra"
    view = rate_limited("2/minute", group="strat-setting")(ok)
    assert statuses(view, 3) == [200, 200, 429]
    assert get_database().exists("django_walrus:rl:strat-setting#g:127.0.0.1")


def test_is_ratelimited_counts_looks_and_shares_the_group_budget() -> None:
    request = factory.post("/")
    assert is_ratelimited(request, rate="2/minute", key="ip", group="login") is False
    assert (
        is_ratelimited(request, rate="2/minute", key="ip", group="login", increment=False) is False
    )
    assert get_database().llen("django_walrus:rl:login:127.0.0.1") == 1  # looking records nothing
    assert is_ratelimited(request, rate="2/minute", key="ip", group="login") is False
    assert is_ratelimited(request, rate="2/minute", key="ip", group="login") is True
    assert request.limited is True  # type: ignore[attr-defined]
    # a decorator with the same group and rate spends the same budget
    assert rate_limited("2/minute", group="login")(ok)(factory.get("/")).status_code == 429
    assert (
        is_ratelimited(factory.get("/"), rate="2/minute", group="login", methods=["POST"]) is False
    )
    with pytest.raises(ValueError, match="group"):
        is_ratelimited(request, rate="2/minute")
    with pytest.raises(ValueError, match="cannot read rate"):
        is_ratelimited(request, rate="lots", group="x")


def test_default_429_is_html_for_browsers_and_json_when_asked() -> None:
    view = rate_limited("1/minute", group="pages")(ok)
    view(factory.get("/"))
    page = view(factory.get("/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8"))
    assert page.status_code == 429 and page["Content-Type"].startswith("text/html")
    assert b"<h1>Too many requests</h1>" in page.content and 1 <= int(page["Retry-After"]) <= 60
    api = view(factory.get("/", HTTP_ACCEPT="application/json"))
    assert api.status_code == 429 and api["Content-Type"] == "application/json"
    body = json.loads(api.content)
    assert body["error"] == "rate_limited" and body["limit"] == 1 and 1 <= body["retry_after"] <= 60
    assert api["X-RateLimit-Remaining"] == "0"


def too_many(request: HttpRequest, exception: RateLimited) -> HttpResponse:
    """A WALRUS_RATELIMIT_VIEW for the tests."""
    return HttpResponse(f"slow down ({exception.group}, {exception.limit})", status=429)


def test_ratelimit_view_setting(settings: Any) -> None:
    settings.WALRUS_RATELIMIT_VIEW = f"{__name__}.too_many"
    view = rate_limited("1/minute", group="custom")(ok)
    view(factory.get("/"))
    refused = view(factory.get("/"))
    assert refused.content == b"slow down (custom, 1)"
    assert refused.status_code == 429 and "Retry-After" in refused


@pytest.mark.parametrize(
    ("style", "present", "absent"),
    [
        ("ietf", ["RateLimit", "RateLimit-Policy"], ["X-RateLimit-Limit"]),
        ("both", ["RateLimit", "RateLimit-Policy", "X-RateLimit-Limit"], []),
        ("none", [], ["RateLimit", "X-RateLimit-Limit"]),
    ],
)
def test_header_styles(settings: Any, style: str, present: list[str], absent: list[str]) -> None:
    settings.WALRUS_RATELIMIT_HEADERS = style
    view = rate_limited("1/minute;10/hour", group=f"h-{style}")(ok)
    allowed = view(factory.get("/"))
    for name in present:
        assert name in allowed, name
    for name in absent:
        assert name not in allowed, name
    if "RateLimit" in present:
        assert allowed["RateLimit"].endswith(";r=0;t=60")
        assert (
            ";q=1;w=60" in allowed["RateLimit-Policy"]
            and ";q=10;w=3600" in allowed["RateLimit-Policy"]
        )
    refused = view(factory.get("/"))
    assert refused.status_code == 429 and "Retry-After" in refused  # whatever the style


def test_trusted_proxies_take_the_outermost_trusted_entry(settings: Any) -> None:
    settings.WALRUS_RATELIMIT_TRUSTED_PROXIES = 2
    view = rate_limited("1/minute", group="proxies")(ok)
    # client 5.5.5.5 -> proxy 6.6.6.6 -> proxy (REMOTE_ADDR); a forged entry on the left is ignored
    assert (
        view(factory.get("/", HTTP_X_FORWARDED_FOR="1.1.1.1, 5.5.5.5, 6.6.6.6")).status_code == 200
    )
    assert (
        view(factory.get("/", HTTP_X_FORWARDED_FOR="2.2.2.2, 5.5.5.5, 6.6.6.6")).status_code == 429
    )
    assert get_database().exists("django_walrus:rl:proxies:5.5.5.5")


@pytest.mark.backends("resp2", reason="argument checks at decoration: no Redis work")
def test_decoration_time_errors_name_the_option() -> None:
    with pytest.raises(ValueError, match="unknown rate limit strategy"):
        rate_limited("1/minute", strategy="leaky")
    with pytest.raises(ValueError, match="key must be"):
        rate_limited("1/minute", key="cookie:x")
    with pytest.raises(ValueError, match="cost 5 can never fit"):
        rate_limited("2/minute", cost=5)
    with pytest.raises(ValueError, match="methods must not be empty"):
        rate_limited("2/minute", methods=[])
    with pytest.raises(ValueError, match="per must be a positive, finite"):
        rate_limited(rate=[(5, float("inf"))])
    with pytest.raises(ValueError, match="rate_limited"):
        rate_limited("5/" + "9" * 400 + "d")
    with pytest.raises(ValueError, match="pass the rate once"):
        rate_limited(5, 60, rate="5/m")


@pytest.mark.backends("resp2", reason="system checks of settings: no Redis work")
@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("WALRUS_RATELIMIT_ON_ERROR", "ignore"),
        ("WALRUS_RATELIMIT_TRUSTED_PROXIES", -1),
        ("WALRUS_RATELIMIT_HEADERS", "x-rate"),
        ("WALRUS_RATELIMIT_STRATEGY", "token-bucket"),
        ("WALRUS_RATELIMIT_VIEW", "no.such.module.view"),
        ("WALRUS_RATELIMIT_DEFAULT", "100 per fortnight"),
        ("WALRUS_RATELIMIT_APPLICATION", [(5, float("nan"))]),
        ("WALRUS_RATELIMIT_DEFAULT_KEY", "cookie"),
        ("WALRUS_RATELIMIT_EXEMPT_PATHS", "/static/"),
        ("WALRUS_RATELIMIT_ALIAS", ""),
    ],
)
def test_bad_settings_are_refused_by_the_system_check(
    settings: Any, setting: str, value: Any
) -> None:
    setattr(settings, setting, value)
    with pytest.raises(SystemCheckError) as info:
        call_command("check")
    assert "django_walrus.E020" in str(info.value) and f"settings.{setting}" in str(info.value)


def _hammer(args: tuple[str, dict[str, Any], int]) -> list[int]:
    url, options, count = args
    from django.conf import settings as django_settings

    django_settings.WALRUS = {"default": {"URL": url, "OPTIONS": options}}
    from django_walrus.conf import reset_databases

    reset_databases()
    view = rate_limited("25/minute;40/hour", group="procs", strategy="gcra")(ok)
    return [view(RequestFactory().get("/")).status_code for _ in range(count)]


@pytest.mark.redis_only(reason="four processes share the data: memory:// is per process")
@pytest.mark.parametrize("strategy_note", ["gcra"])
def test_exact_across_processes(
    walrus_url: str, connection_options: dict[str, Any], strategy_note: str
) -> None:
    context = multiprocessing.get_context("fork")
    with context.Pool(4) as pool:
        results = pool.map(_hammer, [(walrus_url, connection_options, 15)] * 4)
    codes = [code for chunk in results for code in chunk]
    assert codes.count(200) == 25 and codes.count(429) == 35
