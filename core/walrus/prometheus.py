"""Prometheus metrics from ``walrus.events`` (needs ``prometheus-client``:
``pip install prometheus-client``, or ``pip install '.[prometheus]'`` in a checkout).

``install()`` subscribes once per registry and returns the ``WalrusMetrics`` holding:

- ``walrus_cache_requests_total{cache, result}``: result ``hit``, ``miss`` or ``error``;
- ``walrus_rate_limit_decisions_total{limit, decision}``: ``allowed`` or ``refused``;
- ``walrus_lock_acquisitions_total{result}`` (``acquired``, ``waited``, ``timeout``) and
  ``walrus_lock_wait_seconds`` (a histogram of the waits);
- ``walrus_script_calls_total{script, result}`` and ``walrus_script_duration_seconds{script}``.

Lock names are left out of the labels on purpose: they are often per object (one lock per
task arguments), which would make one time series per lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from .events import Event, subscribe
from .exceptions import WalrusError

__all__ = ["WalrusMetrics", "exposition", "install", "uninstall"]

_installed: dict[int, WalrusMetrics] = {}
_lock = threading.Lock()


def _client() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:
        raise WalrusError(
            "walrus metrics need prometheus-client: pip install prometheus-client "
            "(or pip install '.[prometheus]' in a checkout of the walrus suite)"
        ) from exc
    return prometheus_client


class WalrusMetrics:
    """The collectors of one registry, fed by ``walrus.events``."""

    def __init__(self, registry: Any) -> None:
        prom = _client()
        self.registry = registry
        self.cache = prom.Counter(
            "walrus_cache_requests", "Cache reads by result", ["cache", "result"], registry=registry
        )
        self.rate_limit = prom.Counter(
            "walrus_rate_limit_decisions",
            "Rate-limit decisions",
            ["limit", "decision"],
            registry=registry,
        )
        self.lock = prom.Counter(
            "walrus_lock_acquisitions", "Lock acquisitions by result", ["result"], registry=registry
        )
        self.lock_wait = prom.Histogram(
            "walrus_lock_wait_seconds", "Seconds spent waiting for a lock", registry=registry
        )
        self.script = prom.Counter(
            "walrus_script_calls", "Lua script calls", ["script", "result"], registry=registry
        )
        self.script_seconds = prom.Histogram(
            "walrus_script_duration_seconds", "Seconds per Lua script call", ["script"],
            registry=registry,
            buckets=(0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0),
        )  # fmt: skip
        self.unsubscribe: Callable[[], None] = subscribe(self.observe)

    def observe(self, event: Event) -> None:
        """Count one event (the ``walrus.events`` subscriber). No Redis work."""
        kind = event.kind
        if kind == "cache":
            self.cache.labels(event.name, event.outcome).inc()
        elif kind == "rate_limit":
            self.rate_limit.labels(event.name, event.outcome).inc()
        elif kind == "lock":
            self.lock.labels(event.outcome).inc()
            if event.duration:
                self.lock_wait.observe(event.duration)
        elif kind == "script":
            self.script.labels(event.name, event.outcome).inc()
            if event.duration is not None:
                self.script_seconds.labels(event.name).observe(event.duration)


def install(registry: Any = None) -> WalrusMetrics:
    """Start counting walrus events into ``registry`` (prometheus-client's default registry
    when None). Idempotent per registry: a second call returns the same ``WalrusMetrics``.
    No Redis work."""
    prom = _client()
    target = prom.REGISTRY if registry is None else registry
    with _lock:
        metrics = _installed.get(id(target))
        if metrics is None:
            metrics = _installed[id(target)] = WalrusMetrics(target)
        return metrics


def uninstall(registry: Any = None) -> None:
    """Stop counting into ``registry`` and unregister the walrus collectors from it (nothing
    when ``install`` was never called for it). No Redis work."""
    prom = _client()
    target = prom.REGISTRY if registry is None else registry
    with _lock:
        metrics = _installed.pop(id(target), None)
    if metrics is not None:
        metrics.unsubscribe()
        for collector in (metrics.cache, metrics.rate_limit, metrics.lock, metrics.lock_wait,
                          metrics.script, metrics.script_seconds):  # fmt: skip
            target.unregister(collector)


def exposition(registry: Any = None) -> tuple[bytes, str]:
    """The registry in Prometheus's text format and its content type, for an HTTP response. No
    Redis work."""
    prom = _client()
    return prom.generate_latest(
        prom.REGISTRY if registry is None else registry
    ), prom.CONTENT_TYPE_LATEST
