"""Task rate limits shared by every worker: ``walrus_rate_limit="100/m"``.

::

    app = WalrusCelery(...)

    @app.task(walrus_rate_limit="100/m;2000/h")
    def call_partner_api(order_id): ...

    @app.task(walrus_rate_limit="10/s", walrus_rate_limit_key=lambda tenant, **kw: tenant)
    def sync(tenant, full=False): ...     # one budget per tenant

Celery's own ``rate_limit`` is per worker (and per process pool): N workers run N times the
rate. Here every run asks the core limiter first (``walrus.rate_limit.decide``: one Lua call,
server clock, exact across workers); a run over the budget does not start: the task is sent
again with a countdown of the decision's retry-after (``Task.retry`` semantics without
spending one of ``max_retries``), so no worker process waits for the budget. Under
``task_always_eager`` (no broker to send the retry to) a refused run raises
``TaskRateLimited``.

Options (task attributes, so ``@app.task(...)`` or a subclass sets them):
``walrus_rate_limit`` (a rate, ``"5/m;100/h"``, a ``(limit, per)`` pair or a list; None: off),
``walrus_rate_limit_key`` (a function of the task's arguments returning the client key;
default: one budget per task), ``walrus_rate_limit_strategy`` (default: the
``walrus_rate_limit_strategy`` config). Bad options raise ValueError/TypeError when the task is
defined. Config: ``walrus_rate_limit_prefix``, ``walrus_rate_limit_strategy``,
``walrus_rate_limit_on_error`` (see ``config``). Redis key: ``<prefix><task name>:<key>``
(``:<limit>/<per>`` before the key for each rate of a multi-rate).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import Any

from celery import Task
from celery.exceptions import Retry

from walrus.exceptions import WalrusError
from walrus.rate_limit import (
    Decision,
    OutageLog,
    PreparedRate,
    Rate,
    check_strategy,
    decide,
    parse_rates,
)

from .config import get_database, get_settings

__all__ = ["DEFAULT_KEY", "TaskRateLimited", "WalrusRateLimitedTask", "check_rate_options"]

logger = logging.getLogger("celery_walrus")
outage_log = OutageLog(logger)
DEFAULT_KEY = "all"
"""The client key of a task without ``walrus_rate_limit_key``: one budget for the task."""


class TaskRateLimited(WalrusError):  # noqa: N818 (exported public name; a rename breaks callers)
    """A run refused by ``walrus_rate_limit`` where it cannot be retried later (eager mode).
    ``retry_after``: seconds until it would fit; ``task_name``."""

    def __init__(self, message: str, task_name: str = "", retry_after: float = 0.0) -> None:
        super().__init__(message)
        self.task_name = task_name
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.task_name, self.retry_after))


def check_rate_options(label: str, rate: Any, key: Any, strategy: Any) -> tuple[Rate, ...]:
    """Validate the rate-limit options of task ``label``; returns its rates (() when off).
    No Redis work."""
    rates = parse_rates(rate, f"task {label}: walrus_rate_limit") if rate is not None else ()
    if key is not None and not callable(key):
        raise TypeError(
            f"task {label}: walrus_rate_limit_key must be a function of the task arguments,"
            f" got {key!r}"
        )
    if strategy is not None:
        try:
            check_strategy(strategy)
        except ValueError as exc:
            raise ValueError(f"task {label}: walrus_rate_limit_strategy: {exc}") from None
    if (key is not None or strategy is not None) and not rates:
        raise ValueError(f"task {label}: walrus_rate_limit_key/strategy need walrus_rate_limit")
    return rates


class WalrusRateLimitedTask(Task):  # type: ignore[misc]  # Celery ships no types: Task is Any
    """Celery task base honouring ``walrus_rate_limit`` (see the module docstring).
    ``WalrusCelery`` apps use it for any task given ``walrus_rate_limit``; ``WalrusLockedTask``
    derives from it."""

    walrus_rate_limit: Any = None
    walrus_rate_limit_key: Callable[..., Any] | None = None
    walrus_rate_limit_strategy: str | None = None

    _walrus_rates: tuple[Rate, ...] = ()
    _walrus_prepared: tuple[str, tuple[PreparedRate, ...]] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        label = cls.__dict__.get("name") or cls.__qualname__
        key_fn = cls.__dict__.get("walrus_rate_limit_key")
        if inspect.isfunction(key_fn):  # a plain function, not a method of the task
            cls.walrus_rate_limit_key = staticmethod(key_fn)
        cls._walrus_rates = check_rate_options(
            label, cls.walrus_rate_limit, cls.walrus_rate_limit_key, cls.walrus_rate_limit_strategy
        )
        cls._walrus_prepared = None

    def rate_rules(self) -> tuple[PreparedRate, ...]:
        """This task's rates, prepared under the app's config (built once; no Redis work)."""
        settings = get_settings(self._get_app())
        strategy = self.walrus_rate_limit_strategy or settings.rate_limit_strategy
        name = f"{settings.rate_limit_prefix}{self.name}"
        found = self._walrus_prepared
        if found is None or found[0] != f"{name}|{strategy}":
            rates = self._walrus_rates
            if len(rates) == 1:
                rules: tuple[PreparedRate, ...] = (
                    PreparedRate(name, rates[0].limit, rates[0].per, strategy),
                )
            else:
                rules = tuple(PreparedRate(f"{name}:{n}/{p:g}", n, p, strategy) for n, p in rates)
            found = (f"{name}|{strategy}", rules)
            type(self)._walrus_prepared = found
        return found[1]

    rate_limits = rate_rules  # old name, kept callable

    def rate_limit_key(self, *args: Any, **kwargs: Any) -> str:
        """The client key of a run with these arguments. No Redis work."""
        key_fn = self.walrus_rate_limit_key
        if key_fn is None:
            return DEFAULT_KEY
        return str(key_fn(*args, **kwargs))

    def rate_limit_decision(self, *args: Any, dry_run: bool = False, **kwargs: Any) -> Decision:
        """Ask the limiter about a run with these arguments (records it unless ``dry_run``).
        Cost: 1 round trip."""
        rules = self.rate_rules()
        app = self._get_app()
        key = self.rate_limit_key(*args, **kwargs)
        return decide(
            get_database(app),
            rules,
            [key] * len(rules),
            1,
            dry_run=dry_run,
            on_error=get_settings(app).rate_limit_on_error,
            outage_log=outage_log,
        )

    def _walrus_rate_gate(self, args: Any, kwargs: Any) -> None:
        """Record this run, or send the task again with a countdown of the retry-after and
        raise ``Retry`` (``TaskRateLimited`` in eager mode)."""
        request = self.request
        request._walrus_rate_checked = True
        decision = self.rate_limit_decision(*args, **kwargs)
        if decision.allowed:
            return
        wait = decision.retry_after
        if request.is_eager:
            raise TaskRateLimited(
                f"task {self.name} is over its rate limit of {decision.limit};"
                f" retry in {wait:.3f} s",
                self.name,
                wait,
            )
        # Task.retry without spending a retry: same task id, same retry count.
        signature = self.signature_from_request(
            request, args, kwargs, countdown=wait, retries=request.retries
        )
        logger.info(
            "celery_walrus: %s[%s] over its rate limit; sent again in %.3f s",
            self.name,
            request.id,
            wait,
        )
        signature.apply_async()
        raise Retry(f"over the rate limit of {decision.limit}", None, wait, sig=signature)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if (
            self._walrus_rates
            and not request.called_directly
            and not getattr(request, "_walrus_rate_checked", False)
        ):
            self._walrus_rate_gate(args, kwargs)
        return super().__call__(*args, **kwargs)
