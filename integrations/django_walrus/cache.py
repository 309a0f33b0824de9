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
``COMPRESS_MIN_LENGTH`` (bytes; None = never), ``COMPRESS_LEVEL``, ``IGNORE_EXCEPTIONS``
(connection and timeout errors become misses, logged with the real exception; refused
credentials and reply errors still raise), ``CLEAR_PATTERN`` (glob ``clear()`` deletes, for
custom KEY_FUNCTIONs). Only with a LOCATION (the cache's own pool): ``SOCKET_TIMEOUT``,
``SOCKET_CONNECT_TIMEOUT`` (seconds), ``CONNECTION_POOL_KWARGS``, ``CLOSE_CONNECTION``
(disconnect at the end of every request; default False), and the reconnection options
``RETRIES``, ``RETRY_BACKOFF``, ``RETRY_BACKOFF_CAP``, ``REQUEST_IDS`` (docs/reliability.md;
with an ALIAS set them in the alias' OPTIONS as ``retries`` & co). Bad OPTIONS are reported by
``manage.py check`` (``cache_options``) and make every call raise ImproperlyConfigured.
Every call is one round trip (get_many/set_many/delete_many included). LOCATION may be a
``redis+cluster://`` or ``redis+sentinel://`` URL: on Redis Cluster entries spread over the
shards, the many-key calls take one round trip per node, and ``clear``, ``delete_pattern``
and ``iter_keys`` scan every primary.
"""

from __future__ import annotations

import itertools
import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar, cast

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from walrus import ClusterDatabase, Database, events
from walrus.keyspace import delete_matching, escape_glob
from walrus.serializers import BadSignature
from walrus.stampede import MISS, check_stampede_options, get_or_fill
from walrus.steps import drive

from . import cache_async
from .cache_options import read_cache_options
from .cache_steps import (
    _IGNORED,
    CMD,
    DELETE,
    MGET,
    MULTI,
    PIPE,
    READ,
    SCRIPT,
    Step,
    Steps,
    _ignorable,
    _incr_error,
    guarded,
)
from .conf import get_database

__all__ = ["WalrusCache"]

logger = logging.getLogger("django_walrus.cache")
F = TypeVar("F", bound=Callable[..., Any])
# Keys of printable ASCII without spaces, up to memcached's 250 characters, can draw none of
# Django's key warnings: skip its per-character check for them (about 1 us per key).
_PLAIN_KEY = re.compile(r"[!-~]{1,250}\Z")
_KEY_MARK, _VERSION_MARK = "\x00K\x00", "\x00V\x00"
#: Seconds a replica that failed to answer is left out before it is tried again.
REPLICA_RETRY_AFTER = 5.0


def _field(name: Any) -> str | bytes:
    if isinstance(name, (str, bytes)) and name:
        return name
    raise TypeError(f"hash field must be a non-empty str or bytes, got {name!r}")


def _milliseconds(value: Any, what: str) -> int:
    if isinstance(value, timedelta):
        return int(value.total_seconds() * 1000)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise TypeError(f"{what} must be a number of milliseconds or a timedelta, got {value!r}")
    return int(value)


def _epoch_ms(when: Any, unit_ms: int) -> int:
    """``when`` (a datetime, naive = UTC, or a Unix time in units of ``unit_ms`` ms) in ms."""
    if isinstance(when, datetime):
        aware = when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
        return int(aware.timestamp() * 1000)
    if isinstance(when, bool) or not isinstance(when, (int, float)) or not math.isfinite(when):
        raise TypeError(f"when must be a datetime or a Unix time, got {when!r}")
    return int(when * unit_ms)


_guarded = guarded


def _default_arg(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return kwargs.get("default", args[1] if len(args) > 1 else None)


class WalrusCache(BaseCache):  # type: ignore[misc]  # Django ships no types: Any base
    """Django cache backend storing values in Redis through a ``walrus.Database``."""

    # asyncio: native on redis.asyncio, the same steps as the sync methods (cache_async.py)
    async_database = cache_async.async_database
    _arun = cache_async._arun
    _asend = cache_async._asend
    _aincr = cache_async._aincr
    aadd = cache_async.aadd
    aget = cache_async.aget
    aset = cache_async.aset
    atouch = cache_async.atouch
    adelete = cache_async.adelete
    aget_many = cache_async.aget_many
    ahas_key = cache_async.ahas_key
    aincr = cache_async.aincr
    adecr = cache_async.adecr
    aset_many = cache_async.aset_many
    adelete_many = cache_async.adelete_many
    aclear = cache_async.aclear
    aclose = cache_async.aclose
    aget_or_set = cache_async.aget_or_set

    def validate_key(self, key: str) -> None:
        """Django's key check (a fast path for plain keys). No Redis work."""
        if _PLAIN_KEY.match(key):
            return
        super().validate_key(key)

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        config, problems = read_cache_options(server, params.get("OPTIONS"))
        # A bad option does not raise here: Django's own system checks build every cache, and
        # an exception would end `manage.py check` with a traceback instead of our E0xx report.
        # The cache refuses every call until fixed (see `database`).
        self._config_error = (
            "WalrusCache: "
            + "; ".join(f"{p.message} ({p.id}{': ' + p.hint if p.hint else ''})" for p in problems)
            if problems
            else None
        )
        self._location = config.location
        self._replica_urls = config.replicas
        self._replicas: list[Database] | None = None
        self._replica_down_until = [0.0] * len(config.replicas)
        self._replica_turn = itertools.count()
        self._alias = config.alias
        self._codec = config.codec
        self._ignore_exceptions = config.ignore_exceptions
        self._batch_reads = config.batch_reads
        self._clear_pattern = config.clear_pattern
        self._pool_kwargs = config.pool_kwargs
        self._close_connection = config.close_connection
        self._own_database: Database | None = None
        # (default_timeout, its SET arguments), computed once per default (see `_expiry`).
        self._default_expiry: tuple[Any, tuple[Any, ...] | None] = (object(), None)

    # -- plumbing -------------------------------------------------------------------------

    @property
    def database(self) -> Database:
        """The walrus Database behind this cache (shared with its WALRUS alias when ALIAS is set).

        ImproperlyConfigured naming every problem while the OPTIONS or LOCATION are bad."""
        own = self._own_database
        if own is not None:
            return own
        if self._config_error is not None:
            raise ImproperlyConfigured(self._config_error)
        if self._location:
            self._own_database = Database.from_url(self._location, **self._pool_kwargs)
            return self._own_database
        return get_database(self._alias)

    def _replica_databases(self) -> list[Database]:
        if self._replicas is None:
            self._replicas = [
                Database.from_url(url, **self._pool_kwargs) for url in self._replica_urls
            ]
        return self._replicas

    def _read(self, *command: Any) -> Any:
        """Send a read command to the next replica that is up (round robin), else to the
        primary. A replica that fails to answer is skipped for ``REPLICA_RETRY_AFTER``
        seconds (logged). Without replicas: the primary, no extra work."""
        if not self._replica_urls:
            return self.database.execute_command(*command)
        replicas = self._replica_databases()
        for index in self._replica_turns():
            try:
                return replicas[index].execute_command(*command)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                self._replica_down(index, exc)
        return self.database.execute_command(*command)

    def _replica_turns(self) -> Iterator[int]:
        """The replicas to try for one read (indexes): round robin from the next one, those
        found down in the last ``REPLICA_RETRY_AFTER`` seconds left out. No Redis work."""
        if self._config_error is not None:
            raise ImproperlyConfigured(self._config_error)
        now = time.monotonic()
        start, count = next(self._replica_turn), len(self._replica_urls)
        for step in range(count):
            index = (start + step) % count
            if self._replica_down_until[index] <= now:
                yield index

    def _replica_down(self, index: int, exc: Exception) -> None:
        """Skip replica ``index`` for ``REPLICA_RETRY_AFTER`` seconds (logged)."""
        self._replica_down_until[index] = time.monotonic() + REPLICA_RETRY_AFTER
        logger.warning("cache replica %s is down, skipped for %s s: %r",
                       self._replica_urls[index], REPLICA_RETRY_AFTER, exc)  # fmt: skip

    def _run(self, steps: Steps) -> Any:
        """Drive a cache call's steps on this cache's (sync) Database (``walrus.steps``)."""
        return drive(steps, self._send)

    def _send(self, step: Step) -> Any:
        kind, payload = step
        if kind == CMD:
            return self.database.execute_command(*payload)
        if kind == READ:
            return self._read(*payload)
        if kind == DELETE:  # a cluster client splits DEL of many keys per slot
            return self.database.delete(*payload)
        if kind == SCRIPT:
            name, keys, args = payload
            return self.database.run_script(name, keys=list(keys), args=list(args))
        if kind == MGET:
            if self._is_cluster():  # one MGET per hash slot, pipelined (a round trip per node)
                return cast(ClusterDatabase, self.database).mget_nonatomic(list(payload))
            return self._read("MGET", *payload)
        pipe = self.database.pipeline(transaction=kind == MULTI)
        for command in payload:
            pipe.execute_command(*command)
        return pipe.execute()

    def _is_cluster(self) -> bool:
        return bool(self.database.is_cluster)

    def check_configured(self) -> None:
        """ImproperlyConfigured naming every problem of this cache's OPTIONS and LOCATION.
        No Redis work."""
        if self._config_error is not None:
            raise ImproperlyConfigured(self._config_error)

    def get_backend_timeout(self, timeout: Any = DEFAULT_TIMEOUT) -> int | None:
        """Milliseconds to keep a value: None = forever, 0 = do not store. No Redis work."""
        if timeout is DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        if timeout is None:
            return None
        return max(0, int(float(timeout) * 1000))

    @property
    def event_name(self) -> str:
        """This cache's name in ``walrus.events``: ``django:<KEY_PREFIX>`` (``django`` alone
        without a prefix)."""
        return f"django:{self.key_prefix}" if self.key_prefix else "django"

    def _decode(self, key: str, data: bytes | None, default: Any) -> Any:
        if data is None:
            if events.listeners:
                events.emit("cache", self.event_name, "miss")
            return default
        try:
            value = self._codec.decode(data)
        except BadSignature:
            logger.warning(
                "cache value for %r failed signature verification; treated as a miss", key
            )
            if events.listeners:
                events.emit("cache", self.event_name, "error")
            return default
        if events.listeners:
            events.emit("cache", self.event_name, "hit")
        return value

    @staticmethod
    def _expiry_of(ms: int | None) -> tuple[Any, ...] | None:
        if ms is None:
            return ()
        if ms == 0:
            return None
        return ("PX", ms)

    def _expiry(self, timeout: Any) -> tuple[Any, ...] | None:
        """SET arguments for ``timeout``: () = keep forever, None = do not store."""
        if timeout is DEFAULT_TIMEOUT:
            default, expiry = self._default_expiry
            if default is not self.default_timeout:
                expiry = self._expiry_of(self.get_backend_timeout(DEFAULT_TIMEOUT))
                self._default_expiry = (self.default_timeout, expiry)
            return expiry
        return self._expiry_of(self.get_backend_timeout(timeout))

    # The hot calls below send their command through execute_command: redis-py's typed
    # wrappers (set() and get() with their argument checks) cost more than the rest of the
    # call on a loopback server, and these commands need none of their options.

    # -- the Django cache contract -------------------------------------------------------

    @_guarded(False)
    def add(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> bool:
        """Store ``value`` only if ``key`` is free (SET NX). 1 round trip."""
        return bool(self._run(self._add_steps(key, value, timeout, version)))

    def _add_steps(self, key: Any, value: Any, timeout: Any, version: int | None) -> Steps:
        key = self.make_and_validate_key(key, version=version)
        data = self._codec.encode(value)
        expiry = self._expiry(timeout)
        if expiry is None:
            # Expire at once: report whether the key was free, store nothing (1 round trip).
            return not (yield CMD, ("EXISTS", key))
        return bool((yield CMD, ("SET", key, data, "NX", *expiry)))

    @_guarded(_default_arg)
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        """The value at ``key`` or ``default``. 1 round trip (GET)."""
        return self._run(self._get_steps(key, default, version))

    def _get_steps(self, key: Any, default: Any, version: int | None) -> Steps:
        key = self.make_and_validate_key(key, version=version)
        return self._decode(key, (yield READ, ("GET", key)), default)

    @_guarded(None)
    def set(
        self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        """Store ``value`` (SET with PX). 1 round trip."""
        self._run(self._set_steps(key, value, timeout, version))

    def _set_steps(self, key: Any, value: Any, timeout: Any, version: int | None) -> Steps:
        key = self.make_and_validate_key(key, version=version)
        data = self._codec.encode(value)
        expiry = self._expiry(timeout)
        if expiry is None:
            yield CMD, ("DEL", key)
        else:
            yield CMD, ("SET", key, data, *expiry)

    def get_or_set(
        self,
        key: Any,
        default: Any,
        timeout: Any = DEFAULT_TIMEOUT,
        version: int | None = None,
        lock_timeout: float = 10.0,
        early: float | None = None,
    ) -> Any:
        """Django's ``get_or_set``, computed once under concurrency: on a miss one caller
        computes ``default`` (called when callable) and stores it while the others wait for
        it, at most ``lock_timeout`` seconds (then they compute themselves); with ``early``
        (seconds), one caller recomputes that long before expiry and the others keep the
        current value (``walrus.stampede``). A hit is 1 round trip."""
        check_stampede_options(lock_timeout, early)
        made = self.make_and_validate_key(key, version=version)
        computed: list[Any] = []
        started: list[bool] = []

        def produce() -> Any:
            started.append(True)
            computed.append(default() if callable(default) else default)
            self.set(key, computed[0], timeout, version)
            return computed[0]

        try:
            return get_or_fill(
                self.database,
                made,
                lambda raw: self._decode(made, raw, MISS),
                produce,
                lock_timeout,
                early,
            )
        except _IGNORED as exc:
            if started and not computed:
                raise  # default() itself failed: its own error, never run it a second time
            if not _ignorable(self, exc, "get_or_set"):
                raise
            return computed[0] if computed else produce()

    @_guarded(False)
    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        """New timeout for ``key``. 1 round trip (PEXPIRE, or EXISTS+PERSIST in MULTI)."""
        return bool(self._run(self._touch_steps(key, timeout, version)))

    def _touch_steps(self, key: Any, timeout: Any, version: int | None) -> Steps:
        key = self.make_and_validate_key(key, version=version)
        ms = self.get_backend_timeout(timeout)
        if ms is None:
            replies = yield MULTI, (("EXISTS", key), ("PERSIST", key))
            return bool(replies[0])
        # PEXPIRE with 0 deletes at once, as Django expects of touch(key, 0).
        return bool((yield CMD, ("PEXPIRE", key, ms)))

    @_guarded(False)
    def delete(self, key: Any, version: int | None = None) -> bool:
        """1 round trip (DEL)."""
        return bool(self._run(self._delete_steps(key, version)))

    def _delete_steps(self, key: Any, version: int | None) -> Steps:
        return bool((yield CMD, ("DEL", self.make_and_validate_key(key, version=version))))

    @_guarded(lambda args, kwargs: {})
    def get_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]:
        """1 round trip (MGET; on a cluster one MGET per slot, pipelined)."""
        return cast("dict[Any, Any]", self._run(self._get_many_steps(keys, version)))

    def _get_many_steps(self, keys: Iterable[Any], version: int | None) -> Steps:
        originals = list(keys)
        if not originals:
            return {}
        made = [self.make_and_validate_key(k, version=version) for k in originals]
        values = yield MGET, tuple(made)
        missing = object()
        result = {}
        for original, key, data in zip(originals, made, values, strict=True):
            value = self._decode(key, data, missing)
            if value is not missing:
                result[original] = value
        return result

    @_guarded(False)
    def has_key(self, key: Any, version: int | None = None) -> bool:
        """1 round trip (EXISTS)."""
        return bool(self._run(self._has_key_steps(key, version)))

    def _has_key_steps(self, key: Any, version: int | None) -> Steps:
        return bool((yield READ, ("EXISTS", self.make_and_validate_key(key, version=version))))

    def _incr_steps(self, key: Any, delta: int, version: int | None) -> Steps:
        """The core's ``cache_incr`` script on an existing key only (1 round trip, through
        ``run_script``: EVALSHA after the first run, request ids when configured)."""
        made = self.make_and_validate_key(key, version=version)
        value = yield SCRIPT, ("cache_incr", (made,), (int(delta), 0, 1))
        if value is None:
            raise ValueError(f"Key '{key}' not found")
        return int(value)

    def _incr(self, key: Any, delta: int, version: int | None) -> int:
        try:
            return int(self._run(self._incr_steps(key, delta, version)))
        except ResponseError as exc:
            raise _incr_error(key, exc) from None

    @_guarded(None)
    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        """Add ``delta`` to an existing integer. 1 round trip (the ``cache_incr`` script)."""
        return self._incr(key, delta, version)

    @_guarded(None)
    def decr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        """Subtract ``delta`` from an existing integer. 1 round trip (``cache_incr``)."""
        return self._incr(key, -delta, version)

    @_guarded(lambda args, kwargs: list((args[0] if args else kwargs.get("data", {})).keys()))
    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[Any]:
        """1 round trip (MSET, or one pipeline of SETs with a timeout or on a cluster)."""
        self._run(self._set_many_steps(data, timeout, version))
        return []

    def _set_many_steps(self, data: dict[Any, Any], timeout: Any, version: int | None) -> Steps:
        if not data:
            return
        expiry = self._expiry(timeout)
        items = [
            (self.make_and_validate_key(k, version=version), self._codec.encode(v))
            for k, v in data.items()
        ]
        if expiry is None:
            yield DELETE, tuple(k for k, _ in items)
        elif not expiry and not self._is_cluster():  # a cluster refuses MSET across slots
            yield CMD, ("MSET", *[part for item in items for part in item])
        else:
            yield PIPE, tuple(("SET", key, value, *expiry) for key, value in items)

    @_guarded(None)
    def delete_many(self, keys: Iterable[Any], version: int | None = None) -> None:
        """1 round trip (DEL of every key)."""
        self._run(self._delete_many_steps(keys, version))

    def _delete_many_steps(self, keys: Iterable[Any], version: int | None) -> Steps:
        made = [self.make_and_validate_key(k, version=version) for k in keys]
        if made:
            yield DELETE, tuple(made)

    def _prefix_pattern(self) -> str:
        if self._clear_pattern:
            return self._clear_pattern
        probe = self.key_func(_KEY_MARK, self.key_prefix, _VERSION_MARK)
        if _KEY_MARK not in probe:
            raise ImproperlyConfigured(
                "WalrusCache cannot derive which keys belong to this cache from its KEY_FUNCTION; "
                "set OPTIONS['CLEAR_PATTERN']"
            )
        return escape_glob(probe).replace(_KEY_MARK, "*").replace(_VERSION_MARK, "*")

    @_guarded(None)
    def clear(self) -> None:
        """Delete this cache's keys only (SCAN + UNLINK in batches), never the whole DB.
        1 round trip per SCAN page and per UNLINK batch."""
        delete_matching(self.database, [self._prefix_pattern()])

    def close(self, **kwargs: Any) -> None:
        """Called by Django at the end of every request. Connections stay pooled for the next
        request, unless OPTIONS["CLOSE_CONNECTION"] is True (a cache with its own LOCATION
        only): then this cache's pool is disconnected and the next call reconnects.
        No Redis command."""
        if self._close_connection and self._own_database is not None:
            self._own_database.disconnect()
            for replica in self._replicas or ():
                replica.disconnect()

    # -- extras users of django-redis expect ----------------------------------------------

    def _user_pattern(self, search: str, version: int | None) -> str:
        """SCAN MATCH pattern of this cache's keys whose user-level key matches the glob
        ``search``: the prefix and version are matched literally (a KEY_PREFIX holding
        ``[``, ``*``, ``?`` or ``\\`` selects no other cache's keys)."""
        probe = self.make_key(_KEY_MARK, version=version)
        if _KEY_MARK not in probe:  # a KEY_FUNCTION that transforms the key: glob it whole
            return cast(str, self.make_key(search, version=version))  # Django ships no types
        return escape_glob(probe).replace(_KEY_MARK, search)

    @_guarded(0)
    def delete_pattern(self, pattern: str, version: int | None = None, itersize: int = 500) -> int:
        """Delete keys matching a glob on the user-level key (SCAN + UNLINK in batches of
        ``itersize``; on a cluster, one UNLINK per slot); returns the count.
        1 round trip per SCAN page and per UNLINK batch."""
        return delete_matching(self.database, [self._user_pattern(pattern, version)], itersize)

    def iter_keys(
        self, search: str = "*", version: int | None = None, itersize: int = 500
    ) -> Iterator[str]:
        """User-level keys matching a glob (SCAN: one round trip per ``itersize`` keys
        scanned), without prefix and version. With IGNORE_EXCEPTIONS an outage ends the
        iteration early (logged), as if no more keys matched."""
        probe = self.make_key(_KEY_MARK, version=version)
        head, _, tail = probe.partition(_KEY_MARK)
        try:
            for raw in self.database.scan_iter(
                match=self._user_pattern(search, version), count=itersize
            ):
                text = raw.decode()
                if text.startswith(head) and text.endswith(tail):
                    yield text[len(head) : len(text) - len(tail) if tail else None]
        except _IGNORED as exc:
            if not _ignorable(self, exc, "iter_keys"):
                raise

    def keys(self, search: str = "*", version: int | None = None) -> list[str]:
        """``list(iter_keys(search))``. 1 round trip per SCAN page."""
        return list(self.iter_keys(search, version))

    @_guarded(0)
    def ttl(self, key: Any, version: int | None = None) -> int | None:
        """Seconds left: None when the key never expires, 0 when it does not exist.
        1 round trip (TTL)."""
        made = self.make_and_validate_key(key, version=version)
        value = int(self._read("TTL", made))
        if value == -1:
            return None
        return max(value, 0)

    @_guarded(0)
    def pttl(self, key: Any, version: int | None = None) -> int | None:
        """Milliseconds left (None: no expiry, 0: missing). 1 round trip (PTTL)."""
        made = self.make_and_validate_key(key, version=version)
        value = int(self._read("PTTL", made))
        if value == -1:
            return None
        return max(value, 0)

    @_guarded(False)
    def persist(self, key: Any, version: int | None = None) -> bool:
        """Remove ``key``'s timeout. 1 round trip (PERSIST)."""
        return bool(self.database.persist(self.make_and_validate_key(key, version=version)))

    @_guarded(False)
    def expire(self, key: Any, timeout: float, version: int | None = None) -> bool:
        """Set the key's TTL to ``timeout`` seconds (1 round trip)."""
        made = self.make_and_validate_key(key, version=version)
        return bool(self.database.pexpire(made, max(1, int(float(timeout) * 1000))))

    @_guarded(False)
    def pexpire(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        """Set the key's TTL to ``timeout`` milliseconds (or a timedelta; the default timeout
        when omitted). False when the key does not exist. 1 round trip."""
        made = self.make_and_validate_key(key, version=version)
        if timeout is DEFAULT_TIMEOUT:
            ms = self.get_backend_timeout(DEFAULT_TIMEOUT)
            if ms is None:
                return bool(self.database.persist(made))
        else:
            ms = _milliseconds(timeout, "timeout")
        return bool(self.database.pexpire(made, max(1, ms)))

    @_guarded(False)
    def expire_at(self, key: Any, when: Any, version: int | None = None) -> bool:
        """Expire the key at ``when``: Unix time in seconds or a datetime (naive = UTC).
        1 round trip."""
        made = self.make_and_validate_key(key, version=version)
        return bool(self.database.pexpireat(made, _epoch_ms(when, 1000)))

    @_guarded(False)
    def pexpire_at(self, key: Any, when: Any, version: int | None = None) -> bool:
        """Expire the key at ``when``: Unix time in milliseconds or a datetime (naive = UTC).
        1 round trip."""
        made = self.make_and_validate_key(key, version=version)
        return bool(self.database.pexpireat(made, _epoch_ms(when, 1)))

    # Hash helpers (django-redis's names): the hash lives at the cache key of ``key``; fields
    # are plain str/bytes, values go through this cache's codec (signed like every value).

    @_guarded(0)
    def hset(
        self,
        key: Any,
        field: Any = None,
        value: Any = None,
        mapping: dict[Any, Any] | None = None,
        version: int | None = None,
    ) -> int:
        """Set ``field`` to ``value`` and/or every item of ``mapping`` in the hash at ``key``;
        returns how many fields were new. 1 round trip (HSET)."""
        made = self.make_and_validate_key(key, version=version)
        if mapping is not None and not isinstance(mapping, dict):
            raise TypeError(f"hset mapping must be a dict, got {type(mapping).__name__}")
        items = list((mapping or {}).items())
        if field is not None:
            items.append((field, value))
        if not items:
            raise ValueError("hset needs a field and value, or a mapping")
        args: list[Any] = []
        for name, item in items:
            args += [_field(name), self._codec.encode(item)]
        return int(self.database.execute_command("HSET", made, *args))

    @_guarded(lambda args, kwargs: kwargs.get("default", args[2] if len(args) > 2 else None))
    def hget(self, key: Any, field: Any, default: Any = None, version: int | None = None) -> Any:
        """The value of ``field`` in the hash at ``key`` (``default`` when missing).
        1 round trip."""
        made = self.make_and_validate_key(key, version=version)
        return self._decode(made, self._read("HGET", made, _field(field)), default)

    @_guarded(0)
    def hdel(self, key: Any, *fields: Any, version: int | None = None) -> int:
        """Remove ``fields`` from the hash at ``key``; how many existed. 1 round trip."""
        made = self.make_and_validate_key(key, version=version)
        if not fields:
            raise ValueError("hdel needs at least one field")
        return int(self.database.execute_command("HDEL", made, *map(_field, fields)))

    @_guarded(0)
    def hlen(self, key: Any, version: int | None = None) -> int:
        """Number of fields in the hash at ``key``. 1 round trip."""
        return int(self._read("HLEN", self.make_and_validate_key(key, version=version)))

    @_guarded(lambda args, kwargs: [])
    def hkeys(self, key: Any, version: int | None = None) -> list[str]:
        """Field names of the hash at ``key``, as str. 1 round trip."""
        made = self.make_and_validate_key(key, version=version)
        return [k.decode() if isinstance(k, bytes) else k for k in self._read("HKEYS", made)]

    @_guarded(False)
    def hexists(self, key: Any, field: Any, version: int | None = None) -> bool:
        """Whether ``field`` is in the hash at ``key``. 1 round trip."""
        made = self.make_and_validate_key(key, version=version)
        return bool(self._read("HEXISTS", made, _field(field)))

    def lock(self, key: str, timeout: float | None = None, version: int | None = None) -> Any:
        """A walrus ``Lock`` named after the cache key; ``timeout`` in seconds (None = no expiry).

        Creating it costs nothing; its acquire/release always raise on an outage, whatever
        IGNORE_EXCEPTIONS says: a lock that pretended to be acquired would let two holders in.
        No Redis work: acquiring and releasing cost 1 round trip each."""
        made = self.make_and_validate_key(key, version=version)
        ttl = None if timeout is None else int(float(timeout) * 1000)
        return self.database.lock(made, ttl=ttl)
