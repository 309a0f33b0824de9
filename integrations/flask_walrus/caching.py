"""``@w.cached(...)``: cache a view's response (body, status, content type) in the app's cache.

Only GET and HEAD requests use the cache; the key is ``key_prefix + path`` plus the sorted query
string (``query_string=True``), so ``?a=1&b=2`` and ``?b=2&a=1`` share an entry. Only 2xx
responses (not 206) of views that did not touch the session, set no cookie, do not vary on
``Cookie``, are not streamed and are not ``Cache-Control: private``/``no-store`` are stored.
A Redis failure of the cache serves the view uncached (logged); an error the view itself
raises is raised, never rendered twice.
Cost: 1 round trip on a hit, 2 on a miss (get, then set).
"""

from __future__ import annotations

import asyncio
import hashlib
from base64 import b64decode, b64encode
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Response, current_app, request
from flask.globals import _cv_request
from redis.exceptions import RedisError

from walrus.cache import Cache
from walrus.stampede import MISS, get_or_fill

if TYPE_CHECKING:  # pragma: no cover
    from .extension import WalrusState

__all__ = ["cache_key", "cached_view"]

_MAX_QUERY = 200


def cache_key(key_prefix: str, path: str, args: Any = None) -> str:
    """The cache entry name of ``path`` with query ``args`` (a MultiDict or a dict; sorted).
    A long query string is replaced by its SHA-256 digest to bound the key size. No Redis work."""
    key = f"{key_prefix}{path}"
    if args:
        items = args.items(multi=True) if hasattr(args, "getlist") else args.items()
        query = urlencode(sorted((str(k), str(v)) for k, v in items))
        if len(query) > _MAX_QUERY:
            query = "sha256=" + hashlib.sha256(query.encode()).hexdigest()
        key += "?" + query
    return key


def _session_accessed() -> bool:
    """Whether the view read or wrote ``flask.session``, without touching it (reading the
    ``session`` proxy would itself mark it accessed on Flask >= 3.1)."""
    ctx = _cv_request.get(None)
    if ctx is None:
        return False
    attrs = vars(ctx)
    opened = attrs.get("_session", attrs.get("session"))
    return bool(getattr(opened, "accessed", False))


def _storable(response: Response) -> bool:
    if _session_accessed():  # the response depends on the user's session (Vary: Cookie)
        return False
    if not 200 <= response.status_code < 300 or response.status_code == 206:
        return False
    if response.is_streamed or response.direct_passthrough or "Set-Cookie" in response.headers:
        return False
    if "cookie" in {v.strip().lower() for v in response.headers.get("Vary", "").split(",")}:
        return False
    control = response.cache_control
    return not (control.private or control.no_store)


def _entry_response(hit: Any) -> Response | None:
    """The response a cache entry holds, or None when ``hit`` is not a view cache entry.
    An entry is [base64 body, status, content type]: the same entry whatever the serializer
    (JSON, the default without a signing key, has no bytes). No Redis work."""
    if not (isinstance(hit, (list, tuple)) and len(hit) == 3 and isinstance(hit[0], str)):
        return None
    body, status, content_type = hit
    return current_app.response_class(b64decode(body), status=status, content_type=content_type)


def _lookup(cache: Cache, state: WalrusState, key: str) -> Response | None:
    """The cached response of ``key``, or None on a miss or a Redis failure (reported).
    Cost: 1 round trip."""
    try:
        hit = cache.get(key)
    except RedisError as exc:
        state.limiter.report_error(exc, "a view cache read")
        return None
    return _entry_response(hit)


@dataclass(frozen=True)
class _ViewCache:
    """The settings of one ``cached_view`` decorator and the request steps that use them."""

    get_state: Callable[[], WalrusState]
    timeout: float | None
    key_prefix: str | Callable[[], str]
    query_string: bool
    unless: Callable[[], bool] | None
    lock_timeout: float | None

    def entry_key(self) -> str | None:
        """The current request's cache entry name, or None when it must not use the cache."""
        if request.method not in ("GET", "HEAD") or (self.unless is not None and self.unless()):
            return None
        if callable(self.key_prefix):
            return str(self.key_prefix())
        args = request.args if self.query_string else None
        return cache_key(self.key_prefix, request.path, args)

    def store(self, cache: Cache, state: WalrusState, key: str, response: Response) -> None:
        """Store ``response`` under ``key`` when it is storable; a Redis failure is reported.
        Cost: 1 round trip when stored."""
        if not _storable(response):
            return
        try:
            entry = [
                b64encode(response.get_data()).decode("ascii"),
                response.status_code,
                response.content_type,
            ]
            cache.set(key, entry, self.timeout)
        except RedisError as exc:
            state.limiter.report_error(exc, "a view cache write")

    def wrap_async(self, view: Callable[..., Any]) -> Callable[..., Any]:
        """``view`` (a coroutine function) served from the cache, without stampede lock."""

        @wraps(view)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            key = self.entry_key()
            if key is None:
                return await view(*args, **kwargs)
            state = self.get_state()
            hit = _lookup(state.cache, state, key)
            if hit is not None:
                return hit
            response = current_app.make_response(await view(*args, **kwargs))
            self.store(state.cache, state, key, response)
            return response

        return async_wrapper

    def wrap_sync(self, view: Callable[..., Any]) -> Callable[..., Any]:
        """``view`` served from the cache, under the stampede lock unless ``lock_timeout`` is
        None."""

        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = self.entry_key()
            if key is None:
                return view(*args, **kwargs)
            state = self.get_state()
            if self.lock_timeout is None:
                return self.serve_unlocked(state, key, view, args, kwargs)
            return self.serve_locked(state, key, self.lock_timeout, view, args, kwargs)

        return wrapper

    def serve_unlocked(
        self,
        state: WalrusState,
        key: str,
        view: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Response:
        """The cached response of ``key``, or the view's, stored. Cost: 1 or 2 round trips."""
        cache = state.cache
        hit = _lookup(cache, state, key)
        if hit is not None:
            return hit
        response = current_app.make_response(view(*args, **kwargs))
        self.store(cache, state, key, response)
        return response

    def serve_locked(
        self,
        state: WalrusState,
        key: str,
        lock_timeout: float,
        view: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """The cached response of ``key``, or the view's, rendered by one request at a time
        (``walrus.stampede.get_or_fill``). Redis down: the view is served uncached; an error
        the view itself raised is raised, never rendered twice."""
        cache = state.cache
        computed: list[Response] = []
        view_failed = False

        def produce() -> Response:
            nonlocal view_failed
            try:
                computed.append(current_app.make_response(view(*args, **kwargs)))
            except BaseException:
                view_failed = True
                raise
            self.store(cache, state, key, computed[0])
            return computed[0]

        def decode(raw: Any) -> Any:
            response = _entry_response(cache.decode(raw))
            return MISS if response is None else response

        try:
            return get_or_fill(cache.database, cache.make_key(key), decode, produce, lock_timeout)
        except RedisError as exc:  # Redis down: serve the view uncached, as without the lock
            if view_failed:  # the view's own error: rendering it again would repeat its writes
                raise
            state.limiter.report_error(exc, "a view cache read")
            return computed[0] if computed else current_app.make_response(view(*args, **kwargs))


def cached_view(
    get_state: Callable[[], WalrusState],
    timeout: float | None,
    key_prefix: str | Callable[[], str],
    query_string: bool,
    unless: Callable[[], bool] | None,
    lock_timeout: float | None = 10.0,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The decorator behind ``Walrus.cached`` (arguments validated by the caller).
    ``lock_timeout``: stampede protection of sync views (``walrus.stampede``); None: off.
    Cost: per request, as ``Walrus.cached`` says."""
    settings = _ViewCache(get_state, timeout, key_prefix, query_string, unless, lock_timeout)

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(view):
            return settings.wrap_async(view)
        return settings.wrap_sync(view)

    return decorator
