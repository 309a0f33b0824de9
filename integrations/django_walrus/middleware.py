"""``RateLimitMiddleware``: site-wide default rates from settings.

::

    # after AuthenticationMiddleware, so that key "user_or_ip" sees the user
    MIDDLEWARE = [..., "django_walrus.middleware.RateLimitMiddleware"]
    WALRUS_RATELIMIT_DEFAULT = "100/minute; 2000/hour"   # per view, for views without @rate_limited
    WALRUS_RATELIMIT_APPLICATION = "5000/hour"           # one budget shared by every view
    WALRUS_RATELIMIT_DEFAULT_KEY = "user_or_ip"          # as rate_limited's key= (default "ip")
    WALRUS_RATELIMIT_EXEMPT_PATHS = ["/static/", "/health"]

A view's default budget is named after the view (``<module>.<qualname>``), so each view has
its own; views with their own ``@rate_limited`` leave the default rates out (they keep the
application rates); ``@rate_limit_exempt`` views and the exempt path prefixes are never
limited by the middleware. The default and application rates of a request are decided
together: one Lua call (1 round trip), all-or-nothing. Requests that resolve to no view (404)
are not limited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from walrus.rate_limit import PreparedRate, decide

from .conf import get_database
from .ratelimit import (
    EXEMPT_MARK,
    KEY_BASE,
    LIMITED_MARK,
    add_headers,
    key_function,
    outage_log,
    refusal_response,
)
from .ratelimit_settings import RateLimitSettings, get_settings

__all__ = ["APPLICATION_GROUP", "RateLimitMiddleware"]

APPLICATION_GROUP = "__application__"
"""The group of WALRUS_RATELIMIT_APPLICATION's budget."""
_DECISION = "_walrus_middleware_decision"


def _marked(view: Any, mark: str) -> bool:
    if getattr(view, mark, False):
        return True
    view_class = getattr(view, "view_class", None)  # class-based: method_decorator on dispatch
    return view_class is not None and bool(
        getattr(getattr(view_class, "dispatch", None), mark, False)
    )


class RateLimitMiddleware:
    """Applies ``WALRUS_RATELIMIT_DEFAULT`` and ``WALRUS_RATELIMIT_APPLICATION`` (see the
    module docstring). Settings are read (and validated) once, on the first request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._plans: dict[tuple[int, Any], tuple[tuple[PreparedRate, ...], str]] = {}
        self._key_funcs: dict[Any, Callable[[str, HttpRequest], Any]] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        decision = request.__dict__.pop(_DECISION, None)
        if decision is not None:
            add_headers(response, decision)
        return response

    def _plan(self, settings: RateLimitSettings, view: Any) -> tuple[tuple[PreparedRate, ...], str]:
        """The prepared rates of ``view`` (cached per view and settings) and its group name."""
        cache_key = (id(view), settings)
        found = self._plans.get(cache_key)
        if found is not None:
            return found
        rules: list[PreparedRate] = []
        target = getattr(view, "view_class", view)
        group = (
            f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(target))}"
        )
        if settings.default and not _marked(view, LIMITED_MARK):
            rates = settings.default
            name = f"{KEY_BASE}:{group}"
            rules += [
                PreparedRate(
                    name if len(rates) == 1 else f"{name}:{n}/{p:g}", n, p, settings.strategy
                )
                for n, p in rates
            ]
        application = settings.application
        name = f"{KEY_BASE}:{APPLICATION_GROUP}"
        rules += [
            PreparedRate(
                name if len(application) == 1 else f"{name}:{n}/{p:g}", n, p, settings.strategy
            )
            for n, p in application
        ]
        found = (tuple(rules), group)
        if len(self._plans) < 4096:
            self._plans[cache_key] = found
        return found

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        """Apply the default and application rates to a view about to run: None to let it run,
        else the 429 response. 1 round trip for a limited view (one script for all its rates),
        none otherwise."""
        settings = get_settings()
        if not settings.default and not settings.application:
            return None
        if _marked(view, EXEMPT_MARK) or request.path_info.startswith(settings.exempt_paths):
            return None
        rates, group = self._plan(settings, view)
        if not rates:
            return None
        key_func = self._key_funcs.get(settings.default_key)
        if key_func is None:
            key_func = self._key_funcs[settings.default_key] = key_function(
                settings.default_key, "WALRUS_RATELIMIT_DEFAULT_KEY"
            )
        key = key_func(group, request)
        key = key if isinstance(key, str) else str(key)
        decision = decide(get_database(settings.alias), rates, [key] * len(rates), 1,
                          on_error=settings.on_error, outage_log=outage_log)  # fmt: skip
        if not decision.allowed:
            request.limited = True
            return refusal_response(request, group, decision)
        request.__dict__[_DECISION] = decision
        return None
