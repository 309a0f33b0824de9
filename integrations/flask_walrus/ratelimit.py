"""Rate limits for Flask views: marks set by decorators, decided by one hook per request.

``@w.rate_limited(...)`` only records a ``RateRule`` on the view (function, ``MethodView``
class or method, or ``Blueprint``); nothing is wrapped. The app's ``before_request`` hook
gathers every rule that applies to the request (the view's, its blueprints', the app-wide
ones) once per (endpoint, method) into a ``_Plan`` and asks the core limiter
(``walrus.rate_limit.decide``: one Lua call on the server clock, all-or-nothing) to decide them
together; a refusal raises ``RateLimitExceeded`` (HTTP 429) and ``after_request`` adds the
header values the core builds. Everything about rates, strategies, the decision, headers, the
client address and the outage policy is the core's; this module reads Flask and shapes
responses. Redis key of a rule: ``<WALRUS_KEY_PREFIX>:rl:<scope>:<rate>:<client key>``, the rate
in its shortest form (``format_rate``: ``5/1m``, ``20000/1d``, ``3/90s``)
(scope: the ``scope``/``group`` name, default the endpoint, ``:<METHOD>`` added with
``per_method``; the core adds ``#f``/``#s``/``#g`` before the client key for the strategies
other than moving-window and hash-tags the client key on a cluster).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, TooManyRequests

from walrus.rate_limit import (
    Decision,
    OutageLog,
    PreparedRate,
    Rate,
    RateLimitResult,
    check_cost,
    check_strategy,
    decide,
    format_rate,
    rate_limit_headers,
)
from walrus.rate_limit import client_address as resolve_address

from .config import Settings, read_rates

if TYPE_CHECKING:  # pragma: no cover
    from walrus import Database

__all__ = ["RateLimitExceeded", "RateRule", "client_address", "forwarded_address"]

logger = logging.getLogger("flask_walrus")
MARKS = "__walrus_ratelimit__"
_ENVIRON_KEY = "flask_walrus.ratelimit"  # (entries, decision, deferred entries), for after_request
_POLICY_NAME = re.compile(r"[^A-Za-z0-9._-]")
_APPLICATION_SCOPE = "__application__"
KeyFunc = Callable[[], Any]
T = TypeVar("T")

forwarded_address = resolve_address
"""The core's client address from (remote address, X-Forwarded-For, trusted proxies)."""


@dataclass(frozen=True)
class RateRule:
    """One rate a view is held to: ``limit`` requests (a count) per ``per`` seconds for each
    client key, and how it applies. What ``rate_limited`` records; building it does no Redis
    work.

    ``scope`` names the budget (views with the same scope and rate share it; default: the
    endpoint); ``methods`` restricts the rule to those HTTP methods; ``per_method`` gives
    each method its own budget; ``key_func()`` names the client (default: its address);
    ``exempt_when()`` returning True skips the rule; ``strategy`` (None: the app's
    WALRUS_RATELIMIT_STRATEGY); ``deduct_when(response)`` returning False leaves the request
    uncounted; ``on_breach(exc)`` runs on refusal and may return the response to send;
    ``error_message`` (str or callable) is the 429's description; ``provider()`` returns the
    rate(s) per request (a callable rate: ``limit``/``per`` are then 0).
    """

    limit: int
    per: float
    scope: str | None = None
    methods: frozenset[str] | None = None
    key_func: KeyFunc | None = None
    exempt_when: Callable[[], bool] | None = None
    strategy: str | None = None
    per_method: bool = False
    deduct_when: Callable[[Response], bool] | None = None
    on_breach: Callable[[RateLimitExceeded], Any] | None = None
    error_message: str | Callable[[], str] | None = None
    provider: Callable[[], Any] | None = None

    def __str__(self) -> str:
        if self.provider is not None and not self.limit:
            return f"callable rate {getattr(self.provider, '__qualname__', self.provider)!r}"
        return str(Rate(self.limit, self.per))


@dataclass
class Marks:
    """What the decorators recorded on one view, class, method or blueprint."""

    rules: list[RateRule] = field(default_factory=list)
    cost: int | Callable[[], int] | None = None
    override_defaults: bool = True
    exempt: bool = False


class RateLimitExceeded(TooManyRequests):
    """HTTP 429: ``rule`` is the ``RateRule`` that refused, ``retry_after`` the seconds (float)
    until the request would fit, ``result`` the ``walrus.rate_limit.RateLimitResult``.

    ``limit`` is the same object as ``rule``: it is Flask-Limiter's attribute name, kept so that
    handlers ported from Flask-Limiter (reading ``e.limit``) work unchanged; new code reads
    ``rule`` (its count is ``rule.limit``). No Redis work."""

    def __init__(
        self,
        rule: RateRule,
        result: RateLimitResult,
        headers: list[tuple[str, str]] | None = None,
        description: str | None = None,
    ) -> None:
        wait = max(1, -int(-result.retry_after // 1))
        super().__init__(description or f"Rate limit of {rule} exceeded; retry in {wait} s.")
        self.rule = rule
        self.result = result
        # Werkzeug types retry_after as datetime | int; ours is float seconds, and get_headers
        # below builds Retry-After itself
        self.retry_after: float = result.retry_after  # type: ignore[assignment]  # see above
        self.rate_limit_headers = headers if headers is not None else [("Retry-After", str(wait))]

    @property
    def limit(self) -> RateRule:
        """The ``RateRule`` that refused (``rule``), under Flask-Limiter's attribute name."""
        return self.rule

    def get_headers(self, environ: Any = None, scope: Any = None) -> list[tuple[str, str]]:
        """The 429 response's headers: Werkzeug's plus the rate-limit ones. No Redis work."""
        return HTTPException.get_headers(self, environ, scope) + list(self.rate_limit_headers)


def client_address() -> str:
    """The current request's client address (the default ``key_func``): ``remote_addr``, or the
    X-Forwarded-For entry added by the outermost of WALRUS_RATELIMIT_TRUSTED_PROXIES proxies.
    No Redis work."""
    state = current_app.extensions.get("walrus")
    trusted = state.settings.trusted_proxies if state is not None else 0
    return resolve_address(request.remote_addr, request.headers.get("X-Forwarded-For"), trusted)


def _check_callable(fn: Any, what: str, takes: str = "no arguments") -> None:
    if fn is not None and not callable(fn):
        raise TypeError(f"rate_limited {what} must be a callable taking {takes}, got {fn!r}")


def _scope_option(scope: str | None, group: str | None) -> str | None:
    """The budget name from ``scope`` or its alias ``group`` (at most one of them differs)."""
    if scope is not None and group is not None and scope != group:
        raise ValueError("rate_limited: 'scope' and 'group' are the same option; pass one of them")
    scope = scope if scope is not None else group
    if scope is not None and (not isinstance(scope, str) or not scope):
        raise ValueError(f"rate_limited scope must be a non-empty str, got {scope!r}")
    return scope


def _rates_option(
    limit: Any, per: float | None
) -> tuple[Callable[[], Any] | None, tuple[Rate, ...]]:
    """``(provider, rates)`` of the ``limit`` argument: a callable is its own provider (one
    placeholder rate); an int (the count) goes with ``per`` (default 60 s); a rate string or
    list is parsed."""
    provider: Callable[[], Any] | None = None
    rates: tuple[Rate, ...]
    if callable(limit):
        if per is not None:
            raise ValueError(
                "rate_limited: 'per' goes with an int limit, not with a callable limit"
            )
        provider, rates = limit, (Rate(0, 0.0),)
    elif isinstance(limit, int) and not isinstance(limit, bool):
        rates = read_rates([(limit, 60.0 if per is None else per)], "rate_limited")
    else:
        if per is not None:
            raise ValueError(
                "rate_limited: 'per' goes with an int limit, not with a rate string or list"
            )
        rates = read_rates(limit, "rate_limited")
    if not rates:
        raise ValueError(
            "rate_limited needs a limit: an int with per, '5/minute', a list of rates or a callable"
        )
    return provider, rates


def _methods_option(methods: Iterable[str] | None) -> frozenset[str] | None:
    """The upper-cased HTTP methods a limit applies to (None: every method)."""
    if methods is None:
        return None
    if isinstance(methods, str):
        raise TypeError("rate_limited methods must be a list of HTTP methods, not a str")
    method_set = frozenset(str(m).upper() for m in methods)
    if not method_set:
        raise ValueError("rate_limited methods must not be empty (omit it to limit every method)")
    return method_set


def _check_hooks(
    key_func: KeyFunc | None,
    exempt_when: Callable[[], bool] | None,
    deduct_when: Callable[[Response], bool] | None,
    on_breach: Callable[[RateLimitExceeded], Any] | None,
    error_message: str | Callable[[], str] | None,
) -> None:
    """Refuse a callback option that cannot be called (error_message may also be a str)."""
    _check_callable(key_func, "key_func")
    _check_callable(exempt_when, "exempt_when")
    _check_callable(deduct_when, "deduct_when", "the response")
    _check_callable(on_breach, "on_breach", "the RateLimitExceeded")
    if error_message is not None and not (
        isinstance(error_message, str) or callable(error_message)
    ):
        raise TypeError(
            f"rate_limited error_message must be a str or a callable, got {error_message!r}"
        )


def _check_strategy_option(strategy: str | None, per_method: bool) -> None:
    if strategy is not None:
        try:
            check_strategy(strategy)
        except ValueError as exc:
            raise ValueError(f"rate_limited: {exc}") from None
    if not isinstance(per_method, bool):
        raise TypeError(f"rate_limited per_method must be True or False, got {per_method!r}")


def _check_cost_option(
    cost: int | Callable[[], int], provider: Callable[[], Any] | None, rates: Sequence[Rate]
) -> None:
    """A fixed cost is an int >= 1 that fits every fixed rate (callables are checked per
    request)."""
    if callable(cost):
        return
    if isinstance(cost, bool) or not isinstance(cost, int) or cost < 1:
        raise ValueError(f"rate_limited cost must be an int >= 1 or a callable, got {cost!r}")
    if provider is None:
        for n, _ in rates:
            check_cost(cost, n, "rate_limited")


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
    strategy: str | None = None,
    per_method: bool = False,
    deduct_when: Callable[[Response], bool] | None = None,
    on_breach: Callable[[RateLimitExceeded], Any] | None = None,
    error_message: str | Callable[[], str] | None = None,
) -> Marks:
    """Validate ``rate_limited`` arguments (at decoration time) into ``Marks``."""
    scope = _scope_option(scope, group)
    provider, rates = _rates_option(limit, per)
    method_set = _methods_option(methods)
    _check_hooks(key_func, exempt_when, deduct_when, on_breach, error_message)
    _check_strategy_option(strategy, per_method)
    _check_cost_option(cost, provider, rates)
    rules = [
        RateRule(
            n,
            p,
            scope,
            method_set,
            key_func,
            exempt_when,
            strategy,
            per_method,
            deduct_when,
            on_breach,
            error_message,
            provider,
        )
        for n, p in rates
    ]
    return Marks(rules=rules, cost=cost, override_defaults=override_defaults)


def add_marks(target: Any, marks: Marks) -> None:
    """Record ``marks`` on ``target``, merging with marks of stacked decorators."""
    existing: Marks | None = target.__dict__.get(MARKS) if hasattr(target, "__dict__") else None
    if existing is None:
        setattr(target, MARKS, marks)
        return
    if marks.rules:
        if existing.cost is not None and marks.cost is not None and existing.cost != marks.cost:
            raise ValueError(
                f"stacked rate limits on {target!r} disagree on cost"
                f" ({existing.cost!r} vs {marks.cost!r})"
            )
        existing.rules.extend(marks.rules)
        existing.cost = marks.cost if existing.cost is None else existing.cost
        existing.override_defaults = existing.override_defaults and marks.override_defaults
    existing.exempt = existing.exempt or marks.exempt


def _marks_of(obj: Any) -> Marks | None:
    marks = getattr(obj, MARKS, None)
    return marks if isinstance(marks, Marks) else None


@dataclass(frozen=True)
class _Entry:
    rule: RateRule
    prepared: PreparedRate  # name <key prefix>:rl:<scope>:<rate>, strategy, ARGV
    policy: str  # name in the IETF RateLimit-Policy header


@dataclass(frozen=True)
class _Plan:
    """Everything about the rules of one (endpoint, method) that does not depend on the
    request, settled on its first request so that later ones only build keys and call Redis."""

    entries: tuple[_Entry, ...]
    cost: int | Callable[[], int]
    rates: tuple[PreparedRate, ...] = ()
    key_funcs: tuple[KeyFunc | None, ...] = ()  # per entry, the extension default resolved
    shared_key_func: bool = True  # every entry names the client the same way
    simple: bool = True  # no exempt_when, deduct_when or callable rate: the fast path
    dynamic: tuple[tuple[RateRule, str], ...] = ()  # callable rates' rules and their scope
    policies: tuple[str, ...] = ()


_NO_PLAN = _Plan((), 1)


class Limiter:
    """Per-app rate limiting: plans per (endpoint, method) and the request hooks."""

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
        self._dynamic: dict[tuple[int, str, Any], tuple[_Entry, ...]] = {}
        self.outage = OutageLog(logger)
        self.ietf = settings.header_mode in ("ietf", "both")  # only then are policy names needed
        self.header_names = (
            settings.header_limit,
            settings.header_remaining,
            settings.header_reset,
            settings.header_retry_after,
        )
        self.defaults = [
            RateRule(n, p, exempt_when=default_exempt_when) for n, p in settings.default_rates
        ]
        self.application = [
            RateRule(n, p, scope=_APPLICATION_SCOPE) for n, p in settings.application_rates
        ]

    # -- outage reporting (shared with the view cache) -------------------------------------

    def report_error(self, exc: Exception, what: str) -> None:
        """Log a Redis failure once per outage (the first failure after a success)."""
        self.outage.failed(exc, what, self.settings.on_error)

    def report_ok(self) -> None:
        self.outage.recovered()

    # -- plans -------------------------------------------------------------------------------

    def _entry(self, rule: RateRule, scope: str) -> _Entry:
        strategy = rule.strategy or self.settings.strategy
        rate = format_rate(rule.limit, rule.per)  # "20000/1d": short keys cost less per client
        policy = _POLICY_NAME.sub("_", f"{scope}-{rule.limit}-per-{rule.per:g}s")
        return _Entry(
            rule,
            PreparedRate(f"{self.key_base}:{scope}:{rate}", rule.limit, rule.per, strategy),
            policy,
        )

    def _mark_sources(self, endpoint: str, method: str) -> list[Any]:
        """Where marks may sit for this request: the view, its View class and the method's
        handler (``get`` for HEAD when there is no ``head``), then its blueprints."""
        view = self.app.view_functions.get(endpoint)
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
        return sources

    def _rules_for(
        self, endpoint: str, method: str
    ) -> tuple[list[RateRule], int | Callable[[], int]]:
        """Every rule that applies to (endpoint, method) before the method filter, and the
        cost: the marks' own, then the defaults (unless overridden) and the app-wide ones
        (unless exempt, and never for static files)."""
        own: list[Marks] = []
        exempt = False
        for source in self._mark_sources(endpoint, method):
            marks = _marks_of(source) if source is not None else None
            if marks is not None:
                exempt = exempt or marks.exempt
                if marks.rules:
                    own.append(marks)
        rules: list[RateRule] = []
        cost: int | Callable[[], int] = 1
        for marks in own:
            rules.extend(marks.rules)
        if own:
            cost = next((m.cost for m in own if m.cost is not None), 1)
        static = endpoint == "static" or endpoint.endswith(".static")
        if not exempt and not static:
            if all(not m.override_defaults for m in own):
                rules.extend(self.defaults)
            rules.extend(self.application)
        return rules, cost

    def _plan(self, endpoint: str, method: str) -> _Plan:
        rules, cost = self._rules_for(endpoint, method)
        entries: list[_Entry] = []
        dynamic: list[tuple[RateRule, str]] = []
        for rule in rules:
            if rule.methods is not None and method not in rule.methods:
                continue
            scope = rule.scope or endpoint
            if rule.per_method:
                scope = f"{scope}:{method}"
            if rule.provider is not None:
                dynamic.append((rule, scope))
                continue
            if isinstance(cost, int) and cost > rule.limit:
                raise ValueError(f"rate limit cost {cost} on {endpoint!r} can never fit in {rule}")
            entries.append(self._entry(rule, scope))
        if not entries and not dynamic:
            return _NO_PLAN
        key_funcs = tuple(e.rule.key_func or self.key_func for e in entries)
        return _Plan(
            entries=tuple(entries),
            cost=cost,
            rates=tuple(e.prepared for e in entries),
            key_funcs=key_funcs,
            shared_key_func=len(set(map(id, key_funcs))) <= 1,
            simple=not dynamic
            and all(e.rule.exempt_when is None and e.rule.deduct_when is None for e in entries),
            dynamic=tuple(dynamic),
            policies=tuple(e.policy for e in entries),
        )

    def _resolve(self, rule: RateRule, scope: str) -> tuple[_Entry, ...]:
        """The entries of a callable rate's rule for the rate(s) it returns now (cached per
        value)."""
        assert rule.provider is not None
        value = rule.provider()
        try:
            cache_key = (id(rule), scope, value if isinstance(value, (str, int)) else tuple(value))
        except TypeError:
            cache_key = (id(rule), scope, repr(value))
        found = self._dynamic.get(cache_key)
        if found is None:
            rates = read_rates(value, str(rule))
            if not rates:
                return ()
            found = tuple(self._entry(replace(rule, limit=n, per=p), scope) for n, p in rates)
            if len(self._dynamic) < 1024:  # a bounded cache: the provider may return anything
                self._dynamic[cache_key] = found
        return found

    # -- hooks ---------------------------------------------------------------------------------

    def _client_key(self, req: Any, key_func: KeyFunc | None) -> str:
        if key_func is not None:
            return str(key_func())
        trusted = self.settings.trusted_proxies
        if not trusted:  # the core ignores X-Forwarded-For then: do not even read it
            return req.remote_addr or "unknown"
        return resolve_address(req.remote_addr, req.headers.get("X-Forwarded-For"), trusted)

    def _keys(self, req: Any, entries: Sequence[_Entry], shared: bool) -> list[str]:
        if shared:
            return [self._client_key(req, entries[0].rule.key_func or self.key_func)] * len(entries)
        known: dict[int, str] = {}
        keys = []
        for entry in entries:
            key_func = entry.rule.key_func or self.key_func
            key = known.get(id(key_func))
            if key is None:
                key = known[id(key_func)] = self._client_key(req, key_func)
            keys.append(key)
        return keys

    def before_request(self) -> Any:
        # the proxy's object once: every attribute read through the proxy costs a lookup;
        # Flask types request as Request, not as the LocalProxy it is
        req = request._get_current_object()  # type: ignore[attr-defined]  # see above
        endpoint = req.endpoint
        if endpoint is None:
            return None
        method = req.method
        plan = self._plans.get((endpoint, method))
        if plan is None:
            plan = self._plans[(endpoint, method)] = self._plan(endpoint, method)
        if plan is _NO_PLAN:
            return None
        if plan.simple:  # the common case: every rule counted now, one call
            entries: Sequence[_Entry] = plan.entries
            rates: Sequence[PreparedRate] = plan.rates
            if plan.shared_key_func:
                keys = [self._client_key(req, plan.key_funcs[0])] * len(rates)
            else:
                keys = self._keys(req, entries, False)
            cost = plan.cost
            if callable(cost):
                cost = self._cost(req, entries, cost)
            decision = decide(
                self.database,
                rates,
                keys,
                cost,
                on_error=self.settings.on_error,
                outage_log=self.outage,
            )
            if decision.allowed:
                if decision.error is None:
                    req.environ[_ENVIRON_KEY] = (entries, decision, ())
                return None
            return self._refuse(req, entries, decision)
        return self._before_general(req, plan)

    def _before_general(self, req: Any, plan: _Plan) -> Any:
        """Callable rates, exempt_when, deduct_when: the rules that count now are decided
        (recorded) in one call; those with deduct_when are only looked at (one more call) and
        recorded after the response, when it matches."""
        entries = self._active_entries(plan)
        if not entries:
            return None
        now = [e for e in entries if e.rule.deduct_when is None]
        later = [e for e in entries if e.rule.deduct_when is not None]
        cost = plan.cost
        if callable(cost):
            cost = self._cost(req, entries, cost)
        else:
            for entry in entries:  # callable rates were not checked against the cost
                if cost > entry.prepared.limit:
                    return self._refuse(
                        req,
                        entries,
                        Decision.refusal([e.prepared for e in entries], entries.index(entry)),
                        f"Request cost {cost} exceeds the rate limit of {entry.rule}.",
                    )
        on_error = self.settings.on_error
        decision: Decision | None = None
        if later:
            look = decide(
                self.database,
                [e.prepared for e in later],
                self._keys(req, later, False),
                cost,
                dry_run=True,
                on_error=on_error,
                outage_log=self.outage,
            )
            if not look.allowed:
                return self._refuse(req, later, look)
            if look.error is None:
                decision = look
        if now:
            decision = decide(
                self.database,
                [e.prepared for e in now],
                self._keys(req, now, False),
                cost,
                on_error=on_error,
                outage_log=self.outage,
            )
            if not decision.allowed:
                return self._refuse(req, now, decision)
            if decision.error is not None:
                decision = None
        req.environ[_ENVIRON_KEY] = (now if now else later, decision, tuple(later))
        req.environ[_ENVIRON_KEY + ".cost"] = cost
        return None

    def _active_entries(self, plan: _Plan) -> list[_Entry]:
        """The plan's entries that ``exempt_when`` does not skip now, then those of its callable
        rates (their provider called once each)."""
        entries = [
            e for e in plan.entries if e.rule.exempt_when is None or not e.rule.exempt_when()
        ]
        for rule, scope in plan.dynamic:
            if rule.exempt_when is None or not rule.exempt_when():
                entries.extend(self._resolve(rule, scope))
        return entries

    def _cost(self, req: Any, entries: Sequence[_Entry], fn: Callable[[], int]) -> int:
        cost = fn()
        check_cost(cost, None, "rate_limited cost (returned by the cost callable)")
        tightest = min(range(len(entries)), key=lambda i: entries[i].prepared.limit)
        if cost > entries[tightest].prepared.limit:
            message = f"Request cost {cost} exceeds the rate limit of {entries[tightest].rule}."
            self._refuse(
                req,
                entries,
                Decision.refusal([e.prepared for e in entries], tightest),
                message,
                raise_only=True,
            )
        return int(cost)

    def _refuse(
        self,
        req: Any,
        entries: Sequence[_Entry],
        decision: Decision,
        description: str | None = None,
        raise_only: bool = False,
    ) -> Any:
        req.environ[_ENVIRON_KEY] = (entries, decision, ())
        worst = decision.report_index()
        rule = entries[worst].rule
        if description is None and rule.error_message is not None:
            message = rule.error_message
            description = message() if callable(message) else message
        exc = RateLimitExceeded(
            rule, decision.result(worst), self.headers(entries, decision, worst), description
        )
        if rule.on_breach is not None and not raise_only:
            response = rule.on_breach(exc)
            if response is not None:
                return response  # Flask sends it; after_request adds the headers
        try:
            raise exc
        finally:
            del exc  # else frame<->traceback cycle: client kept until GC

    def after_request(self, response: Response) -> Response:
        found = request.environ.pop(_ENVIRON_KEY, None)
        if found is None:
            return response
        entries, decision, later = found
        if later:
            cost = request.environ.pop(_ENVIRON_KEY + ".cost", 1)
            counted = [
                e for e in later if e.rule.deduct_when is not None and e.rule.deduct_when(response)
            ]
            if counted:
                keys = self._keys(request, counted, False)
                recorded = decide(
                    self.database,
                    [e.prepared for e in counted],
                    keys,
                    cost,
                    on_error=self.settings.on_error,
                    outage_log=self.outage,
                )
                if decision is None and recorded.error is None:
                    entries, decision = counted, recorded
        if decision is not None and (self.settings.header_mode != "none" or not decision.allowed):
            headers = response.headers
            if decision.allowed and not later:
                # appended, not set: a view's own response does not carry these names, and
                # Headers.set scans the list once per header (a visible cost per request)
                headers.extend(self.headers(entries, decision))
            else:  # a 429 (or a callback's response) may carry them already
                for name, value in self.headers(entries, decision):
                    headers[name] = value
        return response

    # -- headers -----------------------------------------------------------------------------

    def headers(
        self, entries: Sequence[_Entry], decision: Decision, index: int | None = None
    ) -> list[tuple[str, str]]:
        """The core's header values for one decision (``walrus.rate_limit.rate_limit_headers``)
        in WALRUS_RATELIMIT_HEADERS style, with this app's header names and policy names."""
        return rate_limit_headers(
            decision, self.settings.header_mode, names=self.header_names,
            policies=[e.policy for e in entries] if self.ietf else None, index=index,
        )  # fmt: skip


def limit_target(target: T, marks: Marks) -> T:
    """Apply marks to a view function, a view class, a method or a Blueprint; return it."""
    if isinstance(target, Blueprint) or callable(target):
        add_marks(target, marks)
        return target
    raise TypeError(
        f"rate limits apply to a view function, a View class or a Blueprint, got {target!r}"
    )


Limit = RateRule  # old name, kept importable
