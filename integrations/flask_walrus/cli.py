"""``flask walrus ...``: info, flush (prefix-scoped), rate-limit inspection.

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
from redis.exceptions import RedisError

from walrus.keyspace import (
    delete_matching,
    escape_glob,
    iter_matching,
    prefix_counts,
    server_summary,
)
from walrus.rate_limit import LimitSpec, check_limits

from .config import safe_url

__all__ = ["app_patterns", "walrus_cli"]

walrus_cli = AppGroup("walrus", help="Inspect and clean this app's Redis data (flask_walrus).")
_RATE = re.compile(r"^(\d+)/(\d+(?:\.\d+)?)$")


def _state() -> Any:
    state = current_app.extensions.get("walrus")
    if state is None:
        raise click.ClickException("flask_walrus is not initialised on this app (Walrus.init_app)")
    return state


def app_patterns(state: Any) -> list[str]:
    """SCAN patterns of this app's keys: ``<WALRUS_KEY_PREFIX>:*`` and each WALRUS_PREFIXES entry."""
    prefixes = [state.settings.key_prefix + ":", *state.settings.prefixes]
    return list(dict.fromkeys(escape_glob(p) + "*" for p in prefixes))


@walrus_cli.command("info")
@click.option("--sample", default=10000, show_default=True, help="keys to sample for the prefix counts")
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
        raise click.ClickException(f"Redis at {safe_url(state.settings.url)} is unavailable: {exc}") from None
    for name, value in summary.items():
        click.echo(f"{name}: {'-' if value is None else value}")
    click.echo(f"Keys by prefix (sample of up to {sample}):")
    for prefix, count in counts.items():
        click.echo(f"  {prefix:<40} {count}")


@walrus_cli.command("flush")
@click.option("--pattern", "patterns", multiple=True, help="glob of keys to delete instead of the app's prefixes (repeatable)")
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
        raise click.ClickException(f"Redis at {url} is unavailable: {exc}") from None
    click.echo(f"Deleted {total} key(s) matching {', '.join(chosen)}.")


@walrus_cli.group("ratelimit")
def ratelimit_group() -> None:
    """Show or clear the rate-limit budgets of one client key (e.g. an IP address)."""


def _client_limits(state: Any, key: str, scope: str | None) -> list[tuple[bytes, LimitSpec, str]]:
    base = f"{state.limiter.key_base}:"
    head = base + (f"{scope}:" if scope else "")
    # What follows the limit name in a stored key: ":<key>", or ":{<key>}" on Redis Cluster.
    try:
        tail = LimitSpec("_", key, 1, 1).storage_key(state.database)[1:]
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
        match = _RATE.match(rate)
        if not found_scope or match is None or (scope is not None and found_scope != scope):
            continue
        spec = LimitSpec(f"{base}{middle}", key, int(match.group(1)), float(match.group(2)))
        found.append((raw, spec, found_scope))
    return sorted(found, key=lambda item: item[0])


@ratelimit_group.command("show")
@click.argument("key")
@click.option("--scope", default=None, help="only this scope (endpoint or scope/group name)")
def ratelimit_show(key: str, scope: str | None) -> None:
    """The budgets KEY has in use: scope, rate, remaining and reset (recording nothing)."""
    state = _state()
    try:
        found = _client_limits(state, key, scope)
        if not found:
            click.echo(f"No rate-limit state for {key!r}.")
            return
        results = check_limits(state.database, [spec for _, spec, _ in found], cost=0)
    except RedisError as exc:
        raise click.ClickException(f"Redis is unavailable: {exc}") from None
    for (_, spec, found_scope), result in zip(found, results, strict=True):
        click.echo(
            f"{found_scope}  {spec.limit}/{spec.per:g}s  remaining {result.remaining}/{spec.limit}  "
            f"resets in {math.ceil(result.reset_after)} s"
        )


@ratelimit_group.command("clear")
@click.argument("key")
@click.option("--scope", default=None, help="only this scope (endpoint or scope/group name)")
def ratelimit_clear(key: str, scope: str | None) -> None:
    """Forget every recorded request of KEY (or of KEY in one scope)."""
    state = _state()
    try:
        found = _client_limits(state, key, scope)
        deleted = int(state.database.unlink(*[raw for raw, _, _ in found])) if found else 0
    except RedisError as exc:
        raise click.ClickException(f"Redis is unavailable: {exc}") from None
    click.echo(f"Cleared {deleted} rate-limit key(s) of {key!r}.")
