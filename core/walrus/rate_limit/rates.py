"""Rates and strategies: parsing and validation, no I/O.

A rate is ``limit`` events (a count) per ``per`` seconds (the window). Everything a rate is built
from is checked here, once, when it is built: a bad rate never reaches Redis.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any, NamedTuple

__all__ = [
    "DEFAULT_STRATEGY",
    "FIXED_MEMORY_STRATEGIES",
    "MAX_LIMIT",
    "MAX_WINDOW",
    "STRATEGIES",
    "UNITS",
    "Rate",
    "check_cost",
    "check_rate",
    "check_strategy",
    "format_rate",
    "parse_rate",
    "parse_rates",
]

STRATEGIES = ("moving-window", "fixed-window", "sliding-window-counter", "gcra")
"""Strategy names, the first the default (upstream walrus's exact sliding log)."""
DEFAULT_STRATEGY = "moving-window"
"""The strategy a rate uses when none is named: the exact sliding log (upstream walrus's)."""
FIXED_MEMORY_STRATEGIES = frozenset({"fixed-window", "sliding-window-counter", "gcra"})
"""Strategies whose state per client is a few bytes whatever the limit."""
#: Code of each strategy in the script's arguments (scripts/rate_limit.lua).
STRATEGY_CODES = {
    "moving-window": "m",
    "fixed-window": "f",
    "sliding-window-counter": "s",
    "gcra": "g",
}

MAX_WINDOW = 100 * 365.25 * 86400.0
"""The longest window, seconds (100 years): longer ones cannot be timed in microseconds by the
script's double-precision arithmetic, and no real rate needs them."""
MAX_LIMIT = 10**12
"""The largest limit (events per window): counts stay exact in the script's doubles."""
#: The shortest window, seconds: the script keeps time in microseconds.
MIN_WINDOW = 1e-3

UNITS = {
    "s": 1.0, "sec": 1.0, "second": 1.0,
    "m": 60.0, "min": 60.0, "minute": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0,
    "d": 86400.0, "day": 86400.0,
    "w": 604800.0, "week": 604800.0,
    "month": 30 * 86400.0,
    "y": 365 * 86400.0, "year": 365 * 86400.0,
}  # fmt: skip
"""Unit names (singular; a trailing "s" is accepted) -> seconds."""
_RATE_RE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(\d+(?:\.\d+)?)?\s*([a-z]+?)s?\s*$", re.IGNORECASE)
_MAX_DIGITS = 30  # longer numbers are refused before int()/float() see them


class Rate(NamedTuple):
    """``limit`` events per ``per`` seconds (a tuple: ``limit, per = rate`` works)."""

    limit: int
    per: float

    def __str__(self) -> str:
        return f"{self.limit} per {self.per:g} second{'s' if self.per != 1 else ''}"


def check_rate(limit: Any, per: Any, what: str = "rate limit") -> Rate:
    """Validate ``limit`` (int, 1..MAX_LIMIT) and ``per`` (seconds, finite, MIN_WINDOW..MAX_WINDOW).

    Raises TypeError/ValueError naming ``what`` and the bad value (NaN, infinity, zero,
    negative, bool, a str...). No Redis work."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ValueError(f"{what}: limit must be a positive int (events per window), got {limit!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(
            f"{what}: limit must be a positive int of at most {MAX_LIMIT} events, got {limit!r}"
        )
    if isinstance(per, bool) or not isinstance(per, (int, float)):
        raise ValueError(f"{what}: per must be a positive number of seconds, got {per!r}")
    try:
        seconds = float(per)
    except OverflowError:  # an int beyond float range
        seconds = math.inf
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError(f"{what}: per must be a positive, finite number of seconds, got {per!r}")
    if not MIN_WINDOW <= seconds <= MAX_WINDOW:
        raise ValueError(
            f"{what}: per must be a positive number of seconds between {MIN_WINDOW:g} "
            f"and {MAX_WINDOW:.0f} (100 years), got {per!r}"
        )
    return Rate(limit, seconds)


def check_strategy(strategy: Any) -> str:
    """``strategy`` if it is one of STRATEGIES; ValueError (TypeError for a non-str) otherwise. No
    Redis work."""
    if not isinstance(strategy, str):
        raise ValueError(
            f"rate limit strategy must be a str, one of {', '.join(STRATEGIES)}; got {strategy!r}"
        )
    if strategy not in STRATEGY_CODES:
        raise ValueError(
            f"unknown rate limit strategy {strategy!r}: expected one of {', '.join(STRATEGIES)}"
        )
    return strategy


def check_cost(cost: Any, limit: int | None = None, what: str = "rate limit") -> int:
    """``cost`` as an int >= 0 that fits in ``limit``; ValueError/TypeError otherwise.

    A cost above the limit could never be allowed: it is refused for every strategy (for the
    fixed-memory ones there is no list to hold it either). No Redis work."""
    if isinstance(cost, bool) or not isinstance(cost, int):
        raise ValueError(f"{what}: cost must be an int >= 0, got {cost!r}")
    if cost < 0:
        raise ValueError(f"{what}: cost must be an int >= 0, got {cost!r}")
    if limit is not None and cost > limit:
        raise ValueError(f"{what}: cost {cost} can never fit in a limit of {limit}")
    return cost


def parse_rate(rate: Any) -> Rate:
    """``"5/minute"``, ``"10 per hour"``, ``"3/30s"``, ``"100/2 hours"`` -> ``Rate(limit, per)``.

    Units: second, minute, hour, day, week, month (30 days), year (365 days), with the short
    forms s, sec, m, min, h, hr, d, w, y and an optional plural "s". TypeError for a non-str;
    ValueError naming the rate when it cannot be read or is out of range. No Redis work."""
    if not isinstance(rate, str):
        raise TypeError(f"rate must be a str like '5/minute', got {type(rate).__name__}")
    match = _RATE_RE.match(rate)
    unit = match.group(3).lower() if match else ""
    if match is None or unit not in UNITS:
        raise ValueError(
            f"cannot read rate {rate[:80]!r}: expected '<count>/<unit>' or '<count>/<n><unit>' "
            "with unit second, minute, hour, day, week, month or year "
            "(e.g. '5/minute', '100/30s')"
        )
    count, multiple = match.group(1), match.group(2)
    if len(count) > _MAX_DIGITS or (multiple is not None and len(multiple) > _MAX_DIGITS):
        raise ValueError(
            f"rate {rate[:80]!r}: numbers of more than {_MAX_DIGITS} digits are out of range"
        )
    per = float(multiple or 1) * UNITS[unit]
    return check_rate(int(count), per, f"rate {rate[:80]!r}")


_COMPACT_UNITS = (("d", 86400.0), ("h", 3600.0), ("m", 60.0))


def format_rate(limit: int, per: float) -> str:
    """The shortest text :func:`parse_rate` reads back as ``(limit, per)``: ``20000/1d``,
    ``5/1m``, ``3/90s``, ``10/0.5s`` (front ends put it in key names: short keys cost less
    memory per client). No Redis work."""
    for unit, seconds in _COMPACT_UNITS:
        if per >= seconds and (per / seconds).is_integer():
            return f"{limit}/{int(per // seconds)}{unit}"
    text = repr(float(per))  # shortest exact form; no exponent within MAX_WINDOW
    return f"{limit}/{text[:-2] if text.endswith('.0') else text}s"


def parse_rates(value: Any, what: str = "rate limit") -> tuple[Rate, ...]:
    """One or more rates: ``"5/minute"``, ``"5/m;100/h"`` (``;`` or ``,`` between rates), a
    ``Rate`` or ``(limit, per)`` pair, or a list of any of these. ``None`` or ``""`` -> ``()``.

    TypeError/ValueError naming ``what`` and the bad item. No Redis work."""
    if value is None:
        return ()
    if isinstance(value, str):
        parts = [p for p in re.split(r"[;,]", value) if p.strip()]
        return tuple(_parse_one(p, what) for p in parts)
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and not isinstance(value[0], (str, tuple, list))
    ):
        return (_parse_one(value, what),)
    if isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        out: list[Rate] = []
        for item in value:
            if isinstance(item, str):
                out.extend(parse_rates(item, what))
            else:
                out.append(_parse_one(item, what))
        return tuple(out)
    raise TypeError(
        f"{what}: expected a rate like '5/minute', '5/m;100/h', a (limit, per) pair "
        f"or a list of them, got {value!r}"
    )


def _parse_one(item: Any, what: str) -> Rate:
    if isinstance(item, str):
        try:
            return parse_rate(item)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return check_rate(item[0], item[1], what)
    raise TypeError(f"{what}: expected a rate string or a (limit, per) pair, got {item!r}")
