"""``manage.py walrus_ratelimit show|reset GROUP KEY``: one client's budget in one group.

::

    manage.py walrus_ratelimit show login 203.0.113.7   # rates of @rate_limited(group="login")
    manage.py walrus_ratelimit show login user:42 --rate "5/m;100/h"
    manage.py walrus_ratelimit reset anon 203.0.113.7 --throttle   # a DRF throttle scope

GROUP is a ``@rate_limited``/``is_ratelimited`` group (a view's dotted name by default), the
middleware's ``__application__`` group or view groups, or with ``--throttle`` a DRF throttle
scope. KEY is the client key as stored: an address for ``key="ip"``, ``user:<pk>`` or
``ip:<address>`` for ``key="user_or_ip"``, the header or parameter value otherwise. The rates
come from ``--rate``, else from the decorators the URLconf defines, the middleware settings or
DRF's ``DEFAULT_THROTTLE_RATES``. ``show`` records nothing (the core's ``decide`` with cost 0);
``reset`` deletes the state of every strategy (``reset_rates``). Cost: 1 round trip.
"""

from __future__ import annotations

import math
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from walrus.rate_limit import STRATEGIES, PreparedRate, check_strategy, decide, reset_rates

from ...conf import get_database
from ...ratelimit import _Limiter, registered_rates
from ...ratelimit_settings import get_settings


def _throttle_rules(scope: str, rate: str | None, strategy: str) -> tuple[PreparedRate, ...]:
    """The prepared rates of DRF throttle ``scope`` (``--rate``, else its setting)."""
    try:
        from rest_framework.settings import api_settings

        from ...throttling import rules_for
    except ImportError as exc:
        raise CommandError(f"--throttle needs Django REST framework ({exc})") from None
    if rate is None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope)
        if rate is None:
            raise CommandError(
                "REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'] has no rate for the scope "
                f"{scope!r}: pass --rate"
            )
    return rules_for(scope, rate, strategy)


def _group_rules(group: str, rate: str | None, strategy: str | None) -> tuple[PreparedRate, ...]:
    """The prepared rates of ``group``: ``--rate``, else its decorators', else the middleware
    settings'."""
    settings = get_settings()
    if rate is not None:
        return _Limiter(group, rate, strategy or settings.strategy, 1, "--rate").static_rules()
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (imports the views: their decorators register)
    found = registered_rates().get(group)
    if found is not None:
        if strategy is not None:
            found = tuple(PreparedRate(rule.name, rule.limit, rule.per, strategy) for rule in found)
        return found
    from ...middleware import APPLICATION_GROUP

    rates = settings.application if group == APPLICATION_GROUP else settings.default
    if rates:
        return _Limiter(group, rates, strategy or settings.strategy, 1, "--rate").static_rules()
    raise CommandError(
        f"no rate is known for the group {group!r} (no decorator or setting names it): pass --rate"
    )


class Command(BaseCommand):  # type: ignore[misc]  # Django ships no types: Any base
    help = "Show or reset one client's rate-limit budget in one group (or DRF throttle scope)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["show", "reset"])
        parser.add_argument("group", help="the group (or, with --throttle, the DRF scope)")
        parser.add_argument("key", help="the client key, e.g. 203.0.113.7 or user:42")
        parser.add_argument("--rate", default=None, help="the group's rate(s), e.g. '5/m;100/h'")
        parser.add_argument("--strategy", default=None, help=f"one of {', '.join(STRATEGIES)}")
        parser.add_argument("--throttle", action="store_true", help="GROUP is a DRF throttle scope")
        parser.add_argument(
            "--alias", default=None, help="the WALRUS alias (default WALRUS_RATELIMIT_ALIAS)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        group, key, rate, strategy = (
            options["group"],
            options["key"],
            options["rate"],
            options["strategy"],
        )
        try:
            if strategy is not None:
                check_strategy(strategy)
            if options["throttle"]:
                rules = _throttle_rules(group, rate, strategy or get_settings().strategy)
            else:
                rules = _group_rules(group, rate, strategy)
        except (TypeError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        database = get_database(options["alias"] or get_settings().alias)
        keys = [key] * len(rules)
        try:
            if options["action"] == "reset":
                # every strategy's key: the state goes whichever strategy recorded it
                every = [
                    PreparedRate(rule.name, rule.limit, rule.per, s)
                    for rule in rules
                    for s in STRATEGIES
                ]
                deleted = reset_rates(database, every, [key] * len(every))
                self.stdout.write(f"Reset {group!r} for {key!r}: {deleted} key(s) deleted.")
                return
            decision = decide(database, rules, keys, 0)
        except RedisError as exc:
            raise CommandError(f"Redis is unavailable: {exc}") from None
        for index, rule in enumerate(rules):
            result = decision.result(index)
            self.stdout.write(
                f"{group}  {rule.limit}/{rule.per:g}s  "
                f"remaining {result.remaining}/{rule.limit}  "
                f"resets in {math.ceil(result.reset_after)} s  ({rule.strategy})"
            )
