"""``@w.cached(...)``: cache a view's response (body, status, content type) in the app's cache.

Only GET and HEAD requests use the cache; the key is ``key_prefix + path`` plus the sorted query
string (``query_string=True``), so ``?a=1&b=2`` and ``?b=2&a=1`` share an entry. Only 2xx
responses (not 206) of views that did not touch the session, set no cookie, do not vary on ``Cookie``, are not streamed and are not
``Cache-Control: private``/``no-store`` are stored. A Redis failure of the cache serves the
view uncached (logged); an error the view itself raises is raised, never rendered twice.
Cost: 1 round trip on a hit, 2 on a miss (get, then set).
"""

from __future__ import annotations

import asyncio
import hashlib
from base64 import b64decode, b64encode
from collections.abc import Callable
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

    def entry_key() -> str | None:
        if request.method not in ("GET", "HEAD") or (unless is not None and unless()):
            return None
        if callable(key_prefix):
            return str(key_prefix())
        return cache_key(key_prefix, request.path, request.args if query_string else None)

    def entry_response(hit: Any) -> Response | None:
        # [base64 body, status, content type]: the same entry whatever the serializer (JSON,
        # the default without a signing key, has no bytes).
        if not (isinstance(hit, (list, tuple)) and len(hit) == 3 and isinstance(hit[0], str)):
            return None
        body, status, content_type = hit
        return current_app.response_class(b64decode(body), status=status, content_type=content_type)

    def lookup(cache: Cache, state: WalrusState, key: str) -> Response | None:
        try:
            hit = cache.get(key)
        except RedisError as exc:
            state.limiter.report_error(exc, "a view cache read")
            return None
        return entry_response(hit)

    def store(cache: Cache, state: WalrusState, key: str, response: Response) -> None:
        if not _storable(response):
            return
        try:
            entry = [
                b64encode(response.get_data()).decode("ascii"),
                response.status_code,
                response.content_type,
            ]
            cache.set(key, entry, timeout)
        except RedisError as exc:
            state.limiter.report_error(exc, "a view cache write")

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(view):

            @wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                key = entry_key()
                if key is None:
                    return await view(*args, **kwargs)
                state = get_state()
                hit = lookup(state.cache, state, key)
                if hit is not None:
                    return hit
                response = current_app.make_response(await view(*args, **kwargs))
                store(state.cache, state, key, response)
                return response

            return async_wrapper

        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = entry_key()
            if key is None:
                return view(*args, **kwargs)
            state = get_state()
            cache = state.cache
            if lock_timeout is None:
                hit = lookup(cache, state, key)
                if hit is not None:
                    return hit
                response = current_app.make_response(view(*args, **kwargs))
                store(cache, state, key, response)
                return response
            computed: list[Response] = []
            view_failed = False

            def produce() -> Response:
                nonlocal view_failed
                try:
                    computed.append(current_app.make_response(view(*args, **kwargs)))
                except BaseException:
                    view_failed = True
                    raise
                store(cache, state, key, computed[0])
                return computed[0]

            def decode(raw: Any) -> Any:
                response = entry_response(cache.decode(raw))
                return MISS if response is None else response

            try:
                return get_or_fill(
                    cache.database, cache.make_key(key), decode, produce, lock_timeout
                )
            except RedisError as exc:  # Redis down: serve the view uncached, as without the lock
                if view_failed:  # the view's own error: rendering it again would repeat its writes
                    raise
                state.limiter.report_error(exc, "a view cache read")
                return computed[0] if computed else current_app.make_response(view(*args, **kwargs))

        return wrapper

    return decorator
