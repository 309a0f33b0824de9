"""``flask walrus`` commands through app.test_cli_runner()."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.redis_server import start_redis_server, start_replica


def _seed(raw_client: Any) -> None:
    raw_client.set("flask_walrus:cache:a", "1")
    raw_client.set("flask_walrus:cache:b", "2")
    raw_client.set("app:user:1", "x")
    raw_client.set("unrelated", "keep")


def test_info(make_app: Any, raw_client: Any) -> None:
    app, _ = make_app(WALRUS_PREFIXES=["app:"])
    _seed(raw_client)
    result = app.test_cli_runner().invoke(args=["walrus", "info"])
    assert result.exit_code == 0, result.output
    assert "redis_version:" in result.output
    assert "App prefixes: flask_walrus:*, app:*" in result.output
    assert "keys: 4" in result.output
    assert "flask_walrus:" in result.output and "unrelated" in result.output


@pytest.mark.backends("resp2", reason="an outage on a dead port: no backend takes part")
def test_info_redis_down(make_app: Any, free_port_url: str) -> None:
    app, _ = make_app(WALRUS_URL=free_port_url)
    result = app.test_cli_runner().invoke(args=["walrus", "info"])
    assert result.exit_code == 1 and "unavailable" in result.output


def test_flush_asks_and_is_prefix_scoped(make_app: Any, raw_client: Any) -> None:
    app, _ = make_app(WALRUS_PREFIXES=["app:"])
    _seed(raw_client)
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["walrus", "flush"], input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
    assert raw_client.dbsize() == 4
    done = runner.invoke(args=["walrus", "flush"], input="y\n")
    assert done.exit_code == 0, done.output
    assert "Deleted 3 key(s)" in done.output
    assert sorted(raw_client.keys()) == [b"unrelated"]


def test_flush_yes_and_dry_run(make_app: Any, raw_client: Any) -> None:
    app, _ = make_app()
    _seed(raw_client)
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["walrus", "flush", "--dry-run"])
    assert dry.exit_code == 0
    assert "flask_walrus:cache:a" in dry.output and "Would delete 2 key(s)" in dry.output
    assert raw_client.dbsize() == 4
    done = runner.invoke(args=["walrus", "flush", "--yes"])
    assert done.exit_code == 0 and "Deleted 2 key(s)" in done.output
    assert sorted(raw_client.keys()) == [b"app:user:1", b"unrelated"]


def test_flush_pattern_option(make_app: Any, raw_client: Any) -> None:
    app, _ = make_app()
    _seed(raw_client)
    result = app.test_cli_runner().invoke(args=["walrus", "flush", "--yes", "--pattern", "app:*"])
    assert result.exit_code == 0 and "Deleted 1 key(s)" in result.output
    assert raw_client.exists("app:user:1") == 0 and raw_client.exists("flask_walrus:cache:a") == 1


def test_ratelimit_show_and_clear(make_app: Any, raw_client: Any) -> None:
    app, w = make_app()

    @app.get("/a")
    @w.rate_limited(["3/minute", "10/hour"])
    def a() -> str:
        return "a"

    @app.get("/b")
    @w.rate_limited("2/minute", scope="shared")
    def b() -> str:
        return "b"

    client = app.test_client()
    client.get("/a")
    client.get("/a")
    client.get("/b")
    client.get("/a", environ_base={"REMOTE_ADDR": "10.1.1.1"})
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["walrus", "ratelimit", "show", "127.0.0.1"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert any(line.startswith("a  3/60s  remaining 1/3") for line in lines)
    assert any(line.startswith("a  10/3600s  remaining 8/10") for line in lines)
    assert any(line.startswith("shared  2/60s  remaining 1/2") for line in lines)
    assert len(lines) == 3
    scoped = runner.invoke(args=["walrus", "ratelimit", "show", "127.0.0.1", "--scope", "shared"])
    assert scoped.output.count("\n") == 1 and "shared" in scoped.output
    # showing records nothing
    assert raw_client.llen("flask_walrus:rl:a:3/1m:127.0.0.1") == 2
    cleared = runner.invoke(args=["walrus", "ratelimit", "clear", "127.0.0.1"])
    assert cleared.exit_code == 0 and "Cleared 3 rate-limit key(s)" in cleared.output
    assert raw_client.exists("flask_walrus:rl:a:3/1m:10.1.1.1") == 1
    assert (
        "No rate-limit state"
        in runner.invoke(args=["walrus", "ratelimit", "show", "127.0.0.1"]).output
    )
    assert client.get("/b").status_code == 200


def test_ratelimit_key_with_colons_and_glob_chars(make_app: Any, raw_client: Any) -> None:
    app, w = make_app()

    @app.get("/v6")
    @w.rate_limited("5/minute", key_func=lambda: "::1[*]")
    def v6() -> str:
        return "v6"

    app.test_client().get("/v6")
    raw_client.rpush("flask_walrus:rl:v6:5/1m:::1x*]", "1")  # must not match the glob
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["walrus", "ratelimit", "show", "::1[*]"])
    assert shown.output.startswith("v6  5/60s  remaining 4/5")
    assert "Cleared 1 " in runner.invoke(args=["walrus", "ratelimit", "clear", "::1[*]"]).output


@pytest.mark.backends("resp2", "resp3", reason="a read-only replica redis-server of its own")
def test_a_refused_command_is_named_not_called_an_outage(make_app: Any) -> None:
    """A read-only replica refuses the flush: the message names the server's error type."""

    primary = start_redis_server("--repl-diskless-sync-delay", "0")  # syncs at once
    replica = start_replica(primary)
    try:
        raw = primary.client()
        raw.set("flask_walrus:cache:a", "1")
        # the replica holds the key: the flush finds it and its DEL is refused
        assert raw.wait(1, 10_000) == 1
        raw.close()
        app, _ = make_app(WALRUS_URL=replica.url(0))
        result = app.test_cli_runner().invoke(args=["walrus", "flush", "--yes"])
        assert result.exit_code == 1
        assert "refused the command (ReadOnlyError)" in result.output
        assert "unavailable" not in result.output
        assert primary.client().exists("flask_walrus:cache:a") == 1
    finally:
        replica.stop()
        primary.stop()
