"""flask_walrus rate-limit options over the core limiter: callable limits, deduct_when,
on_breach, per_method, error_message, strategies, application limits, IETF headers; through
the test client on every backend (``url``) and on the local Redis Cluster, and exact when
several processes share one budget."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, jsonify, request

from flask_walrus import RateLimitExceeded, Walrus
from walrus import Database
from walrus.rate_limit import STRATEGIES

CLUSTER = pytest.param("cluster", marks=pytest.mark.cluster)


@pytest.fixture(params=["resp2", "resp3", "memory", CLUSTER])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The WALRUS_URL of a backend: the real test server's flushed DB with the protocol in
    the URL (``?protocol=2`` / ``?protocol=3``, as an app's URL may say), a memory:// server of
    this test's own, or the local cluster (every primary flushed)."""
    if request.param in ("resp2", "resp3"):
        yield f"{request.getfixturevalue('redis_url')}?protocol={request.param[-1]}"
        return
    if request.param == "memory":
        yield request.getfixturevalue("memory_url")
        return
    cluster_url = request.getfixturevalue("redis_cluster").url()
    db = Database.from_url(cluster_url)
    db.flushall()
    yield cluster_url
    db.flushall()
    db.close()


def _app(url: str, **config: Any) -> tuple[Flask, Walrus]:
    app = Flask("options")
    app.config.update(TESTING=True, WALRUS_URL=url, **config)
    w = Walrus()
    w.init_app(app)
    return app, w


def _codes(client: Any, path: str, n: int, **kwargs: Any) -> list[int]:
    return [client.open(path, **kwargs).status_code for _ in range(n)]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_per_limit(url: str, strategy: str) -> None:
    app, w = _app(url)

    @app.get("/v")
    @w.rate_limited("3/minute", strategy=strategy)
    def view() -> str:
        return "ok"

    client = app.test_client()
    responses = [client.get("/v") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert 1 <= int(responses[3].headers["Retry-After"]) <= 120


def test_app_default_strategy_and_bad_strategy(url: str) -> None:
    app, w = _app(url, WALRUS_RATELIMIT_STRATEGY="gcra")

    @app.get("/v")
    @w.rate_limited("2/minute")
    def view() -> str:
        return "ok"

    client = app.test_client()
    assert _codes(client, "/v", 3) == [200, 200, 429]
    # gcra: one slot comes back every 30 s, not after the whole minute
    assert 1 <= int(client.get("/v").headers["Retry-After"]) <= 30
    with pytest.raises(
        ValueError, match="WALRUS_RATELIMIT_STRATEGY: unknown rate limit strategy 'token'"
    ):
        _app(url, WALRUS_RATELIMIT_STRATEGY="token")
    with pytest.raises(ValueError, match="unknown rate limit strategy 'leaky'"):
        w.rate_limited("2/minute", strategy="leaky")


def test_callable_limit(url: str) -> None:
    app, w = _app(url)
    plans = {"free": "2/minute", "pro": "4/minute;100/hour"}

    @app.get("/v")
    @w.rate_limited(lambda: plans[request.args["plan"]], key_func=lambda: request.args["user"])
    def view() -> str:
        return "ok"

    client = app.test_client()
    assert _codes(client, "/v?plan=free&user=a", 3) == [200, 200, 429]
    assert _codes(client, "/v?plan=pro&user=b", 5) == [200, 200, 200, 200, 429]
    refused = client.get("/v?plan=pro&user=b")
    assert b"4 per 60 seconds" in refused.data


def test_callable_limit_returning_a_bad_rate_is_an_error(url: str) -> None:
    app, w = _app(url)

    @app.get("/v")
    @w.rate_limited(lambda: "5/fortnight")
    def view() -> str:
        return "ok"

    with pytest.raises(ValueError, match="cannot read rate '5/fortnight'"):
        app.test_client().get("/v")


def test_deduct_when_counts_only_matching_responses(url: str) -> None:
    app, w = _app(url)

    @app.post("/login")
    @w.rate_limited("2/minute", deduct_when=lambda response: response.status_code == 401)
    def login() -> Any:
        if request.form.get("password") == "right":
            return "welcome"
        return "wrong password", 401

    client = app.test_client()
    good = {"password": "right"}
    assert [client.post("/login", data=good).status_code for _ in range(4)] == [
        200
    ] * 4  # not counted
    assert [client.post("/login", data={}).status_code for _ in range(2)] == [401, 401]
    refused = client.post("/login", data=good)
    assert refused.status_code == 429  # two failures spent the budget: even a right password waits
    assert refused.headers["X-RateLimit-Remaining"] == "0"


def test_deduct_when_beside_a_limit_counted_now(url: str) -> None:
    app, w = _app(url)

    @app.get("/v")
    @w.rate_limited("3/minute")
    @w.rate_limited(
        "1/minute", deduct_when=lambda response: response.status_code >= 400, scope="failures"
    )
    def view() -> Any:
        return ("bad", 400) if request.args.get("fail") else "ok"

    client = app.test_client()
    assert client.get("/v").status_code == 200
    assert client.get("/v?fail=1").status_code == 400
    refused = client.get("/v")
    assert (
        refused.status_code == 429 and refused.headers["X-RateLimit-Limit"] == "1"
    )  # failures spent
    # ... and the refused request did not spend the 3/minute budget
    db = Database.from_url(url)
    key = "flask_walrus:rl:view:3/1m:" + ("{127.0.0.1}" if db.is_cluster else "127.0.0.1")
    assert db.llen(key) == 2
    db.close()


def test_on_breach_callback_and_its_response(url: str) -> None:
    app, w = _app(url)
    breaches: list[RateLimitExceeded] = []

    def breach(exc: RateLimitExceeded) -> Any:
        breaches.append(exc)
        return None

    def custom(exc: RateLimitExceeded) -> Any:
        return jsonify(error="slow down", retry_after=exc.retry_after), 429

    @app.get("/a")
    @w.rate_limited("1/minute", on_breach=breach)
    def a() -> str:
        return "ok"

    @app.get("/b")
    @w.rate_limited("1/minute", on_breach=custom)
    def b() -> str:
        return "ok"

    client = app.test_client()
    assert _codes(client, "/a", 2) == [200, 429]
    assert len(breaches) == 1 and breaches[0].rule.limit == 1 and breaches[0].retry_after > 0
    client.get("/b")
    refused = client.get("/b")
    assert refused.status_code == 429 and refused.json is not None
    assert refused.json["error"] == "slow down"
    assert (
        1 <= int(refused.headers["Retry-After"]) <= 60
    )  # headers added to the callback's response


def test_per_method_budgets(url: str) -> None:
    app, w = _app(url)

    @app.route("/v", methods=["GET", "POST"])
    @w.rate_limited("2/minute", per_method=True)
    def view() -> str:
        return "ok"

    @app.route("/shared", methods=["GET", "POST"])
    @w.rate_limited("2/minute")
    def shared() -> str:
        return "ok"

    client = app.test_client()
    assert _codes(client, "/v", 3, method="GET") == [200, 200, 429]
    assert _codes(client, "/v", 3, method="POST") == [200, 200, 429]  # its own budget
    assert _codes(client, "/shared", 1, method="GET") + _codes(
        client, "/shared", 2, method="POST"
    ) == [200, 200, 429]


def test_error_message(url: str) -> None:
    app, w = _app(url)

    @app.get("/s")
    @w.rate_limited("1/minute", error_message="Too many searches, take a breath.")
    def s() -> str:
        return "ok"

    @app.get("/c")
    @w.rate_limited("1/minute", error_message=lambda: f"Slow down, {request.args['who']}.")
    def c() -> str:
        return "ok"

    client = app.test_client()
    client.get("/s")
    assert b"Too many searches, take a breath." in client.get("/s").data
    client.get("/c?who=ann")
    assert b"Slow down, ann." in client.get("/c?who=ann").data
    with pytest.raises(TypeError, match="error_message must be a str or a callable"):
        w.rate_limited("1/minute", error_message=42)  # type: ignore[arg-type]


def test_default_and_application_limits_from_config(url: str) -> None:
    app, w = _app(url, WALRUS_RATELIMIT_DEFAULT="3/minute", WALRUS_RATELIMIT_APPLICATION="5/minute")

    @app.get("/a")
    def a() -> str:
        return "a"

    @app.get("/b")
    def b() -> str:
        return "b"

    @app.get("/free")
    @w.exempt
    def free() -> str:
        return "free"

    client = app.test_client()
    # each view has its own default budget of 3; both share the application budget of 5
    assert _codes(client, "/a", 3) == [200, 200, 200]
    assert _codes(client, "/a", 1) == [429]
    assert _codes(client, "/b", 3) == [200, 200, 429]  # the application budget ran out
    assert _codes(client, "/free", 3) == [200, 200, 200]
    with pytest.raises(ValueError, match="WALRUS_RATELIMIT_APPLICATION"):
        _app(url, WALRUS_RATELIMIT_APPLICATION="5/" + "9" * 400 + "d")


@pytest.mark.parametrize("style", ["ietf", "both"])
def test_ietf_headers_option(url: str, style: str) -> None:
    app, w = _app(url, WALRUS_RATELIMIT_HEADERS=style)

    @app.get("/v")
    @w.rate_limited("2/minute;10/hour", scope="api")
    def view() -> str:
        return "ok"

    client = app.test_client()
    first = client.get("/v")
    assert (
        first.headers["RateLimit-Policy"]
        == '"api-2-per-60s";q=2;w=60, "api-10-per-3600s";q=10;w=3600'
    )
    assert first.headers["RateLimit"].startswith('"api-2-per-60s";r=1;t=')
    assert ("X-RateLimit-Limit" in first.headers) == (style == "both")
    client.get("/v")
    refused = client.get("/v")
    assert refused.status_code == 429 and refused.headers["RateLimit"].startswith(
        '"api-2-per-60s";r=0;t='
    )
    assert "Retry-After" in refused.headers


def test_bad_option_types_fail_at_decoration() -> None:
    w = Walrus()
    with pytest.raises(TypeError, match="deduct_when must be a callable"):
        w.rate_limited("1/minute", deduct_when="401")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_breach must be a callable"):
        w.rate_limited("1/minute", on_breach=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="per_method must be True or False"):
        w.rate_limited("1/minute", per_method="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'per' goes with an int limit"):
        w.rate_limited(lambda: "1/minute", per=60)
    with pytest.raises(ValueError, match="cost 3 can never fit in a limit of 2"):
        w.rate_limited("2/minute", cost=3, strategy="gcra")


# -- several processes, one budget ------------------------------------------------------------


def _serve(url: str, strategy: str, rounds: int, out: Any) -> None:
    app, w = _app(url)

    @app.get("/v")
    @w.rate_limited("30/minute", strategy=strategy)
    def view() -> str:
        return "ok"

    client = app.test_client()
    out.put(sum(client.get("/v").status_code == 200 for _ in range(rounds)))


# Processes share the budget through the server: memory:// data is per process.
@pytest.mark.parametrize("url", ["resp2", "resp3", CLUSTER], indirect=True)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_exact_across_processes(url: str, strategy: str) -> None:
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    workers = [context.Process(target=_serve, args=(url, strategy, 20, out)) for _ in range(3)]
    for worker in workers:
        worker.start()
    passed = sum(out.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    assert passed == 30  # 3 processes x 20 requests against 30/minute


def test_cost_callable_returning_a_bad_cost_is_an_error(url: str) -> None:
    app, w = _app(url)

    @app.get("/v")
    @w.rate_limited("5/minute", cost=lambda: int(request.args["n"]))
    def view() -> str:
        return "ok"

    client = app.test_client()
    assert client.get("/v?n=2").headers["X-RateLimit-Remaining"] == "3"
    assert client.get("/v?n=9").status_code == 429  # more than the limit can ever hold
    with pytest.raises(ValueError, match="rate_limited cost .*: cost must be an int >= 0, got -1"):
        client.get("/v?n=-1")


def test_front_end_leaves_the_script_layout_to_the_core() -> None:
    """The Flask module reads no script reply (``Decision.raw``), parses no rate and builds no
    header value itself: the core does (one implementation for every front end)."""
    import inspect

    import flask_walrus.ratelimit as module

    source = inspect.getsource(module)
    assert ".raw" not in source and "rate_limit.lua" not in source
    assert "rate_limit_headers(" in source and "decide(" in source
    assert 'split(",")' not in source  # no X-Forwarded-For parsing of its own
