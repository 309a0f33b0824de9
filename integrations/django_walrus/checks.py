"""System checks for the ``WALRUS`` setting.

Errors: E001 WALRUS is not a dict; E002 an alias is neither a URL nor a dict; E003 unknown keys
in an alias; E004 a bad URL (``redis+cluster://`` and ``redis+sentinel://`` URLs are parsed
too); E005 bad OPTIONS; E006 PREFIXES is not a list of strings.
Warnings: W001 no ``default`` alias; W002 (deploy) a server that does not answer PING;
W003 (deploy) the embedded ``memory://`` engine configured in production.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from .conf import ALLOWED_ALIAS_KEYS, ALLOWED_OPTIONS

__all__ = ["check_settings", "check_servers_reachable"]

_SCHEMES = (
    "redis://",
    "rediss://",
    "unix://",
    "memory://",
    "redis+cluster://",
    "rediss+cluster://",
    "redis+sentinel://",
    "rediss+sentinel://",
)


def _raw_aliases() -> tuple[dict[str, Any] | None, list[CheckMessage]]:
    raw = getattr(settings, "WALRUS", None)
    if raw is None:
        return {}, []
    if not isinstance(raw, dict):
        return None, [
            Error(
                f"settings.WALRUS must be a dict mapping aliases to settings, got {type(raw).__name__}.",
                hint='WALRUS = {"default": {"URL": "redis://localhost:6379/0"}}',
                id="django_walrus.E001",
            )
        ]
    return raw, []


def _multi_host_url_problem(url: str) -> str:
    """Why a ``redis+cluster://`` or ``redis+sentinel://`` URL cannot be used ("" if it can,
    or for the other schemes)."""
    from walrus.cluster import (
        CLUSTER_SCHEMES,
        SENTINEL_SCHEMES,
        parse_cluster_url,
        parse_sentinel_url,
    )

    scheme = url.split("://", 1)[0].lower()
    try:
        if scheme in CLUSTER_SCHEMES:
            parse_cluster_url(url)
        elif scheme in SENTINEL_SCHEMES:
            parse_sentinel_url(url)
    except ValueError as exc:
        from .conf import safe_url

        return str(exc).replace(url, safe_url(url))
    return ""


@register("django_walrus")
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    raw, errors = _raw_aliases()
    if raw is None:
        return errors
    if raw and "default" not in raw:
        errors.append(
            Warning(
                "settings.WALRUS has no 'default' alias; get_database() without an alias will fail.",
                id="django_walrus.W001",
            )
        )
    for alias, value in raw.items():
        where = f"settings.WALRUS[{alias!r}]"
        if isinstance(value, str):
            value = {"URL": value}
        if not isinstance(value, dict):
            errors.append(
                Error(f"{where} must be a URL string or a dict, got {type(value).__name__}.", id="django_walrus.E002")
            )
            continue
        unknown = sorted(set(value) - ALLOWED_ALIAS_KEYS)
        if unknown:
            errors.append(
                Error(
                    f"{where} has unknown keys: {', '.join(unknown)}.",
                    hint=f"Allowed keys: {', '.join(sorted(ALLOWED_ALIAS_KEYS))}.",
                    id="django_walrus.E003",
                )
            )
        url = value.get("URL")
        if url is not None and (not isinstance(url, str) or not url.startswith(_SCHEMES)):
            errors.append(
                Error(
                    f"{where}['URL'] must be a redis://, rediss://, unix://, memory://, redis+cluster:// "
                    f"or redis+sentinel:// URL, got {url!r}.",
                    id="django_walrus.E004",
                )
            )
        elif isinstance(url, str):
            problem = _multi_host_url_problem(url)
            if problem:
                errors.append(Error(f"{where}['URL']: {problem}", id="django_walrus.E004"))
        options = value.get("OPTIONS", {})
        if not isinstance(options, dict):
            errors.append(Error(f"{where}['OPTIONS'] must be a dict.", id="django_walrus.E005"))
        else:
            bad = sorted(set(options) - ALLOWED_OPTIONS)
            if bad:
                errors.append(
                    Error(
                        f"{where}['OPTIONS'] has unknown options: {', '.join(bad)}.",
                        hint=f"Allowed: {', '.join(sorted(ALLOWED_OPTIONS))}.",
                        id="django_walrus.E005",
                    )
                )
            for name in ("socket_timeout", "socket_connect_timeout"):
                if name in options and not (
                    options[name] is None
                    or (isinstance(options[name], (int, float)) and options[name] > 0)
                ):
                    errors.append(
                        Error(
                            f"{where}['OPTIONS'][{name!r}] must be a positive number of seconds or None, "
                            f"got {options[name]!r}.",
                            id="django_walrus.E005",
                        )
                    )
        prefixes = value.get("PREFIXES", [])
        if not isinstance(prefixes, (list, tuple)) or not all(isinstance(p, str) and p for p in prefixes):
            errors.append(
                Error(f"{where}['PREFIXES'] must be a list of non-empty strings.", id="django_walrus.E006")
            )
    return errors


@register("django_walrus", Tags.database, deploy=True)
def check_servers_reachable(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Deploy check: every configured server answers PING; no memory:// in production."""
    raw, errors = _raw_aliases()
    if raw is None or check_settings():
        return []  # the settings errors are reported by check_settings
    from redis.exceptions import RedisError

    from .conf import alias_settings, get_database, safe_url

    messages: list[CheckMessage] = []
    for alias in raw or {"default": None}:
        url = alias_settings(alias)["URL"]
        if url.startswith("memory://"):
            messages.append(
                Warning(
                    f"settings.WALRUS[{alias!r}] uses the embedded memory:// engine: data is per process and lost on restart.",
                    id="django_walrus.W003",
                )
            )
            continue
        try:
            get_database(alias).ping()
        except (RedisError, OSError) as exc:
            messages.append(
                Warning(
                    f"settings.WALRUS[{alias!r}]: the server at {safe_url(url)} did not answer PING ({exc}).",
                    id="django_walrus.W002",
                )
            )
    return messages
