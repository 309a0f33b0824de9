"""The ``Walrus`` Flask extension: ``Walrus(app)`` or ``w = Walrus(); w.init_app(app)``.

Per-app state lives in ``app.extensions["walrus"]`` (a ``WalrusState``); the extension object
keeps no app, so one object serves any number of apps (application factories, tests).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, request

from walrus import Database
from walrus.cache import Cache
from walrus.lock import Lock
from walrus.prometheus import exposition
from walrus.prometheus import install as install_metrics
from walrus.stampede import check_stampede_options

from .caching import cached_view
from .config import Settings, connect, read_settings
from .ratelimit import KeyFunc, Limiter, Marks, build_marks, limit_target

__all__ = ["Walrus", "WalrusState"]

F = Callable[..., Any]


@dataclass
class WalrusState:
    """What ``init_app`` stores in ``app.extensions["walrus"]``."""

    extension: Walrus
    settings: Settings
    database: Database
    cache: Cache
    limiter: Limiter


class Walrus:
    """Flask extension giving each app a ``walrus.Database``, a cache, locks, view rate limits,
    view caching and the ``flask walrus`` commands.

    ``key_func()`` is the default client key of rate limits (default: the client address);
    ``default_exempt_when()`` returning True skips the app-wide WALRUS_RATELIMIT_DEFAULT rates.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        key_func: KeyFunc | None = None,
        default_exempt_when: Callable[[], bool] | None = None,
    ) -> None:
        if key_func is not None and not callable(key_func):
            raise TypeError(f"key_func must be a callable taking no arguments, got {key_func!r}")
        if default_exempt_when is not None and not callable(default_exempt_when):
            raise TypeError(f"default_exempt_when must be a callable, got {default_exempt_when!r}")
        self.key_func = key_func
        self.default_exempt_when = default_exempt_when
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read and validate the app's ``WALRUS_*`` config, build its Database (no connection
        yet), register the rate-limit hooks and the ``flask walrus`` command group.
        No Redis work."""
        settings = read_settings(app.config, app.config.get("SECRET_KEY"))
        database = connect(settings)
        cache = Cache(
            database,
            f"{settings.key_prefix}:cache",
            settings.cache_default_timeout,
            serializer=settings.cache_serializer,
            signing_key=settings.cache_signing_key,
            **settings.cache_compression,
        )
        limiter = Limiter(app, database, settings, self.key_func, self.default_exempt_when)
        app.extensions["walrus"] = WalrusState(self, settings, database, cache, limiter)
        if settings.ratelimit_enabled:
            app.before_request(limiter.before_request)
            app.after_request(limiter.after_request)
        from .cli import walrus_cli

        app.cli.add_command(walrus_cli)

    # -- per-app objects -------------------------------------------------------------------------

    def state(self, app: Flask | None = None) -> WalrusState:
        """The ``WalrusState`` of ``app`` (default: ``flask.current_app``). No Redis work."""
        target = current_app if app is None else app
        state: WalrusState | None = target.extensions.get("walrus")
        if state is None or state.extension is not self:
            raise RuntimeError(
                f"this Walrus extension is not initialised on app {target.name!r}:"
                " call init_app(app)"
            )
        return state

    @property
    def db(self) -> Database:
        """The current app's ``walrus.Database``."""
        return self.state().database

    @property
    def database(self) -> Database:
        """Same as ``db``."""
        return self.state().database

    @property
    def cache(self) -> Cache:
        """The current app's ``walrus.cache.Cache`` (keys ``<WALRUS_KEY_PREFIX>:cache:<key>``)."""
        return self.state().cache

    def lock(self, name: str, ttl: int | None = None, lock_id: str | None = None) -> Lock:
        """A ``walrus.lock.Lock`` on the current app's Database (``ttl`` in milliseconds). No Redis
        work until the lock is used."""
        return self.state().database.lock(name, ttl, lock_id)

    # -- decorators ----------------------------------------------------------------------------

    def rate_limited(
        self,
        limit: int | str | Iterable[Any],
        per: float | None = None,
        *,
        key_func: KeyFunc | None = None,
        methods: Iterable[str] | None = None,
        exempt_when: Callable[[], bool] | None = None,
        scope: str | None = None,
        group: str | None = None,
        cost: int | Callable[[], int] = 1,
        override_defaults: bool = True,
        strategy: str | None = None,
        per_method: bool = False,
        deduct_when: Callable[[Response], bool] | None = None,
        on_breach: Callable[[Any], Any] | None = None,
        error_message: str | Callable[[], str] | None = None,
    ) -> Callable[[Any], Any]:
        """Limit a view (function, ``View`` class or method, or a whole ``Blueprint``).

        ``limit``: the count, an int with ``per`` seconds (default 60), or a whole rate (the
        argument keeps Flask-Limiter's name): ``"5/minute"``, ``"5/minute; 100/hour"`` or a
        list of rates; each rate becomes a ``RateRule`` and stacked decorators add rules. Every
        rule that applies to a request (the view's, its blueprints', the defaults) is decided in
        one Redis call; a refusal raises ``RateLimitExceeded`` (429). ``scope``/``group`` names
        a budget shared between views; ``cost`` (int or callable) is the number of events a
        request spends; ``override_defaults=False`` keeps WALRUS_RATELIMIT_DEFAULT on top of
        these rules. ``limit`` may be a callable returning any of those per request (a dynamic
        rate);
        ``strategy`` picks the core strategy (default WALRUS_RATELIMIT_STRATEGY);
        ``per_method=True`` gives each HTTP method its own budget; ``deduct_when(response)``
        counts only requests whose response it accepts (checked before, recorded after: one
        more round trip); ``on_breach(exc)`` runs on refusal and may return the response to
        send instead of the 429; ``error_message`` (str or callable) is the 429's text.
        Errors in the arguments raise ``ValueError``/``TypeError`` here, at decoration time.
        """
        marks = build_marks(
            limit, per, scope=scope, group=group, methods=methods, key_func=key_func,
            exempt_when=exempt_when, cost=cost, override_defaults=override_defaults,
            strategy=strategy, per_method=per_method, deduct_when=deduct_when,
            on_breach=on_breach, error_message=error_message,
        )  # fmt: skip

        def decorator(target: Any) -> Any:
            fresh = Marks(list(marks.rules), marks.cost, marks.override_defaults)
            return limit_target(target, fresh)

        return decorator

    def exempt(self, target: F) -> F:
        """Exempt a view, ``View`` class or ``Blueprint`` from the default and blueprint rules
        (its own ``rate_limited`` rules still apply). No Redis work."""
        return limit_target(target, Marks(exempt=True))

    def cached(
        self,
        timeout: float | None = None,
        key_prefix: str | Callable[[], str] = "view:",
        query_string: bool = True,
        unless: Callable[[], bool] | None = None,
        lock_timeout: float | None = 10.0,
    ) -> Callable[[F], F]:
        """Cache a view's response for ``timeout`` seconds (default WALRUS_CACHE_DEFAULT_TIMEOUT)
        in the app's cache, GET/HEAD only. ``key_prefix`` may be a callable returning the whole
        key; ``unless()`` returning True bypasses the cache. A missing entry of a sync view is
        rendered by one request while concurrent requests for it wait (at most
        ``lock_timeout`` seconds; None turns that off); async views render per request.
        Cost per request: a hit is 1 round trip (GET); a miss adds the store (1 round trip) and,
        for sync views, the fill lock (``walrus.stampede``)."""
        if timeout is not None and (
            isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0
        ):
            raise ValueError(
                f"cached timeout must be None or a number of seconds >= 0, got {timeout!r}"
            )
        if not callable(key_prefix) and not isinstance(key_prefix, str):
            raise TypeError(f"cached key_prefix must be a str or a callable, got {key_prefix!r}")
        if unless is not None and not callable(unless):
            raise TypeError(f"cached unless must be a callable, got {unless!r}")
        if lock_timeout is not None:
            check_stampede_options(lock_timeout, None)
        return cached_view(self.state, timeout, key_prefix, query_string, unless, lock_timeout)

    def metrics_route(
        self,
        app: Flask,
        rule: str = "/metrics",
        token: str | None = None,
        allow_anonymous: bool = False,
    ) -> None:
        """Serve the walrus metrics (Prometheus text format, ``walrus.prometheus``) at ``rule``
        and start counting now. Scrapers must send ``Authorization: Bearer <token>``; without
        a token the route is refused unless ``allow_anonymous=True`` (for a port only the
        scraper reaches). No Redis call per scrape: the figures are this process's."""
        if token is not None and not (isinstance(token, str) and token):
            raise ValueError(f"metrics token must be a non-empty str or None, got {token!r}")
        if token is None and not allow_anonymous:
            raise ValueError(
                "metrics_route needs token=... (or allow_anonymous=True to serve it to anyone)"
            )
        install_metrics()

        def walrus_metrics() -> Any:
            sent = request.headers.get("Authorization", "")
            if token is not None and not hmac.compare_digest(
                sent.encode(), f"Bearer {token}".encode()
            ):
                return Response("forbidden\n", status=403, content_type="text/plain")
            body, content_type = exposition()
            return Response(body, content_type=content_type)

        app.add_url_rule(rule, endpoint="walrus_metrics", view_func=walrus_metrics, methods=["GET"])
