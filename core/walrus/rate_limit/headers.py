"""HTTP header values of a decision: ``X-RateLimit-*``, the IETF ``RateLimit`` /
``RateLimit-Policy`` fields and ``Retry-After``. No I/O, no framework: front ends copy the
pairs onto their responses."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from .decision import Decision, PreparedRate

__all__ = [
    "HEADER_STYLES",
    "X_RATELIMIT_NAMES",
    "check_header_style",
    "policy_name",
    "rate_limit_headers",
    "retry_after_header",
]

HEADER_STYLES = ("x-ratelimit", "ietf", "both", "none")
""""x-ratelimit": X-RateLimit-Limit/Remaining/Reset; "ietf": RateLimit-Policy and RateLimit
(draft-ietf-httpapi-ratelimit-headers); "both"; "none" (only Retry-After on refusal)."""
X_RATELIMIT_NAMES = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
)
"""Default names of the X-RateLimit fields: limit, remaining, reset, retry-after."""
_POLICY_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def check_header_style(style: Any, what: str = "rate limit header style") -> str:
    """``style`` if it is one of HEADER_STYLES; ValueError naming ``what`` otherwise. No Redis
    work."""
    if style not in HEADER_STYLES:
        raise ValueError(f"{what} must be one of {', '.join(HEADER_STYLES)}, got {style!r}")
    return str(style)


def policy_name(rate: PreparedRate) -> str:
    """A token naming ``rate`` in ``RateLimit-Policy``: its name, limit and window, other
    characters replaced by ``_`` (a structured-field key must be a token). No Redis work."""
    return _POLICY_CHARS.sub("_", f"{rate.name}-{rate.limit}-per-{rate.per:g}s")


def _seconds(ms: Any) -> int:
    return -(-max(int(ms), 0) // 1000)  # ms -> whole seconds, rounded up


def retry_after_header(decision: Decision) -> str:
    """``Retry-After`` of a refusal: whole seconds, at least 1. No Redis work."""
    return str(max(1, math.ceil(decision.retry_after)))


def rate_limit_headers(
    decision: Decision,
    style: str = "x-ratelimit",
    *,
    names: Sequence[str] = X_RATELIMIT_NAMES,
    policies: Sequence[str] | None = None,
    index: int | None = None,
) -> list[tuple[str, str]]:
    """(name, value) pairs for a response to ``decision``.

    Numbers are the reported rate's (``decision.report_index()``, or ``index``): limit,
    remaining, seconds to reset (rounded up). ``style`` picks the fields (HEADER_STYLES);
    ``names`` renames the X-RateLimit ones and Retry-After (4 names, in that order);
    ``policies`` names each rate in the IETF fields (default ``policy_name``). A refusal
    also gets ``Retry-After``, whatever the style.
    No Redis work.
    """
    if index is None:
        index = decision.report_index()
    raw = decision.raw
    remaining = max(int(raw[4 * index + 1]), 0)
    reset = _seconds(raw[4 * index + 2])
    out: list[tuple[str, str]] = []
    if style == "x-ratelimit" or style == "both":
        out += [
            (names[0], str(decision.rates[index].limit)),
            (names[1], str(remaining)),
            (names[2], str(reset)),
        ]
    if style == "ietf" or style == "both":
        rates = decision.rates
        tokens = list(policies) if policies is not None else [policy_name(rate) for rate in rates]
        out += [
            (
                "RateLimit-Policy",
                ", ".join(
                    f'"{tok}";q={rate.limit};w={math.ceil(rate.per)}'
                    for tok, rate in zip(tokens, rates, strict=True)
                ),
            ),
            ("RateLimit", f'"{tokens[index]}";r={remaining};t={reset}'),
        ]
    if not decision.allowed:
        out.append((names[3], str(max(1, _seconds(raw[4 * index + 3])))))
    return out
