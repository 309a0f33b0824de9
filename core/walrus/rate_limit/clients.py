"""Who the client is and what happens when Redis is down: shared by every front end, no I/O."""

from __future__ import annotations

import logging
import threading
from typing import Any

__all__ = [
    "ON_ERROR_POLICIES",
    "OutageLog",
    "check_on_error",
    "check_trusted_proxies",
    "client_address",
]

logger = logging.getLogger("walrus.rate_limit")

ON_ERROR_POLICIES = ("allow", "deny")
"""What a limiter does when Redis cannot answer: "allow" the request or "deny" it (429)."""


def check_trusted_proxies(value: Any, what: str = "trusted_proxies") -> int:
    """An int >= 0: how many proxies in front of the app append to X-Forwarded-For. No Redis
    work."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"{what} must be an int >= 0 (proxies appending to X-Forwarded-For), got {value!r}"
        )
    return value


def check_on_error(value: Any, what: str = "on_error") -> str:
    """``value`` if it is one of ON_ERROR_POLICIES; ValueError naming ``what`` otherwise. No Redis
    work."""
    if value not in ON_ERROR_POLICIES:
        raise ValueError(f"{what} must be one of {', '.join(ON_ERROR_POLICIES)}, got {value!r}")
    return str(value)


def client_address(
    remote_addr: str | None, forwarded_for: str | None = None, trusted_proxies: int = 0
) -> str:
    """The client's address given ``trusted_proxies`` proxies that each append the address
    they saw to X-Forwarded-For: the entry the outermost trusted proxy added.

    With ``trusted_proxies=0`` (the default) the header is ignored: anyone can send it. With
    too few entries, ``remote_addr``: a forged header can add entries on the left only, so it
    cannot move the choice past the trusted proxies. ``"unknown"`` when nothing is known.
    No Redis work."""
    if trusted_proxies > 0 and forwarded_for:
        entries = [part.strip() for part in forwarded_for.split(",") if part.strip()]
        if len(entries) >= trusted_proxies:
            return entries[-trusted_proxies]
    return remote_addr or "unknown"


class OutageLog:
    """Logs a Redis failure once per outage (the first failure after a success) and the
    recovery, so that a down Redis does not write one line per request."""

    def __init__(self, log: logging.Logger = logger) -> None:
        self.log = log
        self.down = False
        self._lock = threading.Lock()

    def failed(self, exc: Exception, what: str, policy: str) -> None:
        """Note that Redis failed during ``what``: the first failure of an outage is logged (naming
        the ``policy`` applied), later ones are not. No Redis work."""
        with self._lock:
            if self.down:
                return
            self.down = True
        self.log.error(
            "Redis unavailable during %s (rate limit policy on error: %s); further errors are "
            "not logged until it is back: %s: %s", what, policy, type(exc).__name__, exc,
        )  # fmt: skip

    def recovered(self) -> None:
        """Note that Redis answered: logs once that it is back after an outage. No Redis work."""
        if self.down:
            with self._lock:
                was, self.down = self.down, False
            if was:
                self.log.warning("Redis answers again")
