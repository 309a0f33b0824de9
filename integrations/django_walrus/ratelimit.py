"""Rate limits for Django views: ``@rate_limited``, ``is_ratelimited`` and the 429 response.

::

    @rate_limited("5/m;100/h", key="user_or_ip", methods=["POST"], group="login")
    def login(request): ...

    @method_decorator(rate_limited(10, 60, key="header:X-Api-Key"), name="dispatch")
    class NoteCreate(View): ...

    if is_ratelimited(request, rate="5/minute", key="post:username", group="login"): ...

Every decision is the core limiter's (``walrus.rate_limit.decide``: one Lua call, server
clock, all-or-nothing over the rates of one decorator); the client address, header values and
the outage policy are the core's too. This module reads Django (the request, the
``WALRUS_RATELIMIT_*`` settings of ``ratelimit_settings``) and shapes responses.

Redis key of a rate: ``django_walrus:rl:<group>:<client key>`` for a decorator with one fixed
rate (upstream-compatible, and the layout of earlier versions), and
``django_walrus:rl:<group>:<limit>/<per>:<client key>`` for each rate of a multi-rate or
callable rate (so that different rates never share a budget). The core adds ``#f``/``#s``/
``#g`` for the strategies other than moving-window and hash-tags the client key on a cluster.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.html import escape

from walrus.asyncio import adecide
from walrus.rate_limit import (
    Decision,
    OutageLog,
    PreparedRate,
    Rate,
    check_cost,
    check_strategy,
    client_address,
    decide,
    parse_rates,
    rate_limit_headers,
)

from .conf import get_async_database, get_database
from .ratelimit_settings import get_settings

__all__ = [
    "KEY_BASE",
    "RateLimited",
    "client_ip",
    "is_ratelimited",
    "key_function",
    "rate_limit_exempt",
    "rate_limited",
    "registered_rates",
    "too_many_requests",
]

logger = logging.getLogger("django_walrus.ratelimit")
outage_log = OutageLog(logger)
KEY_BASE = "django_walrus:rl"
"""Names of every prepared rate: ``<KEY_BASE>:<group>[:<limit>/<per>]``."""
#: Set on a view by ``@rate_limited`` (the middleware leaves such views' default rates out)
#: and by ``@rate_limit_exempt``.
LIMITED_MARK = "_walrus_rate_limited"
EXEMPT_MARK = "_walrus_rate_limit_exempt"
KEY_NAMES = ("ip", "user", "user_or_ip")
KEY_PREFIXES = ("header:", "get:", "post:")
_CACHE_SIZE = 1024  # rates prepared for values a callable rate returned, per decorator

KeyFunc = Callable[[str, HttpRequest], Any]

# group -> the limiter of its fixed rates (for `manage.py walrus_ratelimit`)
_registry: dict[str, _Limiter] = {}


class RateLimited(Exception):  # noqa: N818 (django-ratelimit's name is Ratelimited)
    """A refused request: what ``WALRUS_RATELIMIT_VIEW`` receives beside the request.

    ``group``, ``decision`` (``walrus.rate_limit.Decision``), ``retry_after`` (seconds, float),
    ``limit`` (events per window of the rate reported), ``headers`` (the rate-limit header
    pairs the response gets)."""

    def __init__(self, group: str, decision: Decision, headers: list[tuple[str, str]]) -> None:
        self.group = group
        self.decision = decision
        self.retry_after = decision.retry_after
        self.limit = decision.limit
        self.headers = headers
        per = decision.rates[decision.report_index()].per
        super().__init__(f"rate limit of {decision.limit} per {per:g} s reached for {group!r}")


def client_ip(request: HttpRequest) -> str:
    """The client address: REMOTE_ADDR, or the X-Forwarded-For entry added by the outermost of
    ``WALRUS_RATELIMIT_TRUSTED_PROXIES`` proxies (the core's ``client_address``).
    No Redis work."""
    trusted = get_settings().trusted_proxies
    meta = request.META
    return client_address(
        meta.get("REMOTE_ADDR"), meta.get("HTTP_X_FORWARDED_FOR") if trusted else None, trusted
    )


def _user_or_ip(group: str, request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request)}"


def _arity(fn: Callable[..., Any]) -> int:
    """1 for ``fn(request)``, 2 for ``fn(group, request)`` (django-ratelimit's form)."""
    try:
        params = [
            p for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]  # fmt: skip
        varargs = any(p.kind is p.VAR_POSITIONAL for p in inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature
        return 2
    return 2 if len(params) >= 2 or (varargs and len(params) < 2) else 1


def _two_args(fn: Callable[..., Any]) -> Callable[[str, HttpRequest], Any]:
    if _arity(fn) == 2:
        return fn
    return lambda group, request: fn(request)


def key_function(key: Any, what: str = "rate_limited key") -> KeyFunc:
    """``key(group, request) -> client key`` for ``"ip"``, ``"user"``/``"user_or_ip"`` (the
    user's pk when authenticated, else the address), ``"header:<name>"``, ``"get:<param>"``,
    ``"post:<param>"`` or a callable ``key(group, request)`` (or ``key(request)``).
    ValueError naming ``what`` for anything else. No Redis work."""
    if callable(key):
        return _two_args(key)
    if key == "ip":
        return lambda group, request: client_ip(request)
    if key in ("user", "user_or_ip"):
        return _user_or_ip
    if isinstance(key, str):
        kind, _, name = key.partition(":")
        if name and kind == "header":
            upper = name.upper().replace("-", "_")
            meta = upper if upper in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + upper
            return lambda group, request: str(request.META.get(meta, ""))
        if name and kind == "get":
            return lambda group, request: request.GET.get(name, "")
        if name and kind == "post":
            return lambda group, request: request.POST.get(name, "")
    raise ValueError(
        f"{what} must be 'ip', 'user', 'user_or_ip', 'header:<name>', 'get:<param>',"
        f" 'post:<param>' or a callable key(group, request), got {key!r}"
    )


def rate_limit_exempt(view: Callable[..., Any]) -> Callable[..., Any]:
    """Leave ``view`` out of the middleware's default and application rates. No Redis work."""
    setattr(view, EXEMPT_MARK, True)
    return view


def registered_rates() -> dict[str, tuple[PreparedRate, ...]]:
    """Groups of the decorators and ``is_ratelimited`` calls with fixed rates seen so far ->
    their prepared rates (under the strategy in force). No Redis work."""
    return {group: limiter.static_rules() for group, limiter in list(_registry.items())}


registered_limits = registered_rates  # old name, kept importable


class _Limiter:
    """The request-independent part of one ``@rate_limited`` or ``is_ratelimited`` call:
    rates parsed and prepared once (per value, for a callable rate)."""

    def __init__(self, group: str, rates: Any, strategy: str | None, cost: Any, what: str) -> None:
        self.group = group
        self.name = f"{KEY_BASE}:{group}"
        self.strategy = strategy
        self.what = what
        self.provider: Callable[[str, HttpRequest], Any] | None = None
        self.rates: tuple[Rate, ...] = ()
        # prepared rates by strategy: the default strategy is a setting, read on the first request
        self._static: dict[str, tuple[PreparedRate, ...]] = {}
        self._built: dict[Any, tuple[PreparedRate, ...]] = {}
        if strategy is not None:
            check_strategy(strategy)
        if callable(rates):
            self.provider = _two_args(rates)
        else:
            self.rates = parse_rates(rates, what)
            if not self.rates:
                raise ValueError(
                    f"{what} needs a rate: '5/minute', '5/m;100/h', an int with per, or a callable"
                )
            self._build(self.rates, strategy or "moving-window")  # names and rates checked now
        if callable(cost):
            self.cost: int | Callable[[str, HttpRequest], Any] = _two_args(cost)
        else:
            self.cost = check_cost(cost, None, what)
            for n, _ in self.rates:
                check_cost(cost, n, what)

    def _build(self, rates: Sequence[Rate], strategy: str) -> tuple[PreparedRate, ...]:
        if len(rates) == 1 and self.provider is None:  # the upstream-compatible layout
            return (PreparedRate(self.name, rates[0].limit, rates[0].per, strategy),)
        return tuple(PreparedRate(f"{self.name}:{n}/{p:g}", n, p, strategy) for n, p in rates)

    def static_rules(self) -> tuple[PreparedRate, ...]:
        """The fixed rates, prepared under the strategy in force (() for a callable rate)."""
        strategy = self.strategy or get_settings().strategy
        found = self._static.get(strategy)
        if found is None:
            found = self._static[strategy] = self._build(self.rates, strategy) if self.rates else ()
        return found

    def rules_for(self, request: HttpRequest) -> tuple[PreparedRate, ...]:
        """The prepared rates ``request`` is held to (a callable rate's value, prepared once)."""
        if self.provider is None:
            return self.static_rules()
        value = self.provider(self.group, request)
        strategy = self.strategy or get_settings().strategy
        try:
            cache_key: Any = (
                strategy,
                value if isinstance(value, (str, int)) or value is None else tuple(value),
            )
            found = self._built.get(cache_key)
        except TypeError:
            cache_key, found = (strategy, repr(value)), None
        if found is None:
            found = self._build(parse_rates(value, f"{self.what} (callable rate)"), strategy)
            if len(self._built) < _CACHE_SIZE:
                self._built[cache_key] = found
        return found

    def cost_for(self, request: HttpRequest) -> int:
        cost = self.cost
        if callable(cost):
            value = cost(self.group, request)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise TypeError(
                    f"{self.what}: the cost callable must return an int >= 0, got {value!r}"
                )
            return value
        return cost

    def prepare(
        self, request: HttpRequest, key_func: KeyFunc
    ) -> tuple[tuple[PreparedRate, ...], str, int] | Decision | None:
        """What deciding ``request`` needs: (rates, client key, cost), or the decision already
        taken without Redis (None: no rate applies; a refusal: a cost no rate can hold).
        Runs the user's callables (rates, cost, key). No Redis work."""
        rules = self.rules_for(request)
        if not rules:
            return None
        cost = self.cost_for(request)
        tightest = min(range(len(rules)), key=lambda i: rules[i].limit)
        if cost > rules[tightest].limit:  # a computed cost no rate can hold
            return Decision.refusal(rules, tightest)
        client = key_func(self.group, request)
        return rules, client if isinstance(client, str) else str(client), cost

    def check(
        self, request: HttpRequest, key_func: KeyFunc, alias: str, increment: bool = True
    ) -> Decision | None:
        """The decision for ``request`` (None: no rate applies). 1 round trip."""
        prepared = self.prepare(request, key_func)
        if not isinstance(prepared, tuple):
            return prepared
        rules, key, cost = prepared
        on_error = get_settings().on_error
        return decide(get_database(alias), rules, [key] * len(rules), cost,
                      dry_run=not increment, on_error=on_error,
                      outage_log=outage_log)  # fmt: skip

    async def acheck(
        self, request: HttpRequest, key_func: KeyFunc, alias: str, increment: bool = True
    ) -> Decision | None:
        """``check`` from async code: the Lua call on the running loop's client (1 round trip,
        no thread). The user's callables run in the loop; one that needs the ORM (Django
        raises SynchronousOnlyOperation there) runs in a worker thread instead. On a Redis
        Cluster alias: one Lua call per hash-slot group of the rules' keys, as ``check``."""
        from asgiref.sync import sync_to_async
        from django.core.exceptions import SynchronousOnlyOperation

        try:
            prepared = self.prepare(request, key_func)
        except SynchronousOnlyOperation:
            prepared = await sync_to_async(self.prepare)(request, key_func)
        if not isinstance(prepared, tuple):
            return prepared
        rules, key, cost = prepared
        on_error = get_settings().on_error
        return await adecide(get_async_database(alias), rules, [key] * len(rules), cost,
                             dry_run=not increment, on_error=on_error,
                             outage_log=outage_log)  # fmt: skip


def _wants_json(request: HttpRequest) -> bool:
    accept: str = request.META.get("HTTP_ACCEPT", "").lower()
    json_at = min(
        (i for i in (accept.find("application/json"), accept.find("+json")) if i >= 0), default=-1
    )
    if json_at < 0:
        return False
    html_at = accept.find("text/html")
    return html_at < 0 or json_at < html_at


def too_many_requests(request: HttpRequest, exception: RateLimited) -> HttpResponse:
    """The default 429: JSON when the client asks for ``application/json`` first, else a short
    HTML page. The rate-limit headers are added by the caller. No Redis work."""
    wait = max(1, -int(-exception.retry_after // 1))
    if _wants_json(request):
        body = {"error": "rate_limited", "detail": f"Too many requests: retry in {wait} s.",
                "retry_after": wait, "limit": exception.limit}  # fmt: skip
        return HttpResponse(json.dumps(body), status=429, content_type="application/json")
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        "<title>429 Too many requests</title></head>\n"
        f"<body><h1>Too many requests</h1><p>The limit of {exception.limit} requests for "
        f"{escape(exception.group)} is reached; retry in {wait} s.</p></body></html>\n"
    )
    return HttpResponse(page, status=429, content_type="text/html; charset=utf-8")


def refusal_response(request: HttpRequest, group: str, decision: Decision) -> HttpResponse:
    """The 429 for ``decision``: ``WALRUS_RATELIMIT_VIEW(request, exception)`` or the default,
    with ``Retry-After`` and the rate-limit headers of the configured style."""
    settings = get_settings()
    headers = rate_limit_headers(decision, settings.headers)
    exception = RateLimited(group, decision, headers)
    view = settings.view or too_many_requests
    response = view(request, exception)
    for name, value in headers:
        if name not in response:
            response[name] = value
    return response


def add_headers(response: HttpResponse, decision: Decision | None) -> None:
    """Copy the headers of an allowed ``decision`` taken by Redis onto ``response``."""
    if decision is None or decision.error is not None:
        return
    style = get_settings().headers
    if style != "none":
        for name, value in rate_limit_headers(decision, style):
            response[name] = value


def _methods(methods: Any, what: str) -> frozenset[str] | None:
    if methods is None or methods == "ALL":
        return None
    if isinstance(methods, str):
        methods = [methods]
    if not isinstance(methods, Iterable):
        raise TypeError(f"{what}: methods must be a list of HTTP methods, got {methods!r}")
    found = frozenset(str(m).upper() for m in methods)
    if not found:
        raise ValueError(f"{what}: methods must not be empty (omit it to limit every method)")
    return found


def _rates_argument(limit: Any, per: Any, rate: Any, what: str) -> Any:
    if rate is not None:
        if limit is not None or per is not None:
            raise ValueError(f"{what}: pass the rate once (rate=, or limit and per)")
        return rate
    if limit is None:
        raise ValueError(
            f"{what} needs a rate: '5/minute', '5/m;100/h', an int with per, or a callable"
        )
    if isinstance(limit, bool) or per is not None or isinstance(limit, int):
        if not isinstance(limit, int) or isinstance(limit, bool):
            raise ValueError(f"{what}: per goes with an int limit, got limit {limit!r}")
        return [(limit, 60.0 if per is None else per)]
    return limit


def rate_limited(
    limit: Any = None,
    per: float | None = None,
    *,
    rate: Any = None,
    key: str | Callable[..., Any] = "ip",
    methods: Iterable[str] | str | None = None,
    block: bool = True,
    group: str | None = None,
    cost: int | Callable[..., int] = 1,
    strategy: str | None = None,
    alias: str = "default",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Limit a view: ``@rate_limited("5/m;100/h")``, ``@rate_limited(5, 60)`` or
    ``@rate_limited(rate=lambda group, request: ...)`` (returning rates, or None: no limit).

    ``key``: who a client is (see ``key_function``); ``methods``: only these HTTP methods;
    ``group``: the budget's name, shared by views with the same group (default: the view's
    dotted name); ``block=False`` lets refused requests through with ``request.limited``
    True; ``cost``: events a request spends (an int, or ``cost(group, request)``);
    ``strategy``: one of ``walrus.rate_limit.STRATEGIES`` (default
    ``WALRUS_RATELIMIT_STRATEGY``); ``alias``: the ``WALRUS`` alias. Bad arguments raise
    ValueError/TypeError here, at decoration time. Cost: 1 round trip per limited request.
    """
    what = "rate_limited"
    rates = _rates_argument(limit, per, rate, what)
    key_func = key_function(key)
    method_set = _methods(methods, what)
    _check_decorator_options(rates, group, block, cost, strategy, what)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        name = group or f"{view.__module__}.{view.__qualname__}"
        limiter = _Limiter(name, rates, strategy, cost, what)
        if limiter.provider is None:
            _registry[name] = limiter
        gate = _Gate(limiter, key_func, method_set, block, alias)
        wrapped = (
            _async_view(view, gate) if asyncio.iscoroutinefunction(view) else _view(view, gate)
        )
        setattr(wrapped, LIMITED_MARK, True)
        return wrapped

    return decorator


def _check_decorator_options(
    rates: Any, group: Any, block: Any, cost: Any, strategy: str | None, what: str
) -> None:
    """Refuse bad ``rate_limited`` arguments at decoration time, whatever the view."""
    if strategy is not None:
        check_strategy(strategy)
    if group is not None and (not isinstance(group, str) or not group):
        raise ValueError(f"{what}: group must be a non-empty str, got {group!r}")
    if not isinstance(block, bool):
        raise TypeError(f"{what}: block must be True or False, got {block!r}")
    if not callable(rates):  # parse and prepare the rates once, under a placeholder group
        _Limiter("_", rates, strategy, cost, what)
    elif not callable(cost):
        check_cost(cost, None, what)


class _Gate:
    """What a view decorated by ``rate_limited`` does before it runs: decide, then refuse."""

    def __init__(
        self,
        limiter: _Limiter,
        key_func: KeyFunc,
        method_set: frozenset[str] | None,
        block: bool,
        alias: str,
    ) -> None:
        self.limiter = limiter
        self.key_func = key_func
        self.method_set = method_set
        self.block = block
        self.alias = alias

    def check(self, request: HttpRequest) -> Decision | None:
        """The decision (None: a method not limited, or no rate applies). 1 round trip."""
        if self.method_set is not None and request.method not in self.method_set:
            return None
        return self.limiter.check(request, self.key_func, self.alias)

    async def acheck(self, request: HttpRequest) -> Decision | None:
        """``check`` on asyncio (``_Limiter.acheck``). 1 round trip."""
        if self.method_set is not None and request.method not in self.method_set:
            return None
        return await self.limiter.acheck(request, self.key_func, self.alias)

    def refused(self, request: HttpRequest, decision: Decision | None) -> HttpResponse | None:
        """Set ``request.limited``; the 429 to send instead of the view, if blocking."""
        over = decision is not None and not decision.allowed
        request.limited = getattr(request, "limited", False) or over
        if over and self.block:
            assert decision is not None
            return refusal_response(request, self.limiter.group, decision)
        return None


def _view(view: Callable[..., Any], gate: _Gate) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        decision = gate.check(request)
        response = gate.refused(request, decision)
        if response is not None:
            return response
        response = view(request, *args, **kwargs)
        add_headers(response, decision)
        return response

    return wrapped


def _async_view(view: Callable[..., Any], gate: _Gate) -> Callable[..., Any]:
    from asgiref.sync import sync_to_async

    @wraps(view)
    async def async_wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        decision = await gate.acheck(request)  # natively, in the loop
        # sync: WALRUS_RATELIMIT_VIEW may use the ORM
        response = (
            await sync_to_async(gate.refused)(request, decision)
            if decision is not None and not decision.allowed
            else gate.refused(request, decision)
        )
        if response is not None:
            return response
        response = await view(request, *args, **kwargs)
        add_headers(response, decision)
        return response

    return async_wrapped


_functions: dict[tuple[Any, ...], _Limiter] = {}


def is_ratelimited(
    request: HttpRequest,
    rate: Any = None,
    key: str | Callable[..., Any] = "ip",
    group: str | None = None,
    increment: bool = True,
    *,
    methods: Iterable[str] | str | None = None,
    cost: int | Callable[..., int] = 1,
    strategy: str | None = None,
    alias: str = "default",
) -> bool:
    """True when ``request`` is over ``rate`` in ``group`` (the same budget as a decorator
    with that group and rate). ``increment=False`` only looks (records nothing). Sets
    ``request.limited`` too. Requests of other ``methods`` are never limited. Cost: 1 round
    trip (none for a method not limited)."""
    what = "is_ratelimited"
    if not isinstance(group, str) or not group:
        raise ValueError(
            f"{what} needs group=, the name of the budget (a non-empty str), got {group!r}"
        )
    if rate is None:
        raise ValueError(f"{what} needs rate=, e.g. '5/minute' or '5/m;100/h'")
    method_set = _methods(methods, what)
    if method_set is not None and request.method not in method_set:
        return False
    try:
        cache_key: tuple[Any, ...] = (
            group,
            rate if not isinstance(rate, list) else tuple(rate),
            strategy,
            cost if not callable(cost) else id(cost),
        )
        hash(cache_key)
    except TypeError:
        cache_key = (group, repr(rate), strategy, repr(cost))
    limiter = _functions.get(cache_key)
    if limiter is None:
        limiter = _Limiter(group, rate, strategy, cost, what)
        if len(_functions) < _CACHE_SIZE:
            _functions[cache_key] = limiter
        if limiter.provider is None:
            _registry.setdefault(group, limiter)
    decision = limiter.check(request, key_function(key, what), alias, increment)
    over = decision is not None and not decision.allowed
    request.limited = getattr(request, "limited", False) or over
    return over
