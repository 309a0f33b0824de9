"""@w.rate_limited on Flask views, through the test client, against the real server."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from typing import Any

import pytest
from flask import Blueprint, Flask, jsonify, request
from flask.views import MethodView
from werkzeug.exceptions import TooManyRequests

from flask_walrus import RateLimitExceeded, RateRule, Walrus, forwarded_address
from walrus.roundtrips import RoundTripCounter


def _limited_app(make_app: Any, rate: Any = "3/minute", **config: Any) -> tuple[Flask, Walrus]:
    app, w = make_app(**config)

    @app.get("/limited")
    @w.rate_limited(rate)
    def limited() -> str:
        return "ok"

    @app.get("/free")
    def free() -> str:
        return "free"

    return app, w


def test_headers_then_429_with_body_and_retry_after(make_app: Any) -> None:
    app, _ = _limited_app(make_app)
    client = app.test_client()
    for remaining in (2, 1, 0):
        response = client.get("/limited")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "3"
        assert response.headers["X-RateLimit-Remaining"] == str(remaining)
        assert 59 <= int(response.headers["X-RateLimit-Reset"]) <= 60
        assert "Retry-After" not in response.headers
    refused = client.get("/limited")
    assert refused.status_code == 429
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert b"Rate limit of 3 per 60 seconds exceeded" in refused.data
    assert client.get("/free").status_code == 200
    assert "X-RateLimit-Limit" not in client.get("/free").headers


def test_refusal_raises_too_many_requests_subclass(make_app: Any) -> None:
    app, _ = _limited_app(make_app, "1/minute")
    seen: list[RateLimitExceeded] = []

    @app.errorhandler(RateLimitExceeded)
    def on_limit(exc: RateLimitExceeded) -> Any:
        seen.append(exc)
        return jsonify(error="slow down", retry_after=exc.retry_after), 429

    client = app.test_client()
    assert client.get("/limited").status_code == 200
    refused = client.get("/limited")
    assert refused.status_code == 429
    assert refused.json["error"] == "slow down"
    assert refused.headers["X-RateLimit-Limit"] == "1"  # added by the after_request hook
    exc = seen[0]
    assert isinstance(exc, TooManyRequests) and exc.code == 429
    assert isinstance(exc.rule, RateRule) and (exc.rule.limit, exc.rule.per) == (1, 60.0)
    assert exc.limit is exc.rule  # Flask-Limiter's attribute name, kept for ported handlers
    assert 0 < exc.retry_after <= 60
    assert ("Retry-After", str(int(-(-exc.retry_after // 1)))) in exc.get_headers()


def test_int_limit_with_per(make_app: Any) -> None:
    app, w = make_app()

    @app.get("/x")
    @w.rate_limited(2, 30)
    def x() -> str:
        return "x"

    client = app.test_client()
    assert [client.get("/x").status_code for _ in range(3)] == [200, 200, 429]
    assert int(client.get("/x").headers["Retry-After"]) <= 30


def test_clients_are_keyed_by_address(make_app: Any) -> None:
    app, _ = _limited_app(make_app, "1/minute")
    client = app.test_client()
    assert client.get("/limited", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200
    assert client.get("/limited", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 429
    assert client.get("/limited", environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200


def test_forwarded_for_is_ignored_unless_trusted(make_app: Any) -> None:
    app, _ = _limited_app(make_app, "1/minute")
    client = app.test_client()
    for forged in ("1.1.1.1", "2.2.2.2"):
        status = client.get("/limited", headers={"X-Forwarded-For": forged}).status_code
    assert status == 429  # both came from 127.0.0.1


def test_trusted_proxies_pick_the_entry_the_proxy_added(make_app: Any) -> None:
    app, _ = _limited_app(make_app, "1/minute", WALRUS_RATELIMIT_TRUSTED_PROXIES=1)
    client = app.test_client()
    # the client forges a first entry; the trusted proxy appends the real address last
    assert (
        client.get("/limited", headers={"X-Forwarded-For": "6.6.6.6, 9.9.9.1"}).status_code == 200
    )
    assert (
        client.get("/limited", headers={"X-Forwarded-For": "7.7.7.7, 9.9.9.1"}).status_code == 429
    )
    assert client.get("/limited", headers={"X-Forwarded-For": "9.9.9.2"}).status_code == 200


def test_forwarded_address_rules() -> None:
    assert forwarded_address("10.0.0.9", "1.1.1.1, 2.2.2.2", 0) == "10.0.0.9"
    assert forwarded_address("10.0.0.9", "1.1.1.1, 2.2.2.2", 1) == "2.2.2.2"
    assert forwarded_address("10.0.0.9", "1.1.1.1, 2.2.2.2", 2) == "1.1.1.1"
    assert forwarded_address("10.0.0.9", "2.2.2.2", 2) == "10.0.0.9"  # too few entries
    assert forwarded_address(None, None, 0) == "unknown"


def test_custom_key_func(make_app: Any) -> None:
    app, w = make_app()

    @app.get("/api")
    @w.rate_limited("1/minute", key_func=lambda: request.headers.get("X-Api-Key", "anon"))
    def api() -> str:
        return "api"

    client = app.test_client()
    assert client.get("/api", headers={"X-Api-Key": "a"}).status_code == 200
    assert client.get("/api", headers={"X-Api-Key": "a"}).status_code == 429
    assert client.get("/api", headers={"X-Api-Key": "b"}).status_code == 200


def test_extension_wide_key_func(make_app: Any) -> None:
    app, w = make_app(ext=Walrus(key_func=lambda: request.args.get("user", "anon")))

    @app.get("/u")
    @w.rate_limited("1/minute")
    def u() -> str:
        return "u"

    client = app.test_client()
    assert client.get("/u?user=a").status_code == 200
    assert client.get("/u?user=a").status_code == 429
    assert client.get("/u?user=b").status_code == 200


def test_stacked_limits_decided_in_one_call(make_app: Any, raw_client: Any) -> None:
    app, w = make_app()

    @app.get("/s")
    @w.rate_limited("5/minute")
    @w.rate_limited("2/10s")
    def s() -> str:
        return "s"

    client = app.test_client()
    client.get("/s")  # first request: plan built, script loaded
    with RoundTripCounter() as rt:
        response = client.get("/s")
    assert rt.count == 1
    assert response.headers["X-RateLimit-Limit"] == "2"  # the tightest limit is reported
    refused = client.get("/s")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 10
    # all-or-nothing: the refusal spent nothing of the 5/minute budget
    keys = sorted(k.decode() for k in raw_client.keys("flask_walrus:rl:*"))
    assert keys == ["flask_walrus:rl:s:2/10s:127.0.0.1", "flask_walrus:rl:s:5/1m:127.0.0.1"]
    assert raw_client.llen("flask_walrus:rl:s:5/1m:127.0.0.1") == 2


def test_list_of_limits_and_semicolon_string(make_app: Any) -> None:
    app, w = make_app()

    @app.get("/a")
    @w.rate_limited(["10/minute", "1/hour"])
    def a() -> str:
        return "a"

    @app.get("/b")
    @w.rate_limited("10/minute; 1/day")
    def b() -> str:
        return "b"

    client = app.test_client()
    assert [client.get("/a").status_code for _ in range(2)] == [200, 429]
    assert [client.get("/b").status_code for _ in range(2)] == [200, 429]
    assert int(client.get("/b").headers["Retry-After"]) > 86000


def test_per_method_limits(make_app: Any) -> None:
    app, w = make_app()

    @app.route("/form", methods=["GET", "POST"])
    @w.rate_limited("1/minute", methods=["post"])
    def form() -> str:
        return request.method

    client = app.test_client()
    assert [client.get("/form").status_code for _ in range(3)] == [200, 200, 200]
    assert [client.post("/form").status_code for _ in range(2)] == [200, 429]


def test_exempt_when(make_app: Any) -> None:
    app, w = make_app()

    @app.get("/e")
    @w.rate_limited("1/minute", exempt_when=lambda: request.headers.get("X-Admin") == "1")
    def e() -> str:
        return "e"

    client = app.test_client()
    assert client.get("/e").status_code == 200
    assert client.get("/e").status_code == 429
    admin = client.get("/e", headers={"X-Admin": "1"})
    assert admin.status_code == 200 and "X-RateLimit-Limit" not in admin.headers


def test_shared_scope_across_views(make_app: Any) -> None:
    app, w = make_app()

    @app.get("/login")
    @w.rate_limited("2/minute", scope="auth")
    def login() -> str:
        return "login"

    @app.get("/reset")
    @w.rate_limited("2/minute", group="auth")
    def reset() -> str:
        return "reset"

    client = app.test_client()
    assert client.get("/login").status_code == 200
    assert client.get("/reset").status_code == 200
    assert client.get("/login").status_code == 429
    assert client.get("/reset").status_code == 429


def test_cost(make_app: Any) -> None:
    app, w = make_app()

    @app.get("/heavy")
    @w.rate_limited("5/minute", cost=2, scope="quota")
    def heavy() -> str:
        return "heavy"

    @app.get("/light")
    @w.rate_limited("5/minute", scope="quota")
    def light() -> str:
        return "light"

    client = app.test_client()
    assert client.get("/heavy").headers["X-RateLimit-Remaining"] == "3"
    assert client.get("/heavy").headers["X-RateLimit-Remaining"] == "1"
    assert client.get("/heavy").status_code == 429  # 2 do not fit in 1
    assert client.get("/light").status_code == 200
    assert client.get("/light").status_code == 429


def test_callable_cost_too_large_is_refused(make_app: Any) -> None:
    app, w = make_app()

    @app.post("/upload")
    @w.rate_limited("3/minute", cost=lambda: int(request.args.get("n", "1")))
    def upload() -> str:
        return "up"

    client = app.test_client()
    assert client.post("/upload?n=2").status_code == 200
    too_big = client.post("/upload?n=4")
    assert too_big.status_code == 429 and b"cost 4" in too_big.data
    assert client.post("/upload?n=1").status_code == 200


def test_default_limits_apply_to_every_view_not_exempt(make_app: Any) -> None:
    app, w = make_app(WALRUS_RATELIMIT_DEFAULT="2/minute")

    @app.get("/plain")
    def plain() -> str:
        return "plain"

    @app.get("/other")
    def other() -> str:
        return "other"

    @app.get("/open")
    @w.exempt
    def open_view() -> str:
        return "open"

    @app.get("/own")
    @w.rate_limited("3/minute")
    def own() -> str:
        return "own"

    @app.get("/both")
    @w.rate_limited("3/minute", override_defaults=False)
    def both() -> str:
        return "both"

    client = app.test_client()
    assert [client.get("/plain").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/other").status_code == 200  # each view has its own default budget
    assert [client.get("/open").status_code for _ in range(5)] == [200] * 5
    assert [client.get("/own").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert [client.get("/both").status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/missing").status_code == 404


def test_default_exempt_when(make_app: Any) -> None:
    app, _ = make_app(
        ext=Walrus(default_exempt_when=lambda: request.headers.get("X-Internal") == "yes"),
        WALRUS_RATELIMIT_DEFAULT="1/minute",
    )

    @app.get("/p")
    def p() -> str:
        return "p"

    client = app.test_client()
    assert client.get("/p").status_code == 200
    assert client.get("/p").status_code == 429
    assert client.get("/p", headers={"X-Internal": "yes"}).status_code == 200


def test_concurrent_requests_exactly_limit_pass(make_app: Any) -> None:
    app, _ = _limited_app(make_app, "25/minute")
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def worker() -> None:
        client = app.test_client()
        barrier.wait()
        for _ in range(10):
            code = client.get("/limited").status_code
            with lock:
                statuses.append(code)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == 25
    assert statuses.count(429) == 35


def test_blueprint_views_and_blueprint_limits(make_app: Any) -> None:
    app, w = make_app(WALRUS_RATELIMIT_DEFAULT="100/minute")
    api = Blueprint("api", __name__, url_prefix="/api")
    public = Blueprint("public", __name__, url_prefix="/public")
    w.rate_limited("2/minute")(api)
    w.exempt(public)

    @api.get("/one")
    def one() -> str:
        return "one"

    @api.get("/two")
    @w.rate_limited("1/minute")
    def two() -> str:
        return "two"

    @public.get("/page")
    def page() -> str:
        return "page"

    app.register_blueprint(api)
    app.register_blueprint(public)
    client = app.test_client()
    ones = [client.get("/api/one") for _ in range(3)]
    assert [r.status_code for r in ones] == [200, 200, 429]
    assert ones[0].headers["X-RateLimit-Limit"] == "2"  # blueprint limit replaces the default
    assert [client.get("/api/two").status_code for _ in range(2)] == [200, 429]
    page_response = client.get("/public/page")
    assert page_response.status_code == 200 and "X-RateLimit-Limit" not in page_response.headers


def test_method_view(make_app: Any) -> None:
    app, w = make_app()

    @w.rate_limited("3/minute")
    class Items(MethodView):
        def get(self) -> str:
            return "list"

        @w.rate_limited("1/minute")
        def post(self) -> str:
            return "created"

    class Things(MethodView):
        decorators = [w.rate_limited("1/minute")]

        def get(self) -> str:
            return "things"

    app.add_url_rule("/items", view_func=Items.as_view("items"))
    app.add_url_rule("/things", view_func=Things.as_view("things"))
    client = app.test_client()
    assert [client.post("/items").status_code for _ in range(2)] == [200, 429]
    # the class limit covers GET; POST used one of its 3 slots (same scope and rate)
    assert [client.get("/items").status_code for _ in range(3)] == [200, 200, 429]
    assert [client.get("/things").status_code for _ in range(2)] == [200, 429]


def test_async_view(make_app: Any) -> None:
    pytest.importorskip("asgiref")
    app, w = make_app()

    @app.get("/async")
    @w.rate_limited("1/minute")
    async def async_view() -> str:
        await asyncio.sleep(0)
        return "async"

    client = app.test_client()
    first = client.get("/async")
    assert first.status_code == 200 and first.data == b"async"
    assert first.headers["X-RateLimit-Remaining"] == "0"
    assert client.get("/async").status_code == 429


def test_ietf_headers(make_app: Any) -> None:
    app, w = make_app(WALRUS_RATELIMIT_HEADERS="ietf")

    @app.get("/i")
    @w.rate_limited(["2/minute", "10/hour"], scope="search")
    def i() -> str:
        return "i"

    client = app.test_client()
    response = client.get("/i")
    assert "X-RateLimit-Limit" not in response.headers
    assert response.headers["RateLimit-Policy"] == (
        '"search-2-per-60s";q=2;w=60, "search-10-per-3600s";q=10;w=3600'
    )
    assert response.headers["RateLimit"].startswith('"search-2-per-60s";r=1;t=')
    client.get("/i")
    refused = client.get("/i")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1


def test_no_headers_and_custom_names(make_app: Any) -> None:
    app, _ = _limited_app(make_app, "1/minute", WALRUS_RATELIMIT_HEADERS="none")
    client = app.test_client()
    ok = client.get("/limited")
    assert not [h for h in ok.headers.keys() if "ratelimit" in h.lower()]
    assert client.get("/limited").status_code == 429

    app2, _ = _limited_app(
        make_app, "1/minute",
        WALRUS_KEY_PREFIX="other",
        WALRUS_RATELIMIT_HEADER_LIMIT="X-Quota",
        WALRUS_RATELIMIT_HEADER_REMAINING="X-Quota-Left",
        WALRUS_RATELIMIT_HEADER_RESET="X-Quota-Reset",
    )  # fmt: skip
    response = app2.test_client().get("/limited")
    assert response.headers["X-Quota"] == "1" and response.headers["X-Quota-Left"] == "0"
    assert "X-Quota-Reset" in response.headers


def test_custom_retry_after_header_name(make_app: Any) -> None:
    app, _ = _limited_app(make_app, "1/minute", WALRUS_RATELIMIT_HEADER_RETRY_AFTER="X-Retry-In")
    seen: list[RateLimitExceeded] = []

    @app.errorhandler(RateLimitExceeded)
    def on_limit(exc: RateLimitExceeded) -> Any:
        seen.append(exc)
        return exc

    client = app.test_client()
    allowed = client.get("/limited")
    assert allowed.status_code == 200 and "X-Retry-In" not in allowed.headers
    refused = client.get("/limited")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["X-Retry-In"]) <= 60
    assert "Retry-After" not in refused.headers
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert dict(seen[0].get_headers())["X-Retry-In"] == refused.headers["X-Retry-In"]


def test_two_apps_share_one_extension_and_limit_independently(
    redis_server: Any, redis_url: str, second_redis_url: str
) -> None:
    w = Walrus()
    prefix_two = f"two-{uuid.uuid4().hex[:8]}"

    def create_app(name: str, url: str, prefix: str, rate: str) -> Flask:
        app = Flask(name)
        app.config.update(TESTING=True, WALRUS_URL=url, WALRUS_KEY_PREFIX=prefix)
        w.init_app(app)

        @app.get("/limited")
        @w.rate_limited(rate)
        def limited() -> str:
            return name

        return app

    one = create_app("one", redis_url, "one", "2/minute")
    two = create_app("two", second_redis_url, prefix_two, "3/minute")
    db_one = redis_server.client(int(redis_url.rsplit("/", 1)[1]))
    db_two = redis_server.client(int(second_redis_url.rsplit("/", 1)[1]))
    try:
        assert list(db_two.scan_iter(match=f"{prefix_two}:*")) == []
        c1, c2 = one.test_client(), two.test_client()
        assert [c1.get("/limited").status_code for _ in range(3)] == [200, 200, 429]
        # the same endpoint and client on the other app: its own budget, rate and database
        answers = [c2.get("/limited") for _ in range(4)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        assert answers[0].data == b"two" and answers[0].headers["X-RateLimit-Limit"] == "3"
        assert c1.get("/limited").headers["X-RateLimit-Limit"] == "2"
        assert [k.decode() for k in db_one.keys("*")] == ["one:rl:limited:2/1m:127.0.0.1"]
        assert db_two.llen(f"{prefix_two}:rl:limited:3/1m:127.0.0.1") == 3
        assert db_two.keys("one:*") == []
        assert w.state(one).limiter is not w.state(two).limiter
    finally:
        keys = list(db_two.scan_iter(match=f"{prefix_two}:*"))
        if keys:
            db_two.delete(*keys)
        db_one.close()
        db_two.close()


def test_disabled_rate_limiting(make_app: Any) -> None:
    app, _ = _limited_app(make_app, "1/minute", WALRUS_RATELIMIT_ENABLED=False)
    client = app.test_client()
    assert [client.get("/limited").status_code for _ in range(3)] == [200, 200, 200]


@pytest.mark.backends("resp2", reason="an outage on a dead port: no backend takes part")
def test_redis_down_allow_policy_logs_once(make_app: Any, free_port_url: str, caplog: Any) -> None:
    app, _ = _limited_app(make_app, "1/minute", WALRUS_URL=free_port_url)
    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="flask_walrus"):
        statuses = [client.get("/limited").status_code for _ in range(5)]
    assert statuses == [200] * 5
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "Redis unavailable" in errors[0].getMessage()
    assert "X-RateLimit-Limit" not in client.get("/limited").headers


@pytest.mark.backends("resp2", reason="an outage on a dead port: no backend takes part")
def test_redis_down_deny_policy(make_app: Any, free_port_url: str, caplog: Any) -> None:
    app, _ = _limited_app(
        make_app, "5/minute", WALRUS_URL=free_port_url, WALRUS_RATELIMIT_ON_ERROR="deny"
    )
    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="flask_walrus"):
        refused = [client.get("/limited") for _ in range(3)]
    assert [r.status_code for r in refused] == [429] * 3
    assert refused[0].headers["Retry-After"] == "60"
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1
    assert client.get("/free").status_code == 200  # views without limits do not touch Redis


def test_outage_is_logged_again_after_recovery(make_app: Any, caplog: Any) -> None:
    app, w = _limited_app(make_app, "100/minute")
    client = app.test_client()
    state = w.state(app)
    good_db = state.limiter.database
    from tests.support.redis_server import free_port
    from walrus import Database

    bad_db = Database.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5)
    with caplog.at_level(logging.WARNING, logger="flask_walrus"):
        state.limiter.database = bad_db
        client.get("/limited")
        client.get("/limited")
        state.limiter.database = good_db
        client.get("/limited")
        state.limiter.database = bad_db
        client.get("/limited")
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Redis unavailable" in m for m in messages) == 2
    assert sum(m.endswith("Redis answers again") for m in messages) == 1


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("5/fortnight",), {}, "cannot read rate"),
        (("five per minute",), {}, "cannot read rate"),
        ((0, 60), {}, "positive int"),
        ((5, -1), {}, "positive number"),
        (("5/minute", 60), {}, "'per' goes with an int"),
        (([],), {}, "needs a limit"),
        (("5/minute",), {"cost": 0}, "cost must be"),
        (("2/minute",), {"cost": 3}, "can never fit"),
        (("5/minute",), {"methods": "POST"}, "not a str"),
        (("5/minute",), {"methods": []}, "must not be empty"),
        (("5/minute",), {"key_func": "ip"}, "key_func must be a callable"),
        (("5/minute",), {"scope": "a", "group": "b"}, "same option"),
        (("5/minute",), {"scope": ""}, "scope must be"),
    ],
)
def test_bad_decorator_arguments_fail_at_decoration(args: Any, kwargs: Any, message: str) -> None:
    w = Walrus()
    with pytest.raises((ValueError, TypeError), match=message):
        w.rate_limited(*args, **kwargs)


def test_stacked_limits_with_different_costs_fail_at_decoration() -> None:
    w = Walrus()
    with pytest.raises(ValueError, match="disagree on cost"):

        @w.rate_limited("5/minute", cost=2)
        @w.rate_limited("10/minute", cost=1)
        def view() -> str:
            return "v"


def test_rate_limited_rejects_non_views() -> None:
    with pytest.raises(TypeError, match="view function"):
        Walrus().rate_limited("1/minute")(42)


def test_views_without_limits_cost_no_round_trip(make_app: Any) -> None:
    app, _ = _limited_app(make_app)
    client = app.test_client()
    client.get("/free")
    with RoundTripCounter() as rt:
        assert client.get("/free").status_code == 200
    assert rt.count == 0
