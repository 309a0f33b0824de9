"""The ``WALRUS_RATELIMIT_*`` settings, read and validated once (system checks at start-up,
then on first use; re-read when a test changes one of them).

=================================== ================= ==========================================
setting                             default           meaning
=================================== ================= ==========================================
``WALRUS_RATELIMIT_ON_ERROR``       ``"allow"``       Redis down: ``"allow"`` or ``"deny"`` (429)
``WALRUS_RATELIMIT_TRUSTED_PROXIES`` ``0``            proxies appending to X-Forwarded-For
``WALRUS_RATELIMIT_HEADERS``        ``"x-ratelimit"`` ``"x-ratelimit"``, ``"ietf"``, ``"both"``
                                                      or ``"none"``
``WALRUS_RATELIMIT_STRATEGY``       ``"moving-window"`` default strategy of every rate
``WALRUS_RATELIMIT_VIEW``           ``None``          dotted path of ``view(request, exception)``
                                                      for 429s
``WALRUS_RATELIMIT_DEFAULT``        ``None``          middleware: rates per view
                                                      (``"100/m;1000/h"``)
``WALRUS_RATELIMIT_APPLICATION``    ``None``          middleware: rates shared by every view
``WALRUS_RATELIMIT_DEFAULT_KEY``    ``"ip"``          middleware: who a client is (as ``key=``)
``WALRUS_RATELIMIT_EXEMPT_PATHS``   ``[]``            middleware: path prefixes never limited
``WALRUS_RATELIMIT_ALIAS``          ``"default"``     the ``WALRUS`` alias of the middleware and CLI
=================================== ================= ==========================================

Everything here is validated by the core's checks (``walrus.rate_limit``); a problem is a
message naming the setting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from walrus.rate_limit import (
    DEFAULT_STRATEGY,
    Rate,
    check_header_style,
    check_on_error,
    check_strategy,
    check_trusted_proxies,
    parse_rates,
)

__all__ = [
    "SETTINGS",
    "RateLimitSettings",
    "get_settings",
    "read_settings",
    "reset_settings",
    "setting_problems",
]

SETTINGS = (
    "WALRUS_RATELIMIT_ON_ERROR",
    "WALRUS_RATELIMIT_TRUSTED_PROXIES",
    "WALRUS_RATELIMIT_HEADERS",
    "WALRUS_RATELIMIT_STRATEGY",
    "WALRUS_RATELIMIT_VIEW",
    "WALRUS_RATELIMIT_DEFAULT",
    "WALRUS_RATELIMIT_APPLICATION",
    "WALRUS_RATELIMIT_DEFAULT_KEY",
    "WALRUS_RATELIMIT_EXEMPT_PATHS",
    "WALRUS_RATELIMIT_ALIAS",
)
"""Every setting this module reads (a change to one of them drops the cached settings)."""


@dataclass(frozen=True)
class RateLimitSettings:
    """The validated ``WALRUS_RATELIMIT_*`` settings."""

    on_error: str = "allow"
    trusted_proxies: int = 0
    headers: str = "x-ratelimit"
    strategy: str = DEFAULT_STRATEGY
    view: Callable[..., Any] | None = None
    default: tuple[Rate, ...] = ()
    application: tuple[Rate, ...] = ()
    default_key: Any = "ip"
    exempt_paths: tuple[str, ...] = ()
    alias: str = "default"


_lock = threading.Lock()
_cached: RateLimitSettings | None = None


def _value(name: str, default: Any) -> Any:
    from django.conf import settings

    return getattr(settings, name, default)


def read_settings() -> tuple[RateLimitSettings, list[str]]:
    """The settings and the problems found (each message names its setting); a setting with
    a problem keeps its default in the returned settings. No Redis work."""
    problems: list[str] = []
    values: dict[str, Any] = {}

    def check(field: str, name: str, default: Any, fn: Callable[[Any], Any]) -> None:
        raw = _value(name, default)
        try:
            values[field] = fn(raw)
        except (TypeError, ValueError, ImportError) as exc:
            problems.append(f"settings.{name}: {exc}")

    check(
        "on_error",
        "WALRUS_RATELIMIT_ON_ERROR",
        "allow",
        lambda v: check_on_error(v, "WALRUS_RATELIMIT_ON_ERROR"),
    )
    check("trusted_proxies", "WALRUS_RATELIMIT_TRUSTED_PROXIES", 0,
          lambda v: check_trusted_proxies(v, "WALRUS_RATELIMIT_TRUSTED_PROXIES"))  # fmt: skip
    check(
        "headers",
        "WALRUS_RATELIMIT_HEADERS",
        "x-ratelimit",
        lambda v: check_header_style(v, "WALRUS_RATELIMIT_HEADERS"),
    )
    check("strategy", "WALRUS_RATELIMIT_STRATEGY", DEFAULT_STRATEGY, check_strategy)
    check("view", "WALRUS_RATELIMIT_VIEW", None, _import_view)
    check(
        "default",
        "WALRUS_RATELIMIT_DEFAULT",
        None,
        lambda v: parse_rates(v, "WALRUS_RATELIMIT_DEFAULT"),
    )
    check(
        "application",
        "WALRUS_RATELIMIT_APPLICATION",
        None,
        lambda v: parse_rates(v, "WALRUS_RATELIMIT_APPLICATION"),
    )
    check("default_key", "WALRUS_RATELIMIT_DEFAULT_KEY", "ip", _check_key)
    check("exempt_paths", "WALRUS_RATELIMIT_EXEMPT_PATHS", (), _check_paths)
    check("alias", "WALRUS_RATELIMIT_ALIAS", "default", _check_alias)
    return RateLimitSettings(**values), problems


def setting_problems() -> list[str]:
    """The problems of the current settings (for the system check). No Redis work."""
    return read_settings()[1]


def get_settings() -> RateLimitSettings:
    """The validated settings, read once; ``ImproperlyConfigured`` naming the setting when one
    is bad (the system check reports it at start-up first). No Redis work."""
    global _cached
    found = _cached
    if found is not None:
        return found
    from django.core.exceptions import ImproperlyConfigured

    found, problems = read_settings()
    if problems:
        raise ImproperlyConfigured("; ".join(problems))
    with _lock:
        _cached = found
    return found


def reset_settings() -> None:
    """Forget the cached settings (django_walrus does this when a test changes one). No Redis
    work."""
    global _cached
    with _lock:
        _cached = None


def _import_view(value: Any) -> Callable[..., Any] | None:
    if value is None:
        return None
    if callable(value):
        return cast(Callable[..., Any], value)
    if not isinstance(value, str) or "." not in value:
        raise ValueError(f"expected the dotted path of a view(request, exception), got {value!r}")
    from django.utils.module_loading import import_string

    try:
        view = import_string(value)
    except ImportError as exc:
        raise ImportError(f"cannot import {value!r}: {exc}") from None
    if not callable(view):
        raise ValueError(f"{value!r} is not callable")
    return cast(Callable[..., Any], view)


def _check_key(value: Any) -> Any:
    from .ratelimit import key_function

    key_function(value, "WALRUS_RATELIMIT_DEFAULT_KEY")
    return value


def _check_paths(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ValueError(
            f"expected a list of path prefixes like ['/static/', '/health'], got {value!r}"
        )
    for item in value:
        if not isinstance(item, str) or not item.startswith("/"):
            raise ValueError(f"every entry must be a path prefix starting with '/', got {item!r}")
    return tuple(value)


def _check_alias(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected the name of a WALRUS alias, got {value!r}")
    return value
