"""Django REST framework throttles on the core limiter: exact under concurrency.

::

    REST_FRAMEWORK = {
        "DEFAULT_THROTTLE_CLASSES": [
            "django_walrus.throttling.WalrusAnonRateThrottle",
            "django_walrus.throttling.WalrusUserRateThrottle",
        ],
        "DEFAULT_THROTTLE_RATES": {
            "anon": "100/day", "user": "1000/day;100/minute", "uploads": "20/hour",
        },
    }

Same scopes and rates as DRF's ``AnonRateThrottle``, ``UserRateThrottle`` and
``ScopedRateThrottle`` (also exported under those names), but a request is decided by one Lua
call on the server's clock (``walrus.rate_limit.decide``) instead of DRF's read-modify-write of
a cached list, which lets concurrent requests through past the rate. Rates are read with the
core's parser (multi-rates ``"5/m;100/h"`` too); ``wait()`` is the decision's retry-after.
The client address is the core's: X-Forwarded-For is honoured only from
``WALRUS_RATELIMIT_TRUSTED_PROXIES`` proxies (DRF's ``NUM_PROXIES`` is not read). Redis down:
``WALRUS_RATELIMIT_ON_ERROR``. Redis key: ``django_walrus:throttle:<scope>:<ident>`` (one rate)
or ``django_walrus:throttle:<scope>:<limit>/<per>:<ident>`` (each of several).
"""

from __future__ import annotations

try:  # DRF is an optional extra: say which one, not a bare "No module named 'rest_framework'"
    import rest_framework  # noqa: F401 (only checks that it is installed)
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
    if exc.name != "rest_framework":
        raise
    raise ModuleNotFoundError(
        "django_walrus.throttling needs Django REST framework: pip install '.[drf]' (in a checkout "
        "of the walrus suite) or pip install 'djangorestframework>=3.14'",
        name="rest_framework",
    ) from exc

import threading
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from walrus.rate_limit import Decision, PreparedRate, check_strategy, decide, parse_rates

from .conf import get_database
from .ratelimit import client_ip, outage_log
from .ratelimit_settings import get_settings

__all__ = [
    "KEY_BASE",
    "AnonRateThrottle",
    "ScopedRateThrottle",
    "UserRateThrottle",
    "WalrusAnonRateThrottle",
    "WalrusRateThrottle",
    "WalrusScopedRateThrottle",
    "WalrusUserRateThrottle",
]

KEY_BASE = "django_walrus:throttle"
"""Prefix of the throttles' Redis keys (``<KEY_BASE>:<scope>``)."""
_lock = threading.Lock()
_prepared: dict[tuple[str, Any, str], tuple[PreparedRate, ...]] = {}


def rules_for(scope: str, rate: Any, strategy: str) -> tuple[PreparedRate, ...]:
    """The prepared rates of ``rate`` in ``scope`` (built once per value; ImproperlyConfigured
    naming the scope for a rate the core cannot read). No Redis work."""
    cache_key = (scope, rate if not isinstance(rate, list) else tuple(rate), strategy)
    found = _prepared.get(cache_key)
    if found is not None:
        return found
    try:
        rates = parse_rates(rate, f"throttle rate of scope {scope!r}")
        name = f"{KEY_BASE}:{scope}"
        if len(rates) == 1:
            found = (PreparedRate(name, rates[0].limit, rates[0].per, strategy),)
        else:
            found = tuple(PreparedRate(f"{name}:{n}/{p:g}", n, p, strategy) for n, p in rates)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']: {exc}") from None
    with _lock:
        if len(_prepared) < 1024:
            _prepared[cache_key] = found
    return found


limits_for = rules_for  # old name, kept importable


class WalrusRateThrottle(BaseThrottle):  # type: ignore[misc]  # DRF ships no types: Any base
    """A throttle of ``rate`` (or ``DEFAULT_THROTTLE_RATES[scope]``) per ``get_cache_key``.

    Subclasses set ``scope`` (or ``rate``) and override ``get_cache_key(request, view)``
    returning the client's key, or None to leave the request alone. ``strategy`` (None: the
    ``WALRUS_RATELIMIT_STRATEGY`` setting), ``cost`` (events per request) and ``alias`` (the
    ``WALRUS`` alias) may be set on a subclass. Cost: 1 round trip per throttled request.
    """

    scope: str | None = None
    rate: Any = None
    strategy: str | None = None
    cost: int = 1
    alias: str = "default"

    def __init__(self) -> None:
        if not getattr(self, "rate", None):
            self.rate = self.get_rate()
        self.decision: Decision | None = None

    def get_rate(self) -> Any:
        """``DEFAULT_THROTTLE_RATES[scope]`` (read now, so that settings overrides apply). No Redis
        work."""
        if not getattr(self, "scope", None):
            raise ImproperlyConfigured(f"set .scope or .rate on the throttle {type(self).__name__}")
        try:
            return api_settings.DEFAULT_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(
                f"REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'] has no rate for the scope"
                f" {self.scope!r} (throttle {type(self).__name__})"
            ) from None

    def get_ident(self, request: Any) -> str:
        """The client address (the core's ``client_address`` under the trusted-proxy setting). No
        Redis work."""
        return client_ip(request)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        """The client key of ``request`` (None: not throttled); subclasses define it. No Redis
        work."""
        raise NotImplementedError(".get_cache_key() must be overridden")

    def rules(self) -> tuple[PreparedRate, ...]:
        """The prepared rates of this throttle's scope and rate (``()`` for a rate of None). No
        Redis work."""
        if self.rate is None:
            return ()
        strategy = (
            check_strategy(self.strategy) if self.strategy is not None else get_settings().strategy
        )
        return rules_for(str(self.scope or "rate"), self.rate, strategy)

    limits = rules  # old name, kept callable

    def allow_request(self, request: Any, view: Any) -> bool:
        """Whether ``request`` fits the throttle's rate, recording it when it does: 1 round trip
        (one script), none when the throttle has no rate or no key."""
        rules = self.rules()
        if not rules:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        settings = get_settings()
        self.decision = decide(
            get_database(self.alias),
            rules,
            [str(key)] * len(rules),
            self.cost,
            on_error=settings.on_error,
            outage_log=outage_log,
        )
        return self.decision.allowed

    def wait(self) -> float | None:
        """Seconds until the refused request would fit (the decision's retry-after). No Redis
        work."""
        decision = self.decision
        if decision is None or decision.allowed:
            return None
        return decision.retry_after


def _user_or_ident(throttle: WalrusRateThrottle, request: Any) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{throttle.get_ident(request)}"


class WalrusAnonRateThrottle(WalrusRateThrottle):
    """Anonymous requests, by address, at ``DEFAULT_THROTTLE_RATES["anon"]``."""

    scope = "anon"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        """Anonymous requests by address (None for an authenticated user: not throttled). No Redis
        work."""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return None  # only anonymous requests
        return self.get_ident(request)


class WalrusUserRateThrottle(WalrusRateThrottle):
    """Every request, by user (anonymous ones by address), at ``DEFAULT_THROTTLE_RATES["user"]``."""

    scope = "user"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        """Authenticated users by pk, others by address. No Redis work."""
        return _user_or_ident(self, request)


class WalrusScopedRateThrottle(WalrusRateThrottle):
    """Views with a ``throttle_scope`` attribute, by user (or address), at
    ``DEFAULT_THROTTLE_RATES[view.throttle_scope]``; views without one are not throttled."""

    scope_attr = "throttle_scope"

    def __init__(self) -> None:  # the scope is known once the view calls
        self.decision = None

    def allow_request(self, request: Any, view: Any) -> bool:
        """As the base, with the scope and rate of the view's ``throttle_scope``: 1 round trip,
        none for a view without a scope."""
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        """Authenticated users by pk, others by address. No Redis work."""
        return _user_or_ident(self, request)


# DRF's names, for a one-line migration (import these instead of rest_framework.throttling's)
AnonRateThrottle = WalrusAnonRateThrottle
"""Django REST framework's name for `WalrusAnonRateThrottle`: import this instead of
``rest_framework.throttling``'s."""
UserRateThrottle = WalrusUserRateThrottle
"""Django REST framework's name for `WalrusUserRateThrottle`."""
ScopedRateThrottle = WalrusScopedRateThrottle
"""Django REST framework's name for `WalrusScopedRateThrottle`."""
