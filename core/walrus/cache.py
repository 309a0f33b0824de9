"""``Cache``: values under ``<name>:<key>``, with memoizing decorators.

Values go through an injectable serializer (pickle by default, as upstream walrus, so data
written by either reads back). Give ``signing_key`` and every value is MAC-signed (keyed
BLAKE2b): a value that fails verification is logged and treated as a miss, never unpickled.

Stored format: ``walrus.codec.ValueCodec``'s, shared with Flask's cache and Django's
``WalrusCache`` (each reads the others' entries). ``incr`` keeps counters as plain decimal
digits so Redis can add to them (``get`` returns them as ``int``); everything ``set`` writes
is the serializer's payload (behind one NUL byte when it would read as a counter or starts
with NUL), so unsigned pickles stay byte-identical to upstream's.

Decorator keys are ``module.qualname:<digest of the canonical JSON of the bound arguments>``
(keyword order does not matter; see ``walrus.keys``), or ``module.qualname:<key_fn(...)>``
with a custom ``key_fn``, unlike upstream's order-dependent keys.

On Redis Cluster the key layout is the same (untagged: entries spread over the shards);
``get_many``/``set_many``/``delete_many`` send one command per hash slot in one pipeline that
redis-py splits per node, and ``keys``/``flush`` scan every primary.
"""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
import uuid
import warnings
import weakref
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from functools import wraps
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from redis.exceptions import ResponseError

from . import events
from .cluster import is_cluster
from .codec import ValueCodec
from .keys import call_key, qualified_name
from .keyspace import delete_matching, escape_glob, iter_matching
from .serializers import BadSignature, PickleSerializer, Serializer
from .stampede import MISS, check_stampede_options, get_or_fill, memo_fill_timeout
from .steps import drive

if TYPE_CHECKING:  # pragma: no cover
    from .database import Database

__all__ = ["Cache", "CacheMetrics", "CacheStats", "UnsignedPickleWarning", "check_timeout"]


class UnsignedPickleWarning(UserWarning):
    """A cache unpickles values nobody signed: whoever can write to Redis can run code in
    every process that reads them. Pass ``signing_key=`` or a non-pickle serializer."""


_warned_unsigned = False


def _warn_unsigned_pickle() -> None:
    # Once per process: upstream's default stays (compatibility), but not silently.
    global _warned_unsigned
    if not _warned_unsigned:
        _warned_unsigned = True
        warnings.warn(
            "walrus Cache with the pickle serializer and no signing_key: a value planted in "
            "Redis runs code when read; pass signing_key=... (or serializer='json')",
            UnsignedPickleWarning,
            stacklevel=3,
        )


logger = logging.getLogger("walrus.cache")
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
_MISS = MISS


class _Stats(Mapping[str, float]):
    """A live, read-only mapping of statistics; calling it returns a snapshot dict."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def snapshot(self) -> dict[str, float]:  # pragma: no cover - overridden
        raise NotImplementedError

    def __call__(self) -> dict[str, float]:
        return self.snapshot()

    def __getitem__(self, name: str) -> float:
        return self.snapshot()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.snapshot())

    def __len__(self) -> int:
        return len(self.snapshot())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.snapshot()!r}>"


class CacheMetrics(_Stats):
    """Hit/miss counts and mean call times (seconds) of one ``cached`` function, this process.

    Reads like upstream's ``fn.metrics`` dict (``fn.metrics["hits"]``) and, called, returns
    a snapshot dict (``fn.metrics()``) with ``hits``, ``misses``, ``hit_rate``,
    ``avg_hit_time`` and ``avg_miss_time``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.hits = 0
        self.misses = 0
        self.hit_time = 0.0
        self.miss_time = 0.0

    def record(self, hit: bool, elapsed: float) -> None:
        """No Redis work."""
        with self._lock:
            if hit:
                self.hits += 1
                self.hit_time += elapsed
            else:
                self.misses += 1
                self.miss_time += elapsed

    def reset(self) -> None:
        """No Redis work."""
        with self._lock:
            self.hits = self.misses = 0
            self.hit_time = self.miss_time = 0.0

    def snapshot(self) -> dict[str, float]:
        """No Redis work."""
        with self._lock:
            calls = self.hits + self.misses
            return {
                "hits": self.hits,
                "misses": self.misses,
                "hit_rate": self.hits / calls if calls else 0.0,
                "avg_hit_time": self.hit_time / self.hits if self.hits else 0.0,
                "avg_miss_time": self.miss_time / self.misses if self.misses else 0.0,
            }

    as_dict = snapshot


class CacheStats(_Stats):
    """``Cache.metrics``: reads that hit, reads that missed and values written by this
    ``Cache`` object (decorators included), like upstream's ``{'hits', 'misses', 'writes'}``."""

    def __init__(self) -> None:
        super().__init__()
        self.hits = 0
        self.misses = 0
        self.writes = 0

    def count(self, hits: int = 0, misses: int = 0, writes: int = 0) -> None:
        """No Redis work."""
        with self._lock:
            self.hits += hits
            self.misses += misses
            self.writes += writes

    def reset(self) -> None:
        """No Redis work."""
        with self._lock:
            self.hits = self.misses = self.writes = 0

    def snapshot(self) -> dict[str, float]:
        """No Redis work."""
        with self._lock:
            return {"hits": self.hits, "misses": self.misses, "writes": self.writes}


# The longest timeout whose PX milliseconds Redis accepts (absolute expiry below 2**63 ms).
_MAX_TIMEOUT = 2**62 // 1000


def check_timeout(timeout: Any) -> None:
    """ValueError unless ``timeout`` is None or a number of seconds Redis can expire after
    (0 .. 2**62 // 1000: PX milliseconds below 2**63). Integrations check their settings
    with it, so that a bad default fails at startup, not at the first ``set``. No Redis work."""
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 <= timeout <= _MAX_TIMEOUT  # also refuses NaN
    ):
        raise ValueError(
            "cache timeout must be None or a number of seconds from 0 to 2**62 // 1000, "
            f"got {timeout!r}"
        )


def _check_text(text: str, what: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: it cannot be sent to Redis
            raise ValueError(
                f"{what} {text[:50]!r} cannot be encoded as UTF-8 ({exc.reason})"
            ) from None


def _key_list(keys: Any, method: str) -> list[Any]:
    try:
        return list(keys)
    except TypeError:
        raise TypeError(
            f"{method} takes an iterable of cache keys, got {type(keys).__name__}"
        ) from None


# A cache call, sans-IO: a generator yielding (kind, payload) steps and receiving each reply,
# driven by ``Cache._run`` (sync) or ``walrus.asyncio.AsyncCache._arun``, so both send the
# same commands: a command, MGET (per slot on a cluster), UNLINK of many keys (per slot on a
# cluster), a pipeline without MULTI, and a walrus script (name, keys, args).
CacheStep = tuple[str, Any]
CacheSteps = Generator[CacheStep, Any, Any]
CMD, MGET, UNLINK, PIPE, SCRIPT = "cmd", "mget", "unlink", "pipe", "script"


class CacheBase:
    """What the sync ``Cache`` and ``walrus.asyncio.AsyncCache`` share: options, keys, the
    value codec, metrics and the steps of each call (no I/O). See ``Cache``."""

    def __init__(
        self,
        database: Database,
        name: str = "cache",
        default_timeout: float | None = None,
        debug: bool = False,
        serializer: str | Serializer | None = "pickle",
        signing_key: bytes | str | None = None,
        compressor: str | None = None,
        compress_min_length: int = 1024,
        compress_level: int | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"cache name must be a non-empty str, got {name!r}")
        _check_text(name, "cache name")
        if isinstance(signing_key, str):
            _check_text(signing_key, "cache signing_key")
        check_timeout(default_timeout)
        self.codec = ValueCodec(
            serializer, signing_key, compressor, compress_min_length, compress_level
        )
        if not signing_key and isinstance(self.codec.serializer, PickleSerializer):
            _warn_unsigned_pickle()
        self.serializer: Serializer = self.codec.serializer
        self.database = database
        self.name = name
        self.prefix_len = len(name) + 1  # upstream attribute: length of "<name>:"
        self.default_timeout = default_timeout
        self.debug = debug
        self.metrics = CacheStats()

    # -- keys and values ----------------------------------------------------------------

    def make_key(self, key: Any) -> str:
        """The Redis key of cache entry ``key``: ``<name>:<key>``. No Redis work."""
        if isinstance(key, bytes):
            try:
                key = key.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(
                    f"cache key must be UTF-8 when given as bytes, got {key[:50]!r}"
                ) from None
        if not isinstance(key, str):
            raise TypeError(f"cache key must be str or bytes, got {type(key).__name__}")
        _check_text(key, "cache key")
        return f"{self.name}:{key}"

    def unmake_key(self, redis_key: str | bytes) -> str:
        """The cache key of Redis key ``<name>:<key>`` (upstream helper). No Redis work."""
        if isinstance(redis_key, bytes):
            redis_key = redis_key.decode("utf-8")
        return redis_key[self.prefix_len :]

    def _dumps(self, value: Any) -> bytes:
        try:
            return bytes(self.codec.encode(value))  # raw_ints is off: always bytes
        except (TypeError, ValueError) as exc:  # e.g. bytes or a set given to the JSON serializer
            kind = TypeError if isinstance(exc, TypeError) else ValueError
            raise kind(
                f"cache {self.name!r} cannot serialize a {type(value).__name__} value: {exc}"
            ) from None

    def _loads(self, raw: Any, key: str) -> Any:
        if raw is None:
            return _MISS
        try:
            return self.codec.decode(raw)
        except BadSignature as exc:
            logger.warning("cache value %r failed verification and was ignored: %s", key, exc)
        except Exception as exc:  # corrupt or foreign bytes: a miss, not a crash of the caller
            logger.warning("cache value %r could not be deserialized and was ignored: %r", key, exc)
        if events.listeners:  # reported as an error here, and as a miss by the caller
            events.emit("cache", self.name, "error")
        return _MISS

    def _expiry(self, timeout: float | None) -> int | None:
        """Milliseconds for PX, or None for no expiry (0 means no expiry, as upstream)."""
        timeout = self.default_timeout if timeout is None else timeout
        check_timeout(timeout)
        return max(1, int(timeout * 1000)) if timeout else None

    # -- single values ---------------------------------------------------------------------

    @staticmethod
    def _key_for(
        fn: Callable[..., Any], key_fn: Callable[..., Any] | None, args: Any, kwargs: Any
    ) -> str:
        # A custom key is namespaced like a default one, so two functions sharing a key_fn
        # never share entries.
        if key_fn is not None:
            return f"{qualified_name(fn)}:{key_fn(args, kwargs)}"
        return call_key(fn, args, kwargs)

    def _memoizer(
        self,
        inner: Callable[..., Any],
        fn: Callable[..., Any],
        key_fn: Callable[..., Any] | None,
        bust: Callable[..., Any],
        stats: CacheMetrics,
    ) -> Callable[..., Any]:
        """``inner`` (a memoizing wrapper of ``fn``) with the attributes ``cached`` promises:
        ``bust``, ``make_key(args, kwargs)`` and ``metrics``. No Redis work."""

        def make_key(args: tuple[Any, ...] = (), kwargs: Mapping[str, Any] | None = None) -> str:
            return self._key_for(fn, key_fn, tuple(args), dict(kwargs or {}))

        wrapper: Any = inner
        wrapper.bust, wrapper.make_key, wrapper.metrics = bust, make_key, stats
        return inner

    def _get_steps(self, key: Any, default: Any) -> CacheSteps:
        redis_key = self.make_key(key)
        if self.debug:
            return default
        # a plain command: redis-py's typed get()/set() cost a visible share of a loopback
        # round trip and these calls use none of their options.
        value = self.decode((yield CMD, ("GET", redis_key)), redis_key)
        return default if value is _MISS else value

    def _set_steps(self, key: Any, value: Any, timeout: float | None) -> CacheSteps:
        redis_key = self.make_key(key)
        px = self._expiry(timeout)
        payload = self._dumps(value)
        if self.debug:
            return True
        self.metrics.count(writes=1)
        expiry = () if px is None else ("PX", px)
        return bool((yield CMD, ("SET", redis_key, payload, *expiry)))

    def decode(self, raw: Any, redis_key: str = "") -> Any:
        """The value stored as ``raw`` (bytes read from this cache's key, or None), or
        ``walrus.stampede.MISS`` when missing or unreadable; counted in ``metrics`` and
        reported to ``walrus.events``. No Redis call: for callers that read the key
        themselves (``walrus.stampede.get_or_fill``); ``redis_key`` names it in logs."""
        value = self._loads(raw, redis_key)
        if value is _MISS:
            self.metrics.count(misses=1)
        else:
            self.metrics.count(hits=1)
        if events.listeners:
            events.emit("cache", self.name, "miss" if value is _MISS else "hit")
        return value

    def _delete_steps(self, key: Any) -> CacheSteps:
        redis_key = self.make_key(key)
        if self.debug:
            return False
        return bool((yield CMD, ("DEL", redis_key)))

    def _incr_steps(self, key: Any, delta: int, timeout: float | None) -> CacheSteps:
        if isinstance(delta, bool) or not isinstance(delta, int):
            raise TypeError(f"incr delta must be an int, got {type(delta).__name__}")
        redis_key = self.make_key(key)
        px = self._expiry(timeout)
        try:
            if px is None:  # nothing to expire: plain INCRBY saves the server a script run
                return int((yield CMD, ("INCRBY", redis_key, delta)))
            return int((yield SCRIPT, ("cache_incr", (redis_key,), (delta, px))))
        except ResponseError as exc:  # "value is not an integer": name the key
            if "not an integer" in str(exc):
                raise TypeError(f"cache key {redis_key!r} does not hold an incr() counter") from exc
            raise

    # -- many values, one round trip each ------------------------------------------------------

    def _get_many_steps(self, keys: Iterable[Any]) -> CacheSteps:
        keys = _key_list(keys, "get_many")
        redis_keys = [self.make_key(k) for k in keys]
        if self.debug or not keys:
            return {}
        raws = yield MGET, redis_keys
        found = {}
        for key, redis_key, raw in zip(keys, redis_keys, raws, strict=True):
            value = self._loads(raw, redis_key)
            if value is not _MISS:
                found[key] = value
        self.metrics.count(hits=len(found), misses=len(keys) - len(found))
        if events.listeners:
            for _ in range(len(found)):
                events.emit("cache", self.name, "hit")
            for _ in range(len(keys) - len(found)):
                events.emit("cache", self.name, "miss")
        return found

    def _set_many_steps(
        self,
        data: Mapping[Any, Any] | Iterable[tuple[Any, Any]] | None,
        timeout: float | None,
        kwargs: dict[str, Any],
    ) -> CacheSteps:
        px = self._expiry(timeout)
        merged: dict[Any, Any] = {}
        if data is not None:
            if isinstance(data, (str, bytes)):
                raise TypeError(
                    "set_many data must be a mapping or (key, value) pairs, "
                    f"got {type(data).__name__}"
                )
            try:
                merged.update(data)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"set_many data must be a mapping or (key, value) pairs: {exc}"
                ) from None
        merged.update(kwargs)
        items = [(self.make_key(k), self._dumps(v)) for k, v in merged.items()]
        if self.debug or not items:
            return True
        expiry = () if px is None else ("PX", px)
        self.metrics.count(writes=len(items))
        replies = yield PIPE, [("SET", redis_key, payload, *expiry) for redis_key, payload in items]
        return all(replies)

    def _delete_many_steps(self, keys: Iterable[Any]) -> CacheSteps:
        redis_keys = [self.make_key(k) for k in _key_list(keys, "delete_many")]
        if self.debug or not redis_keys:
            return 0
        return int((yield UNLINK, redis_keys))


class Cache(CacheBase):
    """A namespace of cached values on ``database``.

    ``default_timeout`` (seconds, None = no expiry) applies when ``set`` gets none; ``debug``
    turns the cache into a no-op. ``serializer`` is ``"pickle"`` (default), ``"json"``,
    ``"msgpack"`` or an object with dumps/loads; ``signing_key`` adds MAC signing.
    ``compressor`` ("zlib", "lzma", "zstd", "lz4"; see ``walrus.compression``) compresses
    payloads of at least ``compress_min_length`` bytes (``compress_level``: the algorithm's
    own scale, None for its default); without it values are stored as upstream stores them.
    ``metrics`` counts this object's hits, misses and writes (see ``CacheStats``).
    """

    def _run(self, steps: CacheSteps) -> Any:
        """Drive a call's steps on this cache's (sync) Database (``walrus.steps``); a reply
        error goes back into the steps (``incr`` names the key in it)."""
        return drive(steps, self._send, (ResponseError,))

    def _read(self, redis_key: str) -> Any:
        """The value at ``redis_key`` or ``_MISS``, counted in ``metrics`` (1 round trip)."""
        return self.decode(self.database.execute_command("GET", redis_key), redis_key)

    def _send(self, step: CacheStep) -> Any:
        kind, payload = step
        database = self.database
        if kind == CMD:
            return database.execute_command(*payload)
        if kind == MGET:  # a cluster client splits it per slot (one MGET per slot, pipelined)
            if is_cluster(database):
                return database.mget_nonatomic(payload)  # type: ignore[attr-defined]
            return database.mget(payload)
        if kind == UNLINK:  # per slot on a cluster, as redis-py's cluster client does it
            return database.unlink(*payload)
        if kind == SCRIPT:
            name, keys, args = payload
            return database.run_script(name, keys=list(keys), args=list(args))
        pipe = database.pipeline(transaction=False)
        for command in payload:
            pipe.execute_command(*command)
        return pipe.execute()

    def get(self, key: Any, default: Any = None) -> Any:
        """The cached value, or ``default`` on a miss (1 round trip)."""
        return self._run(self._get_steps(key, default))

    def get_or_set(
        self,
        key: Any,
        default: Any,
        timeout: float | None = None,
        lock_timeout: float = 10.0,
        early: float | None = None,
    ) -> Any:
        """The cached value; on a miss ``default`` (called when callable) is computed by
        one caller, stored and returned, while concurrent callers wait for it (at most
        ``lock_timeout`` seconds, then compute themselves). ``early``: seconds before expiry
        when one caller recomputes and the others keep the current value. Cost: 1 round trip
        on a hit; see ``walrus.stampede`` for a miss."""
        check_stampede_options(lock_timeout, early)
        redis_key = self.make_key(key)
        check_timeout(timeout)
        if self.debug:
            return default() if callable(default) else default

        def produce() -> Any:
            value = default() if callable(default) else default
            self.set(key, value, timeout)
            return value

        return get_or_fill(self.database, redis_key, self.decode, produce, lock_timeout, early)

    def set(self, key: Any, value: Any, timeout: float | None = None) -> bool:
        """Cache ``value`` for ``timeout`` seconds (default: ``default_timeout``) (1 round trip)."""
        return bool(self._run(self._set_steps(key, value, timeout)))

    def delete(self, key: Any) -> bool:
        """Remove ``key``; True when it existed (1 round trip)."""
        return bool(self._run(self._delete_steps(key)))

    def incr(self, key: Any, delta: int = 1, timeout: float | None = None) -> int:
        """Add ``delta`` to the counter at ``key`` (0 when missing) and return it (1 round trip,
        atomic: INCRBY, or a Lua call that also gives a new counter the timeout when one
        applies; an existing counter keeps its own). TypeError when ``key`` holds a value
        written by ``set`` (a serialized payload, as upstream), not a counter."""
        return int(self._run(self._incr_steps(key, delta, timeout)))

    def get_many(self, keys: Iterable[Any]) -> dict[Any, Any]:
        """The cached values of ``keys`` that are present, as a dict (1 round trip: MGET; on a
        cluster one MGET per hash slot, pipelined: 1 round trip per node)."""
        return cast("dict[Any, Any]", self._run(self._get_many_steps(keys)))

    def set_many(
        self,
        data: Mapping[Any, Any] | Iterable[tuple[Any, Any]] | None = None,
        /,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> bool:
        """Cache every item of ``data`` (a mapping or (key, value) pairs) and of the keyword
        arguments, as upstream: ``set_many({"a": 1}, b=2)`` (1 round trip: one pipeline; on a
        cluster the pipeline is split per node: 1 round trip per node)."""
        return bool(self._run(self._set_many_steps(data, timeout, kwargs)))

    def delete_many(self, keys: Iterable[Any]) -> int:
        """Remove ``keys``; returns how many existed (1 round trip: one UNLINK; on a cluster
        one UNLINK per hash slot, pipelined: 1 round trip per node)."""
        return int(self._run(self._delete_many_steps(keys)))

    def keys(self, strip_prefix: bool = False) -> list[str]:
        """Every Redis key of this cache, as str; ``strip_prefix`` drops ``<name>:`` (SCAN
        MATCH ``<name>:*``, one round trip per page; on a cluster every primary is scanned)."""
        found = iter_matching(self.database, [escape_glob(self.name) + ":*"])
        names = [k.decode("utf-8") if isinstance(k, bytes) else str(k) for k in found]
        return [self.unmake_key(k) for k in names] if strip_prefix else names

    def flush(self) -> int:
        """Delete every entry of this cache, SCAN + UNLINK in batches (every primary of a
        cluster); returns the count.
        Cost: 1 round trip per SCAN page, plus 1 UNLINK per batch of 500 keys."""
        return delete_matching(self.database, [escape_glob(self.name) + ":*"])

    # -- decorators -------------------------------------------------------------------------

    def cached(
        self,
        key_fn: Callable[[tuple[Any, ...], dict[str, Any]], Any] | None = None,
        timeout: float | None = None,
        metrics: bool = False,
        lock_timeout: float | None = None,
        early: float | None = None,
    ) -> Callable[[F], F]:
        """Memoize a function: 1 round trip on a hit, 2 on a miss (get, then set).

        ``lock_timeout`` (seconds) turns on stampede protection, as ``get_or_set``: one
        caller computes a missing value while concurrent callers wait for it; with ``early``
        (seconds), one caller recomputes that long before expiry while the others keep
        getting the current value.

        ``key_fn(args, kwargs)`` overrides the argument part of the key (the function's
        ``module.qualname`` still prefixes it). The wrapper gains ``bust(*args, **kwargs)``,
        ``make_key(args, kwargs)`` (the cache key a call uses, as upstream) and ``metrics``
        (a ``CacheMetrics``: ``fn.metrics["hits"]``, or ``fn.metrics()`` for a snapshot dict;
        recorded only with ``metrics=True``).
        """
        check_timeout(timeout)
        fill_timeout = memo_fill_timeout(lock_timeout, early)

        def decorator(fn: F) -> F:
            stats = CacheMetrics()

            @wraps(fn)
            def inner(*args: Any, **kwargs: Any) -> Any:
                key = self._key_for(fn, key_fn, args, kwargs)
                start = time.perf_counter()
                if fill_timeout is not None and not self.debug:
                    computed: list[Any] = []

                    def produce() -> Any:
                        computed.append(fn(*args, **kwargs))
                        self.set(key, computed[0], timeout)
                        return computed[0]

                    value = get_or_fill(
                        self.database, self.make_key(key), self.decode, produce, fill_timeout, early
                    )
                    if metrics:
                        stats.record(not computed, time.perf_counter() - start)
                    return value
                value = _MISS if self.debug else self._read(self.make_key(key))
                if value is _MISS:
                    value = fn(*args, **kwargs)
                    self.set(key, value, timeout)
                    hit = False
                else:
                    hit = True
                if metrics:
                    stats.record(hit, time.perf_counter() - start)
                return value

            def bust(*args: Any, **kwargs: Any) -> bool:
                return self.delete(self._key_for(fn, key_fn, args, kwargs))

            return cast(F, self._memoizer(inner, fn, key_fn, bust, stats))

        return decorator

    def cached_property(
        self, key_fn: Callable[..., Any] | None = None, timeout: float | None = None
    ) -> Callable[[Callable[[Any], T]], _CachedProperty[T]]:
        """Decorator for a method exposed as a property whose value is cached per instance.

        The instance's identity is ``key_fn((obj,), {})`` when given, else
        ``obj.__cache_key__()`` when defined (shared between processes and with equal
        objects), else a random token tied to this very object in this process: copies, deep copies,
        unpickled twins and equal objects each get their own (unlike upstream's ``id(obj)``,
        which a new object at a reused address inherited). That needs a weak-referenceable
        object (a ``__slots__`` class must list ``__weakref__``). ``del obj.attr`` busts it.
        1 round trip on a hit.
        """
        check_timeout(timeout)

        def decorator(fn: Callable[[Any], T]) -> _CachedProperty[T]:
            return _CachedProperty(self, fn, key_fn, timeout)

        return decorator

    def cache_async(
        self, key_fn: Callable[..., Any] | None = None, timeout: float | None = 3600
    ) -> Callable[[Callable[..., T]], Callable[..., Callable[..., T]]]:
        """Decorator: calling the function starts it in a thread (or reads the cache) and
        returns at once a callable ``result(block=True, timeout=None)`` for its value.
        Each call costs what ``cached`` does (1 round trip on a hit, 2 on a miss), in the
        thread."""
        check_timeout(timeout)

        def decorator(fn: Callable[..., T]) -> Callable[..., Callable[..., T]]:
            cached_fn = self.cached(key_fn, timeout)(fn)

            @wraps(fn)
            def inner(*args: Any, **kwargs: Any) -> Callable[..., T]:
                results: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

                def run() -> None:
                    try:
                        results.put((True, cached_fn(*args, **kwargs)))
                    except BaseException as exc:  # handed to whoever asks for the result
                        results.put((False, exc))

                threading.Thread(target=run, daemon=True, name=f"cache_async:{fn.__name__}").start()
                done: list[tuple[bool, Any]] = []

                def result(block: bool = True, timeout: float | None = None) -> T:
                    if not done:
                        done.append(results.get(block=block, timeout=timeout))
                    ok, value = done[0]
                    if not ok:
                        try:
                            raise value
                        finally:
                            del value  # else frame<->traceback cycle: client kept until GC
                    return value  # type: ignore[no-any-return]

                return result

            return inner

        return decorator


class _ObjectTokens:
    """Random per-object tokens held outside the objects, so ``copy``, ``deepcopy`` and
    pickle never carry one over. An entry is found by ``id(obj)`` and trusted only when its
    weak reference still points at that very object (an address can be reused)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[int, tuple[weakref.ref[Any], str]] = {}

    def __len__(self) -> int:
        return len(self._tokens)

    def token(self, obj: Any) -> str:
        ident = id(obj)
        with self._lock:
            entry = self._tokens.get(ident)
            if entry is not None and entry[0]() is obj:
                return entry[1]
            try:
                ref = weakref.ref(obj, functools.partial(self._forget, ident))
            except TypeError:
                raise TypeError(
                    f"cached_property needs {type(obj).__qualname__} objects to be "
                    "weak-referenceable (add '__weakref__' to __slots__) or to define "
                    "__cache_key__()"
                ) from None
            token = uuid.uuid4().hex
            self._tokens[ident] = (ref, token)
            return token

    def _forget(self, ident: int, ref: weakref.ref[Any]) -> None:
        # Runs while the object is being freed, possibly inside token() on this thread (a
        # collection triggered there), so it takes no lock: the dict operations are atomic
        # and no other object can hold this address until the callback has returned.
        entry = self._tokens.get(ident)
        if entry is not None and entry[0] is ref:
            self._tokens.pop(ident, None)


_tokens = _ObjectTokens()


class _CachedProperty(Generic[T]):
    """The descriptor behind ``Cache.cached_property``."""

    def __init__(
        self,
        cache: Cache,
        fn: Callable[[Any], T],
        key_fn: Callable[..., Any] | None,
        timeout: float | None,
    ) -> None:
        self.cache = cache
        self.fn = fn
        self.key_fn = key_fn
        self.timeout = timeout
        self.__doc__ = fn.__doc__
        self.attr = fn.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = name

    def _key(self, obj: Any) -> str:
        if self.key_fn is not None:
            ident = str(self.key_fn((obj,), {}))
        else:
            custom = getattr(obj, "__cache_key__", None)
            ident = str(custom()) if callable(custom) else _tokens.token(obj)
        return f"{qualified_name(self.fn)}:{ident}"

    @overload
    def __get__(self, obj: None, owner: type) -> _CachedProperty[T]: ...

    @overload
    def __get__(self, obj: Any, owner: type) -> T: ...

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        key = self._key(obj)
        value = _MISS if self.cache.debug else self.cache._read(self.cache.make_key(key))
        if value is _MISS:
            value = self.fn(obj)
            self.cache.set(key, value, self.timeout)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        # ValueError as upstream; a plain attribute would silently shadow the cached value.
        raise ValueError(f"cannot set cached property {self.attr!r}: del it to recompute")

    def __delete__(self, obj: Any) -> None:
        self.cache.delete(self._key(obj))
