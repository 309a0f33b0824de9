"""``@rate_limited`` for Django views: one Redis call per request, server clock, 429 on refusal.

::

    @rate_limited("5/minute", key="ip")
    def contact(request): ...

    @method_decorator(rate_limited(10, 60, key="user", methods=["POST"]), name="dispatch")
    class NoteCreate(View): ...

Refused requests get HTTP 429 with ``Retry-After`` and ``X-RateLimit-Limit/Remaining/Reset``;
allowed responses carry the ``X-RateLimit-*`` headers too. With ``block=False`` the view runs
and ``request.limited`` says whether it was over the limit. Settings:
``WALRUS_RATELIMIT_ON_ERROR`` ("allow" default, or "deny") decides what happens when Redis is
unreachable; ``WALRUS_RATELIMIT_TRUSTED_PROXIES`` (int, default 0) is how many proxies in
front of Django append to ``X-Forwarded-For`` (opt-in: the header is ignored by default).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from redis.exceptions import RedisError

from walrus.rate_limit import LimitSpec, RateLimitResult, check_limits, parse_rate

from .conf import get_database

__all__ = ["client_ip", "rate_limited"]

logger = logging.getLogger("django_walrus.ratelimit")
KeyFunc = Callable[[HttpRequest], str]
_outage_logged_at = 0.0


def client_ip(request: HttpRequest) -> str:
    """The client address: REMOTE_ADDR, or the entry of X-Forwarded-For added by the last
    trusted proxy when ``WALRUS_RATELIMIT_TRUSTED_PROXIES`` > 0."""
    trusted = int(getattr(settings, "WALRUS_RATELIMIT_TRUSTED_PROXIES", 0) or 0)
    if trusted > 0:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()]
        if len(forwarded) >= trusted:
            return forwarded[-trusted]
    return str(request.META.get("REMOTE_ADDR", "unknown"))


def _key_function(key: str | KeyFunc) -> KeyFunc:
    if callable(key):
        return key
    if key == "ip":
        return client_ip
    if key == "user":
        def by_user(request: HttpRequest) -> str:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                return f"user:{user.pk}"
            return f"ip:{client_ip(request)}"

        return by_user
    if isinstance(key, str) and key.startswith("header:"):
        meta = "HTTP_" + key[len("header:") :].upper().replace("-", "_")
        return lambda request: str(request.META.get(meta, ""))
    raise ValueError(f"rate_limited key must be 'ip', 'user', 'header:<Name>' or a callable, got {key!r}")


def _headers(response: HttpResponse, result: RateLimitResult) -> None:
    response["X-RateLimit-Limit"] = str(result.limit)
    response["X-RateLimit-Remaining"] = str(max(result.remaining, 0))
    response["X-RateLimit-Reset"] = str(math.ceil(result.reset_after))
    if not result.allowed:
        response["Retry-After"] = str(max(1, math.ceil(result.retry_after)))


def _refused(result: RateLimitResult) -> HttpResponse:
    response = HttpResponse(
        f"Too many requests: limit of {result.limit} reached; retry in {max(1, math.ceil(result.retry_after))} s.\n",
        status=429,
        content_type="text/plain; charset=utf-8",
    )
    _headers(response, result)
    return response


def rate_limited(
    limit: int | str,
    per: float | None = None,
    *,
    key: str | KeyFunc = "ip",
    methods: Iterable[str] | None = None,
    block: bool = True,
    group: str | None = None,
    cost: int = 1,
    alias: str = "default",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Limit a view to ``limit`` requests per ``per`` seconds per key (or ``"5/minute"``).

    ``group`` shares one budget between views (default: the view's dotted name); ``methods``
    limits only those HTTP methods. Cost: one Redis round trip per limited request.
    """
    if isinstance(limit, str):
        if per is not None:
            raise ValueError("rate_limited: pass either a rate string or limit and per, not both")
        limit, per = parse_rate(limit)
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"rate_limited limit must be a positive int, got {limit!r}")
    per = 60.0 if per is None else per
    if not isinstance(per, (int, float)) or per <= 0:
        raise ValueError(f"rate_limited per must be a positive number of seconds, got {per!r}")
    if not isinstance(cost, int) or cost < 1:
        raise ValueError(f"rate_limited cost must be a positive int, got {cost!r}")
    key_func = _key_function(key)
    allowed_methods = None if methods is None else {m.upper() for m in methods}
    limit_count, window = limit, float(per)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        name = group or f"{view.__module__}.{view.__qualname__}"

        def decide(request: HttpRequest) -> RateLimitResult | None:
            if allowed_methods is not None and request.method not in allowed_methods:
                return None
            spec = LimitSpec(name=f"django_walrus:rl:{name}", key=key_func(request), limit=limit_count, per=window)
            try:
                return check_limits(get_database(alias), [spec], cost)[0]
            except RedisError as exc:
                return _on_error(exc, limit_count, window)

        def after(request: HttpRequest, result: RateLimitResult | None) -> HttpResponse | None:
            request.limited = bool(result is not None and not result.allowed)  # type: ignore[attr-defined]
            if result is not None and not result.allowed and block:
                return _refused(result)
            return None

        if asyncio.iscoroutinefunction(view):
            from asgiref.sync import sync_to_async

            @wraps(view)
            async def async_wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                result = await sync_to_async(decide)(request)
                refused = after(request, result)
                if refused is not None:
                    return refused
                response = await view(request, *args, **kwargs)
                if result is not None:
                    _headers(response, result)
                return response

            return async_wrapped

        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            result = decide(request)
            refused = after(request, result)
            if refused is not None:
                return refused
            response = view(request, *args, **kwargs)
            if result is not None:
                _headers(response, result)
            return response

        return wrapped

    return decorator


def _on_error(exc: Exception, limit: int, per: float) -> RateLimitResult | None:
    """Apply WALRUS_RATELIMIT_ON_ERROR; log once per outage (at most once a minute)."""
    global _outage_logged_at
    policy = getattr(settings, "WALRUS_RATELIMIT_ON_ERROR", "allow")
    if policy not in ("allow", "deny"):
        raise ValueError(f"WALRUS_RATELIMIT_ON_ERROR must be 'allow' or 'deny', got {policy!r}")
    now = time.monotonic()
    if now - _outage_logged_at > 60:
        _outage_logged_at = now
        logger.error("rate limit check failed (policy %s): %r", policy, exc)
    if policy == "allow":
        return None
    return RateLimitResult(allowed=False, limit=limit, remaining=0, reset_after=per, retry_after=per)
