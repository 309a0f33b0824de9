"""``WalrusCache``: a Django cache backend on walrus.

::

    CACHES = {
        "default": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": "redis://localhost:6379/1",   # or omit and set OPTIONS["ALIAS"]
            "OPTIONS": {"ALIAS": "default"},          # share the WALRUS alias' connection pool
        }
    }

OPTIONS: ``ALIAS``, ``SERIALIZER`` ("pickle" | "json" | "msgpack" | an object with
dumps/loads), ``SIGN`` (default True: a keyed BLAKE2b MAC with ``SECRET_KEY``, or ``SIGNING_KEY``),
``COMPRESS_MIN_LENGTH`` (bytes; None = never), ``COMPRESS_LEVEL``, ``SOCKET_TIMEOUT``,
``SOCKET_CONNECT_TIMEOUT`` (seconds, with LOCATION), ``CONNECTION_POOL_KWARGS``,
``IGNORE_EXCEPTIONS`` (connection and timeout errors become misses, logged with the real
exception), ``CLEAR_PATTERN`` (glob ``clear()`` deletes, for custom KEY_FUNCTIONs).
Every call is one round trip (get_many/set_many/delete_many included). LOCATION may be a
``redis+cluster://`` or ``redis+sentinel://`` URL: on Redis Cluster entries spread over the
shards, the many-key calls take one round trip per node, and ``clear``, ``delete_pattern``
and ``iter_keys`` scan every primary.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from walrus import Database
from walrus.serializers import BadSignature

from .codec import ValueCodec

__all__ = ["WalrusCache"]

logger = logging.getLogger("django_walrus.cache")
F = TypeVar("F", bound=Callable[..., Any])
_GLOB_SPECIAL = "\\*?[]"
# Keys of printable ASCII without spaces, up to memcached's 250 characters, can draw none of
# Django's key warnings: skip its per-character check for them (about 1 us per key).
_PLAIN_KEY = re.compile(r"[!-~]{1,250}\Z")
_KEY_MARK, _VERSION_MARK = "\x00K\x00", "\x00V\x00"


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in _GLOB_SPECIAL else ch for ch in text)


def _guarded(default: Any) -> Callable[[F], F]:
    """With IGNORE_EXCEPTIONS, turn connection/timeout errors into ``default`` (logged)."""

    def decorate(method: F) -> F:
        @wraps(method)
        def wrapper(self: WalrusCache, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                if not self._ignore_exceptions:
                    raise
                logger.warning("cache %s failed, treated as a miss: %r", method.__name__, exc)
                value = default(args, kwargs) if callable(default) else default
                return value

        return cast(F, wrapper)

    return decorate


def _default_arg(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return kwargs.get("default", args[1] if len(args) > 1 else None)


class WalrusCache(BaseCache):
    """Django cache backend storing values in Redis through a ``walrus.Database``."""

    def validate_key(self, key: str) -> None:
        if _PLAIN_KEY.match(key):
            return
        super().validate_key(key)

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        options = dict(params.get("OPTIONS") or {})
        self._alias: str | None = options.pop("ALIAS", None)
        self._location = server or None
        if isinstance(self._location, (list, tuple)):
            if len(self._location) != 1:
                raise ImproperlyConfigured("WalrusCache takes one LOCATION URL")
            self._location = self._location[0]
        if self._location and self._alias:
            raise ImproperlyConfigured("WalrusCache: set LOCATION or OPTIONS['ALIAS'], not both")
        signing_key = options.pop("SIGNING_KEY", None)
        sign = options.pop("SIGN", True)
        if sign and not signing_key:
            signing_key = settings.SECRET_KEY
        min_length = options.pop("COMPRESS_MIN_LENGTH", None)
        if min_length is not None and (not isinstance(min_length, int) or min_length < 0):
            raise ImproperlyConfigured("WalrusCache OPTIONS['COMPRESS_MIN_LENGTH'] must be an int >= 0 or None")
        self._codec = ValueCodec(
            options.pop("SERIALIZER", "pickle"),
            signing_key if sign else None,
            min_length,
            options.pop("COMPRESS_LEVEL", 6),
        )
        self._ignore_exceptions = bool(options.pop("IGNORE_EXCEPTIONS", False))
        self._clear_pattern: str | None = options.pop("CLEAR_PATTERN", None)
        pool_kwargs = dict(options.pop("CONNECTION_POOL_KWARGS", {}) or {})
        for name in ("SOCKET_TIMEOUT", "SOCKET_CONNECT_TIMEOUT"):
            if name in options:
                pool_kwargs[name.lower()] = options.pop(name)
        if options:
            raise ImproperlyConfigured(f"WalrusCache: unknown OPTIONS {sorted(options)}")
        self._pool_kwargs = pool_kwargs
        self._own_database: Database | None = None

    # -- plumbing -------------------------------------------------------------------------

    @property
    def database(self) -> Database:
        """The walrus Database behind this cache (shared with its WALRUS alias when ALIAS is set)."""
        if self._location:
            if self._own_database is None:
                self._own_database = Database.from_url(self._location, **self._pool_kwargs)
            return self._own_database
        from .conf import get_database

        return get_database(self._alias or "default")

    def get_backend_timeout(self, timeout: Any = DEFAULT_TIMEOUT) -> int | None:  # type: ignore[override]
        """Milliseconds to keep a value: None = forever, 0 = do not store."""
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return None
        return max(0, int(float(timeout) * 1000))

    def _decode(self, key: str, data: bytes | None, default: Any) -> Any:
        if data is None:
            return default
        try:
            return self._codec.decode(data)
        except BadSignature:
            logger.warning("cache value for %r failed signature verification; treated as a miss", key)
            return default

    def _set_args(self, timeout: Any) -> dict[str, Any] | None:
        ms = self.get_backend_timeout(timeout)
        if ms is None:
            return {}
        if ms == 0:
            return None
        return {"px": ms}

    # -- the Django cache contract -------------------------------------------------------

    @_guarded(False)
    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        data = self._codec.encode(value)
        args = self._set_args(timeout)
        if args is None:
            # Expire at once: report whether the key was free, store nothing (1 round trip).
            pipe = self.database.pipeline()
            pipe.exists(key)
            return not pipe.execute()[0]
        return bool(self.database.set(key, data, nx=True, **args))

    @_guarded(_default_arg)
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        key = self.make_and_validate_key(key, version=version)
        return self._decode(key, self.database.get(key), default)

    @_guarded(None)
    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        key = self.make_and_validate_key(key, version=version)
        data = self._codec.encode(value)
        args = self._set_args(timeout)
        if args is None:
            self.database.delete(key)
        else:
            self.database.set(key, data, **args)

    @_guarded(False)
    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        ms = self.get_backend_timeout(timeout)
        if ms is None:
            pipe = self.database.pipeline()
            pipe.exists(key)
            pipe.persist(key)
            return bool(pipe.execute()[0])
        # PEXPIRE with 0 deletes at once, as Django expects of touch(key, 0).
        return bool(self.database.pexpire(key, ms))

    @_guarded(False)
    def delete(self, key: Any, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return bool(self.database.delete(key))

    @_guarded(lambda args, kwargs: {})
    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        originals = list(keys)
        if not originals:
            return {}
        made = [self.make_and_validate_key(k, version=version) for k in originals]
        database = self.database
        # On Redis Cluster: one MGET per hash slot, pipelined (one round trip per node).
        values = database.mget_nonatomic(made) if database.is_cluster else database.mget(made)
        missing = object()
        result = {}
        for original, key, data in zip(originals, made, values, strict=True):
            value = self._decode(key, data, missing)
            if value is not missing:
                result[original] = value
        return result

    @_guarded(False)
    def has_key(self, key: Any, version: int | None = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        return bool(self.database.exists(key))

    def _incr(self, key: Any, delta: int, version: int | None) -> int:
        made = self.make_and_validate_key(key, version=version)
        try:
            value = self.database.run_script("incr_existing", keys=[made], args=[int(delta)])
        except ResponseError as exc:
            raise TypeError(f"cache value of {key!r} is not an integer: {exc}") from None
        if value is None:
            raise ValueError(f"Key '{key}' not found")
        return int(value)

    @_guarded(None)
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self._incr(key, delta, version)

    @_guarded(None)
    def decr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self._incr(key, -delta, version)

    @_guarded(lambda args, kwargs: list((args[0] if args else kwargs.get("data", {})).keys()))
    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        if not data:
            return []
        args = self._set_args(timeout)
        items = [(self.make_and_validate_key(k, version=version), self._codec.encode(v)) for k, v in data.items()]
        if args is None:
            self.database.delete(*[k for k, _ in items])
            return []
        pipe = self.database.pipeline(transaction=False)
        if args or self.database.is_cluster:  # a cluster refuses MSET across slots
            for key, value in items:
                pipe.set(key, value, **args)
        else:
            pipe.mset(dict(items))
        pipe.execute()
        return []

    @_guarded(None)
    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        made = [self.make_and_validate_key(k, version=version) for k in keys]
        if made:
            self.database.delete(*made)

    def _prefix_pattern(self) -> str:
        if self._clear_pattern:
            return self._clear_pattern
        probe = self.key_func(_KEY_MARK, self.key_prefix, _VERSION_MARK)
        if _KEY_MARK not in probe:
            raise ImproperlyConfigured(
                "WalrusCache cannot derive which keys belong to this cache from its KEY_FUNCTION; "
                "set OPTIONS['CLEAR_PATTERN']"
            )
        return _glob_escape(probe).replace(_KEY_MARK, "*").replace(_VERSION_MARK, "*")

    @_guarded(None)
    def clear(self) -> None:
        """Delete this cache's keys only (SCAN + UNLINK in batches), never the whole DB."""
        self._delete_matching(self._prefix_pattern())

    def close(self, **kwargs: Any) -> None:
        """Called at the end of each request: connections stay pooled (nothing to do)."""

    # -- extras users of django-redis expect ----------------------------------------------

    def _delete_matching(self, pattern: str, batch: int = 500) -> int:
        database = self.database
        deleted = 0
        chunk: list[bytes] = []
        for key in database.scan_iter(match=pattern, count=batch):
            chunk.append(key)
            if len(chunk) >= batch:
                deleted += int(database.unlink(*chunk))
                chunk = []
        if chunk:
            deleted += int(database.unlink(*chunk))
        return deleted

    @_guarded(0)
    def delete_pattern(self, pattern: str, version: int | None = None, itersize: int = 500) -> int:
        """Delete keys matching a glob on the user-level key (SCAN + UNLINK); returns the count."""
        return self._delete_matching(self.make_key(pattern, version=version), itersize)

    def iter_keys(self, search: str = "*", version: int | None = None, itersize: int = 500) -> Iterator[str]:
        """User-level keys matching a glob (SCAN), without prefix and version."""
        probe = self.make_key(_KEY_MARK, version=version)
        head, _, tail = probe.partition(_KEY_MARK)
        for raw in self.database.scan_iter(match=self.make_key(search, version=version), count=itersize):
            text = raw.decode()
            if text.startswith(head) and text.endswith(tail):
                yield text[len(head) : len(text) - len(tail) if tail else None]

    def keys(self, search: str = "*", version: int | None = None) -> list[str]:
        return list(self.iter_keys(search, version))

    @_guarded(0)
    def ttl(self, key: Any, version: int | None = None) -> int | None:
        """Seconds left: None when the key never expires, 0 when it does not exist."""
        made = self.make_and_validate_key(key, version=version)
        value = int(self.database.ttl(made))
        if value == -1:
            return None
        return max(value, 0)

    @_guarded(0)
    def pttl(self, key: Any, version: int | None = None) -> int | None:
        made = self.make_and_validate_key(key, version=version)
        value = int(self.database.pttl(made))
        if value == -1:
            return None
        return max(value, 0)

    @_guarded(False)
    def persist(self, key: Any, version: int | None = None) -> bool:
        return bool(self.database.persist(self.make_and_validate_key(key, version=version)))

    @_guarded(False)
    def expire(self, key: Any, timeout: float, version: int | None = None) -> bool:
        """Set the key's TTL to ``timeout`` seconds (1 round trip)."""
        made = self.make_and_validate_key(key, version=version)
        return bool(self.database.pexpire(made, max(1, int(float(timeout) * 1000))))

    def lock(self, key: str, timeout: float | None = None, version: int | None = None) -> Any:
        """A walrus ``Lock`` named after the cache key; ``timeout`` in seconds (None = no expiry)."""
        made = self.make_and_validate_key(key, version=version)
        ttl = None if timeout is None else int(float(timeout) * 1000)
        return self.database.lock(made, ttl=ttl)
