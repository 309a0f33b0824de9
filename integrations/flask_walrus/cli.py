"""``flask walrus ...``: info, flush (prefix-scoped), rate-limit show and reset.

Commands run in the app context and use the app's ``WalrusState``; keyspace work goes through
``walrus.keyspace`` (SCAN, never KEYS; UNLINK in batches).
"""

from __future__ import annotations

import math
import re
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from walrus.keyspace import (
    delete_matching,
    escape_glob,
    iter_matching,
    prefix_counts,
    server_summary,
)
from walrus.rate_limit import (
    STRATEGIES,
    PreparedRate,
    RateSpec,
    check_strategy,
    decide,
    format_rate,
    parse_rate,
    parse_rates,
    reset_rates,
)

from .config import safe_url

__all__ = ["app_patterns", "walrus_cli"]

walrus_cli = AppGroup("walrus", help="Inspect and clean this app's Redis data (flask_walrus).")
"""``flask walrus ...``: the commands that inspect and clean the app's Redis data."""


def _state() -> Any:
    state = current_app.extensions.get("walrus")
    if state is None:
        raise click.ClickException("flask_walrus is not initialised on this app (Walrus.init_app)")
    return state


def app_patterns(state: Any) -> list[str]:
    """SCAN patterns of this app's keys: ``<WALRUS_KEY_PREFIX>:*`` and each WALRUS_PREFIXES entry.
    No Redis work."""
    prefixes = [state.settings.key_prefix + ":", *state.settings.prefixes]
    return list(dict.fromkeys(escape_glob(p) + "*" for p in prefixes))


@walrus_cli.command("info")
@click.option(
    "--sample", default=10000, show_default=True, help="keys to sample for the prefix counts"
)
def info_command(sample: int) -> None:
    """Server summary, this app's prefixes and key counts by prefix."""
    state = _state()
    db = state.database
    click.echo(f"URL: {safe_url(state.settings.url)}")
    click.echo(f"App prefixes: {', '.join(app_patterns(state))}")
    try:
        summary = server_summary(db)
        counts = prefix_counts(db, limit=sample)
    except RedisError as exc:
        raise click.ClickException(_redis_failed(safe_url(state.settings.url), exc)) from None
    for name, value in summary.items():
        click.echo(f"{name}: {'-' if value is None else value}")
    click.echo(f"Keys by prefix (sample of up to {sample}):")
    for prefix, count in counts.items():
        click.echo(f"  {prefix:<40} {count}")


@walrus_cli.command("flush")
@click.option(
    "--pattern",
    "patterns",
    multiple=True,
    help="glob of keys to delete instead of the app's prefixes (repeatable)",
)
@click.option("--dry-run", is_flag=True, help="list what would be deleted, delete nothing")
@click.option("--yes", "-y", is_flag=True, help="do not ask for confirmation")
def flush_command(patterns: tuple[str, ...], dry_run: bool, yes: bool) -> None:
    """Delete this app's keys (WALRUS_KEY_PREFIX and WALRUS_PREFIXES), never the whole DB."""
    state = _state()
    chosen = list(patterns) or app_patterns(state)
    url = safe_url(state.settings.url)
    try:
        if dry_run:
            count = 0
            for key in iter_matching(state.database, chosen):
                count += 1
                if count <= 50:
                    click.echo(key.decode(errors="backslashreplace"))
            if count > 50:
                click.echo(f"... and {count - 50} more")
            click.echo(f"Would delete {count} key(s) matching {', '.join(chosen)} on {url}.")
            return
        if not yes:
            click.confirm(f"Delete every key matching {', '.join(chosen)} on {url}?", abort=True)
        total = delete_matching(state.database, chosen)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--pattern") from None
    except RedisError as exc:
        raise click.ClickException(_redis_failed(url, exc)) from None
    click.echo(f"Deleted {total} key(s) matching {', '.join(chosen)}.")


def _redis_failed(url: str, exc: RedisError) -> str:
    """The message of a failed command: unreachable, or what the server refused, by type
    (a full server or a read-only replica is not an outage)."""
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        return f"Redis at {url} is unavailable: {exc}"
    return f"Redis at {url} refused the command ({type(exc).__name__}): {exc}"


@walrus_cli.group("ratelimit")
def ratelimit_group() -> None:
    """Show or reset the rate-limit budgets of one client key (e.g. an IP address)."""


# <scope>:<rate> (format_rate's form) followed by the core's strategy code (none for
# moving-window)
_STORED = re.compile(r"^(\d+/\d+(?:\.\d+)?[dhms])(?:#([fsg]))?$")
_CODES = {None: "moving-window", "f": "fixed-window", "s": "sliding-window-counter", "g": "gcra"}


def _client_rules(state: Any, key: str, scope: str | None) -> list[tuple[bytes, PreparedRate, str]]:
    """The prepared rates KEY has state under (SCAN of this app's rate-limit keys; every
    strategy)."""
    base = f"{state.limiter.key_base}:"
    head = base + (f"{scope}:" if scope else "")
    # What follows the rate's name in a stored key: ":<key>", or ":{<key>}" on Redis Cluster.
    try:
        tail = RateSpec("_", key, 1, 1).storage_key(state.database)[1:]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="KEY") from None
    pattern = escape_glob(head) + "*" + escape_glob(tail)
    found = []
    for raw in iter_matching(state.database, [pattern]):
        text = raw.decode(errors="backslashreplace")
        if not text.endswith(tail):
            continue
        middle = text[len(base) : len(text) - len(tail)]
        found_scope, _, rate = middle.rpartition(":")
        match = _STORED.match(rate)
        if not found_scope or match is None or (scope is not None and found_scope != scope):
            continue
        try:
            parsed = parse_rate(match.group(1))
        except ValueError:  # not a key of this limiter
            continue
        rule = PreparedRate(f"{base}{found_scope}:{match.group(1)}", parsed.limit, parsed.per,
                            _CODES[match.group(2)])  # fmt: skip
        found.append((raw, rule, found_scope))
    return sorted(found, key=lambda item: item[0])


def _rate_rules(state: Any, scope: str, rate: str, strategy: str | None) -> list[PreparedRate]:
    """The prepared rates ``--rate`` names in SCOPE, as the extension builds them (no Redis
    work)."""
    try:
        rates = parse_rates(rate, "--rate")
        strategies = [check_strategy(strategy)] if strategy else [state.settings.strategy]
    except (TypeError, ValueError) as exc:
        raise click.BadParameter(str(exc), param_hint="--rate/--strategy") from None
    base = f"{state.limiter.key_base}:{scope}"
    return [
        PreparedRate(f"{base}:{format_rate(n, p)}", n, p, s) for s in strategies for n, p in rates
    ]


def _scope_and_key(args: tuple[str, ...], scope: str | None) -> tuple[str | None, str]:
    if len(args) == 2:
        if scope is not None and scope != args[0]:
            raise click.UsageError("give the scope once: SCOPE KEY or KEY --scope SCOPE")
        return args[0], args[1]
    if len(args) == 1:
        return scope, args[0]
    raise click.UsageError("expected [SCOPE] KEY")


def _print(scope: str, rates: list[PreparedRate], decision: Any) -> None:
    for index, rate in enumerate(rates):
        result = decision.result(index)
        click.echo(
            f"{scope}  {rate.limit}/{rate.per:g}s  remaining {result.remaining}/{rate.limit}  "
            f"resets in {math.ceil(result.reset_after)} s"
            + ("" if rate.strategy == "moving-window" else f"  ({rate.strategy})")
        )


@ratelimit_group.command("show")
@click.argument("args", nargs=-1, required=True, metavar="[SCOPE] KEY")
@click.option("--scope", default=None, help="only this scope (endpoint or scope/group name)")
@click.option(
    "--rate", default=None, help="the scope's rate(s), e.g. '5/minute;100/hour': computed, no scan"
)
@click.option(
    "--strategy", default=None, help="with --rate: the strategy (default WALRUS_RATELIMIT_STRATEGY)"
)
def ratelimit_show(
    args: tuple[str, ...], scope: str | None, rate: str | None, strategy: str | None
) -> None:
    """The budgets KEY has (in SCOPE): rate, remaining and reset. Records nothing."""
    state = _state()
    scope, key = _scope_and_key(args, scope)
    try:
        if rate is not None:
            if scope is None:
                raise click.UsageError("--rate needs the SCOPE it applies to")
            rules = _rate_rules(state, scope, rate, strategy)
            _print(scope, rules, decide(state.database, rules, [key] * len(rules), 0))
            return
        found = _client_rules(state, key, scope)
        if not found:
            click.echo(f"No rate-limit state for {key!r}.")
            return
        for _, rule, found_scope in found:  # one look per key: they may be in different slots
            _print(found_scope, [rule], decide(state.database, [rule], [key], 0))
    except RedisError as exc:
        raise click.ClickException(_redis_failed(safe_url(state.settings.url), exc)) from None


def _reset(args: tuple[str, ...], scope: str | None, rate: str | None) -> None:
    state = _state()
    scope, key = _scope_and_key(args, scope)
    try:
        if rate is not None:
            if scope is None:
                raise click.UsageError("--rate needs the SCOPE it applies to")
            # every strategy's key: the state goes whichever strategy recorded it
            rules = [rule for s in STRATEGIES for rule in _rate_rules(state, scope, rate, s)]
            deleted = reset_rates(state.database, rules, [key] * len(rules))
        else:
            found = _client_rules(state, key, scope)
            deleted = sum(int(state.database.unlink(raw)) for raw, _, _ in found)
    except RedisError as exc:
        raise click.ClickException(_redis_failed(safe_url(state.settings.url), exc)) from None
    click.echo(f"Cleared {deleted} rate-limit key(s) of {key!r}.")


@ratelimit_group.command("reset")
@click.argument("args", nargs=-1, required=True, metavar="[SCOPE] KEY")
@click.option("--scope", default=None, help="only this scope (endpoint or scope/group name)")
@click.option("--rate", default=None, help="the scope's rate(s): computed keys, no scan")
def ratelimit_reset(args: tuple[str, ...], scope: str | None, rate: str | None) -> None:
    """Forget every recorded request of KEY (or of KEY in SCOPE): its budgets are whole again."""
    _reset(args, scope, rate)


@ratelimit_group.command("clear")
@click.argument("args", nargs=-1, required=True, metavar="[SCOPE] KEY")
@click.option("--scope", default=None, help="only this scope (endpoint or scope/group name)")
@click.option("--rate", default=None, help="the scope's rate(s): computed keys, no scan")
def ratelimit_clear(args: tuple[str, ...], scope: str | None, rate: str | None) -> None:
    """The same as ``reset``."""
    _reset(args, scope, rate)
