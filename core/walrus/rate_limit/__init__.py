"""The rate limiter: one core that every front end (Django, DRF, Flask, Celery, the CLI) calls.

Build once, decide per request::

    rates = [
        PreparedRate("login", n, per, strategy="gcra") for n, per in parse_rates("5/m;100/h")
    ]
    decision = decide(db, rates, [client_address(remote, xff, trusted_proxies=1)] * 2,
                      on_error="allow")
    # X-RateLimit-*, RateLimit(-Policy), Retry-After:
    headers = rate_limit_headers(decision, "both")

or ``db.rate_limit(name, limit, per, strategy=...)`` for a ``RateLimit`` object. Submodules:
``rates`` (parsing, validation), ``decision`` (prepared rates and replies, sans-IO),
``headers``, ``clients`` (client address, outage policy), ``execute`` (the Redis calls),
``limiter`` (``RateLimit``). docs/ratelimiting.md has the whole API, the strategies and their
costs.

Terms: a *limit* is always a count (events per window; ``RateLimit(limit=5, per=60)``), ``per``
the window in seconds, a *rate* is ``limit`` per ``per`` (``Rate``) and a *prepared rate*
(``PreparedRate``) a rate bound to a key prefix and a strategy. The old names
``PreparedLimit``, ``LimitSpec``, ``check_limits`` and ``reset_limits`` still import.
"""

from __future__ import annotations

from .clients import (
    ON_ERROR_POLICIES,
    OutageLog,
    check_on_error,
    check_trusted_proxies,
    client_address,
)
from .decision import (
    Decision,
    PreparedRate,
    RateLimitResult,
    RateSpec,
    call_args,
    check_call,
    check_name,
    script_args,
)
from .execute import check_rates, decide, reset_rates
from .headers import (
    HEADER_STYLES,
    X_RATELIMIT_NAMES,
    check_header_style,
    policy_name,
    rate_limit_headers,
    retry_after_header,
)
from .limiter import RateLimit, RateLimitException, RateLimitLua
from .rates import (
    DEFAULT_STRATEGY,
    FIXED_MEMORY_STRATEGIES,
    MAX_LIMIT,
    MAX_WINDOW,
    STRATEGIES,
    UNITS,
    Rate,
    check_cost,
    check_rate,
    check_strategy,
    format_rate,
    parse_rate,
    parse_rates,
)

__all__ = [
    "DEFAULT_STRATEGY",
    "FIXED_MEMORY_STRATEGIES",
    "HEADER_STYLES",
    "MAX_LIMIT",
    "MAX_WINDOW",
    "ON_ERROR_POLICIES",
    "STRATEGIES",
    "UNITS",
    "X_RATELIMIT_NAMES",
    "Decision",
    "OutageLog",
    "PreparedRate",
    "Rate",
    "RateLimit",
    "RateLimitException",
    "RateLimitLua",
    "RateLimitResult",
    "RateSpec",
    "call_args",
    "check_call",
    "check_cost",
    "check_header_style",
    "check_name",
    "check_on_error",
    "check_rate",
    "check_rates",
    "check_strategy",
    "check_trusted_proxies",
    "client_address",
    "decide",
    "format_rate",
    "parse_rate",
    "parse_rates",
    "policy_name",
    "rate_limit_headers",
    "reset_rates",
    "retry_after_header",
    "script_args",
]

# old names, kept importable for one release (not in __all__)
PreparedLimit = PreparedRate  # old name, kept importable
LimitSpec = RateSpec  # old name, kept importable
check_limits = check_rates  # old name, kept importable
reset_limits = reset_rates  # old name, kept importable
