"""``flask walrus ratelimit show|reset [SCOPE] KEY [--rate ...]`` over the core limiter, through
app.test_cli_runner() against the real server."""

from __future__ import annotations

from typing import Any


def _app(make_app: Any) -> Any:
    app, w = make_app(WALRUS_RATELIMIT_STRATEGY="gcra")

    @app.get("/login")
    @w.rate_limited("3/minute", scope="login")
    def login() -> str:
        return "ok"

    @app.get("/search")
    @w.rate_limited("5/minute;50/hour", strategy="fixed-window")
    def search() -> str:
        return "ok"

    return app


def test_show_finds_every_strategy_and_records_nothing(make_app: Any, raw_client: Any) -> None:
    app = _app(make_app)
    client = app.test_client()
    client.get("/login")
    client.get("/search")
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["walrus", "ratelimit", "show", "127.0.0.1"])
    assert shown.exit_code == 0, shown.output
    lines = sorted(shown.output.splitlines())
    assert lines[0].startswith("login  3/60s  remaining 2/3") and lines[0].endswith("(gcra)")
    assert any(
        line.startswith("search  5/60s  remaining 4/5") and "(fixed-window)" in line
        for line in lines
    )
    assert any(line.startswith("search  50/3600s  remaining 49/50") for line in lines)
    again = runner.invoke(args=["walrus", "ratelimit", "show", "login", "127.0.0.1"])
    assert again.output.splitlines() == [lines[0]]  # SCOPE KEY; looking spent nothing


def test_show_with_rate_computes_the_keys(make_app: Any, raw_client: Any) -> None:
    app = _app(make_app)
    client = app.test_client()
    for _ in range(2):
        client.get("/login")
    runner = app.test_cli_runner()
    shown = runner.invoke(
        args=["walrus", "ratelimit", "show", "login", "127.0.0.1", "--rate", "3/minute"]
    )
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("login  3/60s  remaining 1/3")
    fresh = runner.invoke(
        args=["walrus", "ratelimit", "show", "login", "10.0.0.9", "--rate", "3/minute"]
    )
    assert fresh.output.startswith("login  3/60s  remaining 3/3")  # no state yet: a whole budget
    assert raw_client.exists("flask_walrus:rl:login:3/1m#g:10.0.0.9") == 0
    bad = runner.invoke(
        args=["walrus", "ratelimit", "show", "login", "1.1.1.1", "--rate", "3/fortnight"]
    )
    assert bad.exit_code == 2 and "cannot read rate" in bad.output
    unscoped = runner.invoke(args=["walrus", "ratelimit", "show", "1.1.1.1", "--rate", "3/minute"])
    assert unscoped.exit_code == 2 and "needs the SCOPE" in unscoped.output


def test_reset_with_and_without_rate(make_app: Any, raw_client: Any) -> None:
    app = _app(make_app)
    client = app.test_client()
    assert [client.get("/login").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert [client.get("/search").status_code for _ in range(6)][-1] == 429
    runner = app.test_cli_runner()
    done = runner.invoke(
        args=["walrus", "ratelimit", "reset", "login", "127.0.0.1", "--rate", "3/minute"]
    )
    assert done.exit_code == 0 and "Cleared 1 rate-limit key(s)" in done.output
    assert client.get("/login").status_code == 200
    assert client.get("/search").status_code == 429  # another scope: untouched
    scanned = runner.invoke(args=["walrus", "ratelimit", "reset", "search", "127.0.0.1"])
    assert "Cleared 2 rate-limit key(s)" in scanned.output
    assert client.get("/search").status_code == 200
