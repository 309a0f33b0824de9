"""Rate limits for Flask views: marks set by decorators, decided by one hook per request.

``@w.rate_limited(...)`` only records a ``Limit`` on the view (function, ``MethodView``
class or method, or ``Blueprint``); nothing is wrapped. The app's ``before_request`` hook
gathers every limit that applies to the request (the view's, its blueprints', the app-wide
defaults) once per (endpoint, method) into a ``_Plan``, decides them together in ONE Redis call
(``walrus.rate_limit.decide``: a Lua script on the server clock, all-or-nothing; on Redis
Cluster one call per hash slot the client keys fall in) and raises ``RateLimitExceeded`` (HTTP
429) on refusal; ``after_request`` adds the rate-limit headers. Redis key of a limit:
``<WALRUS_KEY_PREFIX>:rl:<scope>:<limit>/<per>:<client key>`` (scope: the ``scope``/``group``
name, default the endpoint; ``{<client key>}`` on a cluster).
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, request
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException, TooManyRequests

from walrus.rate_limit import Decision, PreparedLimit, RateLimitResult, decide

from .config import Settings, parse_limits

if TYPE_CHECKING:  # pragma: no cover
    from walrus import Database

__all__ = ["Limit", "RateLimitExceeded", "client_address", "forwarded_address"]

logger = logging.getLogger("flask_walrus")
MARKS = "__walrus_ratelimit__"
_ENVIRON_KEY = "flask_walrus.ratelimit"  # the decision, for after_request
_POLICY_NAME = re.compile(r"[^A-Za-z0-9._-]")
KeyFunc = Callable[[], Any]


@dataclass(frozen=True)
class Limit:
    """``limit`` requests per ``per`` seconds for each client key.

    ``scope`` names the budget (views with the same scope and rate share it; default: the
    endpoint); ``methods`` restricts the limit to those HTTP methods; ``key_func()`` names the
    client (default: its address); ``exempt_when()`` returning True skips the limit.
    """

    limit: int
    per: float
    scope: str | None = None
    methods: frozenset[str] | None = None
    key_func: KeyFunc | None = None
    exempt_when: Callable[[], bool] | None = None

    def __str__(self) -> str:
        return f"{self.limit} per {self.per:g} second{'s' if self.per != 1 else ''}"


@dataclass
class Marks:
    """What the decorators recorded on one view, class, method or blueprint."""

    limits: list[Limit] = field(default_factory=list)
    cost: int | Callable[[], int] | None = None
    override_defaults: bool = True
    exempt: bool = False


class RateLimitExceeded(TooManyRequests):
    """HTTP 429: ``limit`` is the ``Limit`` that refused, ``retry_after`` the seconds (float)
    until the request would fit, ``result`` the ``walrus.rate_limit.RateLimitResult``."""

    def __init__(
        self,
        limit: Limit,
        result: RateLimitResult,
        headers: list[tuple[str, str]] | None = None,
        description: str | None = None,
    ) -> None:
        wait = max(1, math.ceil(result.retry_after))
        super().__init__(description or f"Rate limit of {limit} exceeded; retry in {wait} s.")
        self.limit = limit
        self.result = result
        self.retry_after: float = result.retry_after  # type: ignore[assignment]
        self.rate_limit_headers = headers if headers is not None else [("Retry-After", str(wait))]

    def get_headers(self, environ: Any = None, scope: Any = None) -> list[tuple[str, str]]:
        return HTTPException.get_headers(self, environ, scope) + list(self.rate_limit_headers)


def forwarded_address(remote_addr: str | None, forwarded_for: str | None, trusted_proxies: int) -> str:
    """The client address given ``trusted_proxies`` proxies that each append to X-Forwarded-For:
    the entry the outermost trusted proxy added; ``remote_addr`` when there are none or too
    few entries (a forged header cannot push the choice past the trusted proxies)."""
    if trusted_proxies > 0 and forwarded_for:
        entries = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if len(entries) >= trusted_proxies:
            return entries[-trusted_proxies]
    return remote_addr or "unknown"


def client_address() -> str:
    """The current request's client address (the default ``key_func``): ``remote_addr``, or the
    X-Forwarded-For entry added by the outermost of WALRUS_RATELIMIT_TRUSTED_PROXIES proxies."""
    from flask import current_app

    state = current_app.extensions.get("walrus")
    trusted = state.settings.trusted_proxies if state is not None else 0
    return forwarded_address(request.remote_addr, request.headers.get("X-Forwarded-For"), trusted)


def build_marks(
    limit: Any,
    per: float | None,
    *,
    scope: str | None,
    group: str | None,
    methods: Iterable[str] | None,
    key_func: KeyFunc | None,
    exempt_when: Callable[[], bool] | None,
    cost: int | Callable[[], int],
    override_defaults: bool,
) -> Marks:
    """Validate ``rate_limited`` arguments (at decoration time) into ``Marks``."""
    if scope is not None and group is not None and scope != group:
        raise ValueError("rate_limited: 'scope' and 'group' are the same option; pass one of them")
    scope = scope if scope is not None else group
    if scope is not None and (not isinstance(scope, str) or not scope):
        raise ValueError(f"rate_limited scope must be a non-empty str, got {scope!r}")
    if isinstance(limit, int) and not isinstance(limit, bool):
        rates = parse_limits([(limit, 60.0 if per is None else per)], "rate_limited")
    else:
        if per is not None:
            raise ValueError("rate_limited: 'per' goes with an int limit, not with a rate string or list")
        rates = parse_limits(limit, "rate_limited")
    if not rates:
        raise ValueError("rate_limited needs a limit: an int with per, '5/minute' or a list of rates")
    method_set = None
    if methods is not None:
        if isinstance(methods, str):
            raise TypeError("rate_limited methods must be a list of HTTP methods, not a str")
        method_set = frozenset(str(m).upper() for m in methods)
        if not method_set:
            raise ValueError("rate_limited methods must not be empty (omit it to limit every method)")
    for fn, what in ((key_func, "key_func"), (exempt_when, "exempt_when")):
        if fn is not None and not callable(fn):
            raise TypeError(f"rate_limited {what} must be a callable taking no arguments, got {fn!r}")
    if not callable(cost):
        if isinstance(cost, bool) or not isinstance(cost, int) or cost < 1:
            raise ValueError(f"rate_limited cost must be an int >= 1 or a callable, got {cost!r}")
        too_small = [n for n, _ in rates if n < cost]
        if too_small:
            raise ValueError(f"rate_limited cost {cost} can never fit in a limit of {too_small[0]}")
    limits = [Limit(n, p, scope, method_set, key_func, exempt_when) for n, p in rates]
    return Marks(limits=limits, cost=cost, override_defaults=override_defaults)


def add_marks(target: Any, marks: Marks) -> None:
    """Record ``marks`` on ``target``, merging with marks of stacked decorators."""
    existing: Marks | None = target.__dict__.get(MARKS) if hasattr(target, "__dict__") else None
    if existing is None:
        setattr(target, MARKS, marks)
        return
    if marks.limits:
        if existing.cost is not None and marks.cost is not None and existing.cost != marks.cost:
            raise ValueError(f"stacked rate limits on {target!r} disagree on cost ({existing.cost!r} vs {marks.cost!r})")
        existing.limits.extend(marks.limits)
        existing.cost = marks.cost if existing.cost is None else existing.cost
        existing.override_defaults = existing.override_defaults and marks.override_defaults
    existing.exempt = existing.exempt or marks.exempt


def _marks_of(obj: Any) -> Marks | None:
    marks = getattr(obj, MARKS, None)
    return marks if isinstance(marks, Marks) else None


@dataclass(frozen=True)
class _Entry:
    limit: Limit
    prepared: PreparedLimit  # Redis key prefix <key prefix>:rl:<scope>:<limit>/<per>, ARGV
    policy: str  # name in the IETF RateLimit-Policy header


@dataclass(frozen=True)
class _Plan:
    """Everything about the limits of one (endpoint, method) that does not depend on the
    request, settled on its first request so that later ones only build keys and call Redis."""

    entries: tuple[_Entry, ...]
    cost: int | Callable[[], int]
    limits: tuple[PreparedLimit, ...] = ()
    key_funcs: tuple[KeyFunc | None, ...] = ()  # per entry, the extension default resolved
    shared_key_func: bool = True  # every entry names the client the same way
    conditional: bool = False  # some entry has exempt_when


_NO_PLAN = _Plan((), 1)


class Limiter:
    """Per-app rate limiting: plans per (endpoint, method), the hooks, outage reporting."""

    def __init__(
        self,
        app: Flask,
        database: Database,
        settings: Settings,
        key_func: KeyFunc | None,
        default_exempt_when: Callable[[], bool] | None,
    ) -> None:
        self.app = app
        self.database = database
        self.settings = settings
        self.key_func = key_func
        self.default_exempt_when = default_exempt_when
        self.key_base = f"{settings.key_prefix}:rl"
        self._plans: dict[tuple[str, str], _Plan] = {}
        self._outage = False
        self._outage_lock = threading.Lock()
        self.defaults = [Limit(n, p, exempt_when=default_exempt_when) for n, p in settings.default_limits]

    # -- outage reporting ------------------------------------------------------------------------

    def report_error(self, exc: Exception, what: str) -> None:
        """Log a Redis failure once per outage (the first failure after a success)."""
        with self._outage_lock:
            if self._outage:
                return
            self._outage = True
        logger.error(
            "flask_walrus: Redis unavailable during %s (rate limit policy on error: %s); "
            "further errors are not logged until it is back: %s: %s",
            what, self.settings.on_error, type(exc).__name__, exc,
        )  # fmt: skip

    def report_ok(self) -> None:
        if self._outage:
            with self._outage_lock:
                was, self._outage = self._outage, False
            if was:
                logger.warning("flask_walrus: Redis answers again")

    # -- plans -------------------------------------------------------------------------------

    def _plan(self, endpoint: str, method: str) -> _Plan:
        view = self.app.view_functions.get(endpoint)
        own: list[Marks] = []
        exempt = False
        sources: list[Any] = [view]
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            sources.append(view_class)
            handler = getattr(view_class, method.lower(), None)
            if handler is None and method == "HEAD":
                handler = getattr(view_class, "get", None)
            sources.append(handler)
        for name in request.blueprints:
            sources.append(self.app.blueprints.get(name))
        for source in sources:
            marks = _marks_of(source) if source is not None else None
            if marks is not None:
                exempt = exempt or marks.exempt
                if marks.limits:
                    own.append(marks)
        limits: list[Limit] = []
        cost: int | Callable[[], int] = 1
        for marks in own:
            limits.extend(marks.limits)
        if own:
            cost = next((m.cost for m in own if m.cost is not None), 1)
        static = endpoint == "static" or endpoint.endswith(".static")
        if not exempt and not static and all(not m.override_defaults for m in own):
            limits.extend(self.defaults)
        entries = []
        for lim in limits:
            if lim.methods is not None and method not in lim.methods:
                continue
            if isinstance(cost, int) and cost > lim.limit:
                raise ValueError(f"rate limit cost {cost} on {endpoint!r} can never fit in {lim}")
            scope = lim.scope or endpoint
            rate = f"{lim.limit}/{lim.per:g}"
            policy = _POLICY_NAME.sub("_", f"{scope}-{lim.limit}-per-{lim.per:g}s")
            prepared = PreparedLimit(f"{self.key_base}:{scope}:{rate}", lim.limit, lim.per)
            entries.append(_Entry(lim, prepared, policy))
        if not entries:
            return _NO_PLAN
        key_funcs = tuple(e.limit.key_func or self.key_func for e in entries)
        return _Plan(
            entries=tuple(entries),
            cost=cost,
            limits=tuple(e.prepared for e in entries),
            key_funcs=key_funcs,
            shared_key_func=len(set(map(id, key_funcs))) == 1,
            conditional=any(e.limit.exempt_when is not None for e in entries),
        )

    # -- hooks ---------------------------------------------------------------------------------

    def _client_key(self, req: Any, key_func: KeyFunc | None) -> str:
        if key_func is not None:
            return str(key_func())
        trusted = self.settings.trusted_proxies
        forwarded = req.headers.get("X-Forwarded-For") if trusted else None
        return forwarded_address(req.remote_addr, forwarded, trusted)

    def before_request(self) -> None:
        req = request._get_current_object()  # type: ignore[attr-defined]
        endpoint = req.endpoint
        if endpoint is None:
            return
        method = req.method
        plan = self._plans.get((endpoint, method))
        if plan is None:
            plan = self._plans[(endpoint, method)] = self._plan(endpoint, method)
        if not plan.entries:
            return
        entries: tuple[_Entry, ...] | list[_Entry] = plan.entries
        limits: tuple[PreparedLimit, ...] | list[PreparedLimit] = plan.limits
        key_funcs: tuple[KeyFunc | None, ...] | list[KeyFunc | None] = plan.key_funcs
        if plan.conditional:
            chosen = [i for i, e in enumerate(entries) if e.limit.exempt_when is None or not e.limit.exempt_when()]
            if not chosen:
                return
            entries = [entries[i] for i in chosen]
            limits = [limits[i] for i in chosen]
            key_funcs = [key_funcs[i] for i in chosen]
        if plan.shared_key_func:
            keys = [self._client_key(req, key_funcs[0])] * len(limits)
        else:
            known: dict[int, str] = {}
            keys = []
            for key_func in key_funcs:
                key = known.get(id(key_func))
                if key is None:
                    key = known[id(key_func)] = self._client_key(req, key_func)
                keys.append(key)
        cost = plan.cost
        if callable(cost):  # an int cost was checked against every limit when planning
            cost = cost()
            tightest = min(range(len(limits)), key=lambda i: limits[i].limit)
            if cost > limits[tightest].limit:
                message = f"Request cost {cost} exceeds the rate limit of {entries[tightest].limit}."
                self._refuse(req, entries, _refusal(limits, tightest), message)
        try:
            decision = decide(self.database, limits, keys, cost)
        except RedisError as exc:
            self.report_error(exc, "a rate limit check")
            if self.settings.on_error == "allow":
                return
            shortest = min(range(len(limits)), key=lambda i: limits[i].per) if len(limits) > 1 else 0
            decision = _refusal(limits, shortest)
        else:
            if self._outage:
                self.report_ok()
        if decision.allowed:
            req.environ[_ENVIRON_KEY] = (entries, decision)
            return
        self._refuse(req, entries, decision)

    def _refuse(self, req: Any, entries: Sequence[_Entry], decision: Decision, description: str | None = None) -> None:
        req.environ[_ENVIRON_KEY] = (entries, decision)
        worst = decision.report_index()
        headers = self.headers(entries, decision, worst)
        raise RateLimitExceeded(entries[worst].limit, decision.result(worst), headers, description)

    def after_request(self, response: Response) -> Response:
        found = request.environ.pop(_ENVIRON_KEY, None)
        if found is not None and self.settings.header_mode != "none":
            headers = response.headers
            for name, value in self.headers(*found):
                headers[name] = value
        return response

    # -- headers -----------------------------------------------------------------------------

    def headers(self, entries: Sequence[_Entry], decision: Decision, index: int | None = None) -> list[tuple[str, str]]:
        """Rate-limit headers for one decision: the tightest limit's numbers (on refusal, the
        one with the longest wait); ``Retry-After`` when refused."""
        settings = self.settings
        if index is None:
            index = decision.report_index()
        raw = decision.raw
        remaining = max(int(raw[4 * index + 1]), 0)
        reset = -(-max(int(raw[4 * index + 2]), 0) // 1000)  # ms -> whole seconds, rounded up
        out: list[tuple[str, str]] = []
        if settings.header_mode == "x-ratelimit":
            out += [
                (settings.header_limit, str(decision.limits[index].limit)),
                (settings.header_remaining, str(remaining)),
                (settings.header_reset, str(reset)),
            ]
        elif settings.header_mode == "ietf":
            policies = ", ".join(f'"{e.policy}";q={e.limit.limit};w={math.ceil(e.limit.per)}' for e in entries)
            out += [
                ("RateLimit-Policy", policies),
                ("RateLimit", f'"{entries[index].policy}";r={remaining};t={reset}'),
            ]
        if not decision.allowed:
            retry = -(-max(int(raw[4 * index + 3]), 0) // 1000)
            out.append((settings.header_retry_after, str(max(1, retry))))
        return out


def _refusal(limits: Sequence[PreparedLimit], index: int) -> Decision:
    """A refusal decided without Redis (cost too large, Redis down under "deny"), reported
    on ``limits[index]``: nothing remaining, retry after its whole window."""
    raw: list[Any] = [0, 0, 0, 0] * len(limits)
    window_ms = math.ceil(limits[index].per * 1000)
    raw[4 * index + 2] = raw[4 * index + 3] = window_ms
    return Decision(False, limits, raw)


def limit_target(target: Any, marks: Marks) -> Any:
    """Apply marks to a view function, a view class, a method or a Blueprint; return it."""
    if isinstance(target, Blueprint) or callable(target):
        add_marks(target, marks)
        return target
    raise TypeError(f"rate limits apply to a view function, a View class or a Blueprint, got {target!r}")
