"""Reconnecting safely: which commands may be resent after a dropped connection, and the
connection and retry classes every walrus ``Database`` on a server is built with.

A command that fails *before the server can have received all of it* (while connecting,
while writing, or on a pooled socket the server had already closed, which redis-py's pool
detects when it hands the connection out) is always resent on a fresh connection. A command
whose connection dies *after it was written and before its reply arrived* may or may not
have run; it is resent only when running it again cannot change the outcome:

- reads (GET, HGETALL, ZRANGE, SCAN, EXISTS, TTL, ...), connection-state commands
  (SELECT, HELLO, SUBSCRIBE, ...), ``EVAL_RO``/``EVALSHA_RO``;
- writes that are idempotent: SET without NX/GET/IFEQ, SETEX, MSET, HSET, HDEL, SADD,
  SREM, ZADD without INCR, ZREM, DEL, UNLINK, EXPIRE/PEXPIRE without NX, ...;
- scripts declared read-only (``#!lua flags=no-writes``), walrus scripts marked
  ``-- resend: safe`` in their header, and walrus write scripts run with request ids
  (``request_ids=True``: a rerun returns the first run's reply instead of running again);
- a pipeline or MULTI/EXEC block only when every command in it is.

Anything else (INCR, LPUSH, SET NX, EVAL of a write script, ...) raises
``OutcomeUnknownError`` naming the command: the caller decides, nothing is applied twice.

A write that *was* resent (its reply lost) and whose resends then all fail (the server stays
down past the retry budget, or a resend is refused: OOM, READONLY, ...) may have been
applied by its first attempt: that also raises ``OutcomeUnknownError``, never the last
attempt's plain error, so an error that reaches the caller means "not applied" unless it
says otherwise. docs/reliability.md has the full list and the measurements.

The sync and asyncio clients share all of it: the tables above, the options and their
validation (``retry_settings``), the send/read bookkeeping (``SendTracking``), the retry
loop's decisions and backoff (``RetryAttempts``) and the errors. ``walrus.asyncio.reconnect``
only adds the awaiting halves for ``redis.asyncio``. Lost write replies are counted per
thread and per asyncio task (a context variable).
"""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import EqualJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from .exceptions import WalrusError
from .packing import fast_packer

if TYPE_CHECKING:  # pragma: no cover - redis-py 6+ (annotations only; 5.0 has no such class)
    from redis.retry import AbstractRetry

__all__ = [
    "DEFAULT_RETRIES",
    "DEFAULT_RETRY_BACKOFF",
    "DEFAULT_RETRY_BACKOFF_CAP",
    "RETRY_ON_ERROR",
    "RETRY_OPTIONS",
    "OutcomeUnknownError",
    "RetryAttempts",
    "RetrySettings",
    "SendTracking",
    "WalrusRetry",
    "build_retry",
    "command_resend_safe",
    "connection_class_for",
    "lost_reply",
    "mark_script_read_only",
    "mark_script_resend_safe",
    "name_script",
    "outcome_unknown_since",
    "pop_retry_options",
    "resend_mark",
    "retry_option_problems",
    "retry_settings",
    "script_flags",
]

DEFAULT_RETRIES = 3
"""Resends after a connection failure, by default (each on a fresh connection)."""
DEFAULT_RETRY_BACKOFF = 0.05
"""Backoff base in seconds: attempt n waits between base*2**n/2 and base*2**n (capped)."""
DEFAULT_RETRY_BACKOFF_CAP = 1.0
"""Longest wait between two attempts, in seconds."""

RETRY_OPTIONS = ("retries", "retry_backoff", "retry_backoff_cap", "request_ids")
"""Options every ``Database`` constructor and ``from_url`` accept (also in URL query
strings)."""


class OutcomeUnknownError(WalrusError, RedisConnectionError):
    """The connection was lost after a command was sent and before its reply came back, and
    the command is not safe to send again: it may or may not have been applied.

    Also raised (``resent`` True) for a command that is safe to resend, whose reply was
    lost, when every resend then failed (the server stayed away past the retry budget, or
    refused the resend: OOM, READONLY, ...): the lost attempt may have been applied.

    ``command`` names it (``"INCR"``, ``"EVALSHA rate_limit"``, ``"MULTI/EXEC [INCR, ...]"``).
    A subclass of redis-py's ``ConnectionError``, so existing ``except ConnectionError``
    handlers still see it; raised as a ``TimeoutError`` subclass too when a timeout cut the
    wait for the reply."""

    def __init__(
        self, command: str, cause: BaseException | None = None, *, resent: bool = False
    ) -> None:
        self.command = command
        self.resent = resent
        reason = f" ({cause})" if cause is not None else ""
        if resent:
            message = (
                f"the connection was lost after {command} was sent and before its reply, and "
                f"resending it failed{reason}: the first attempt may or may not have been "
                f"applied; check the data before trying again"
            )
        else:
            message = (
                f"the connection was lost after {command} was sent and before its reply{reason}: "
                f"it may or may not have been applied, and it was not resent because running it "
                f"twice is not safe; check the data before trying again"
            )
        super().__init__(message)


class _OutcomeUnknownTimeoutError(OutcomeUnknownError, RedisTimeoutError):
    """``OutcomeUnknownError`` caused by a timeout (still an ``except TimeoutError`` match)."""


# -- which commands are safe to resend -------------------------------------------------------

_READS = frozenset(
    """
    GET MGET GETRANGE SUBSTR STRLEN LCS EXISTS TYPE TTL PTTL EXPIRETIME PEXPIRETIME TOUCH DUMP
    OBJECT RANDOMKEY DBSIZE SCAN KEYS HGET HMGET HGETALL HKEYS HVALS HLEN HEXISTS HSTRLEN HSCAN
    HRANDFIELD HTTL HPTTL HEXPIRETIME HPEXPIRETIME LRANGE LINDEX LLEN LPOS SMEMBERS SISMEMBER
    SMISMEMBER SCARD SRANDMEMBER SSCAN SINTER SUNION SDIFF SINTERCARD ZRANGE ZRANGEBYSCORE
    ZRANGEBYLEX ZREVRANGE ZREVRANGEBYSCORE ZREVRANGEBYLEX ZSCORE ZMSCORE ZRANK ZREVRANK ZCARD
    ZCOUNT ZLEXCOUNT ZSCAN ZRANDMEMBER ZINTER ZUNION ZDIFF ZINTERCARD XRANGE XREVRANGE XLEN
    XINFO XPENDING XREAD BITCOUNT BITPOS GETBIT BITFIELD_RO PFCOUNT GEOPOS GEODIST GEOHASH
    GEOSEARCH GEORADIUS_RO GEORADIUSBYMEMBER_RO SORT_RO EVAL_RO EVALSHA_RO FCALL_RO PING ECHO
    TIME INFO LASTSAVE ROLE COMMAND MEMORY LOLWUT SELECT AUTH HELLO READONLY READWRITE WATCH
    UNWATCH MULTI EXEC DISCARD SUBSCRIBE PSUBSCRIBE SSUBSCRIBE UNSUBSCRIBE PUNSUBSCRIBE
    SUNSUBSCRIBE PUBSUB MONITOR WAIT WAITAOF ASKING SLOWLOG LATENCY
    """.split()
)
# Writes whose effect is the same when applied twice (a resend's reply may count fewer
# changes: DEL answers 0 when the first attempt removed the key; documented).
_IDEMPOTENT_WRITES = frozenset(
    """
    SETEX PSETEX MSET SETRANGE HSET HMSET HDEL SADD SREM ZREM ZREMRANGEBYSCORE ZREMRANGEBYLEX
    DEL UNLINK PERSIST GETEX PFADD XACK LSET FLUSHDB FLUSHALL
    """.split()
)
_SAFE_SUBCOMMANDS = {
    "CLIENT": frozenset(
        "ID GETNAME SETNAME SETINFO INFO LIST TRACKINGINFO GETREDIR NO-EVICT NO-TOUCH".split()
    ),
    "SCRIPT": frozenset({"LOAD", "EXISTS", "FLUSH"}),
    "CONFIG": frozenset({"GET"}),
    "FUNCTION": frozenset({"LIST", "DUMP", "STATS"}),
    "CLUSTER": frozenset(
        "SLOTS SHARDS NODES INFO KEYSLOT MYID MYSHARDID COUNTKEYSINSLOT GETKEYSINSLOT LINKS".split()
    ),
}
_EXPIRES = frozenset({"EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"})

# SHA1 (hex) of scripts that are safe to resend: read-only ones and those carrying request ids.
_safe_scripts: set[str] = set()
# SHA1 (hex) of the safe ones that change nothing a caller could see (read-only scripts, and
# scripts whose only writes are temporaries they delete): a lost reply of one is not a write.
_read_only_scripts: set[str] = set()
_script_names: dict[str, str] = {}
_SHEBANG = re.compile(r"#!lua(?P<rest>[^\n]*)")


def script_flags(source: str) -> frozenset[str] | None:
    """The flags of a script's ``#!lua flags=...`` first line; None without a shebang. No
    Redis work."""
    match = _SHEBANG.match(source)
    if match is None:
        return None
    flags: set[str] = set()
    for part in match.group("rest").split():
        if part.startswith("flags="):
            flags.update(flag for flag in part[6:].split(",") if flag)
    return frozenset(flags)


def mark_script_resend_safe(sha: str) -> None:
    """Declare the script with this SHA1 safe to resend after a lost reply. No Redis work
    (a process-wide registry)."""
    _safe_scripts.add(sha.lower())


def mark_script_read_only(sha: str) -> None:
    """Declare the script with this SHA1 read-only (it changes nothing lasting): safe to
    resend, and a lost reply of it never makes an outcome unknown. No Redis work (a
    process-wide registry)."""
    _read_only_scripts.add(sha.lower())
    _safe_scripts.add(sha.lower())


def name_script(sha: str, name: str) -> None:
    """Remember a script's name for error messages (``EVALSHA rate_limit``). No Redis
    work."""
    _script_names[sha.lower()] = name


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _script_safe(name: str, args: Sequence[Any]) -> bool:
    if len(args) < 2:
        return False
    if name == "EVALSHA":
        return _text(args[1]).lower() in _safe_scripts
    source = _text(args[1])
    flags = script_flags(source)
    if flags is not None and "no-writes" in flags:
        return True
    return hashlib.sha1(source.encode("utf-8")).hexdigest() in _safe_scripts


def command_resend_safe(args: Sequence[Any]) -> bool:
    """Whether sending this command (its full argument list) again after a lost reply
    cannot change the outcome. Unknown commands are not safe. No Redis work."""
    if not args:
        return False
    words = _text(args[0]).upper().split()
    if not words:
        return False
    name = words[0]
    if len(words) > 1:  # redis-py spells some commands "CLIENT SETNAME" in one argument
        args = (name, *words[1:], *args[1:])
    if name in _READS or name in _IDEMPOTENT_WRITES:
        return True
    options = {_text(arg).upper() for arg in args[3:] if isinstance(arg, (str, bytes))}
    if name == "SET":
        return not options & {"NX", "GET", "IFEQ"}
    if name == "ZADD":
        return "INCR" not in {
            _text(arg).upper() for arg in args[2:] if isinstance(arg, (str, bytes))
        }
    if name in _EXPIRES:
        return "NX" not in options
    if name in ("EVAL", "EVALSHA"):
        return _script_safe(name, args)
    subcommands = _SAFE_SUBCOMMANDS.get(name)
    if subcommands is not None and len(args) > 1:
        return _text(args[1]).upper() in subcommands
    return False


def _writes(args: Sequence[Any]) -> bool:
    """Whether a command (already known safe to resend) can change data: anything but the
    reads and connection-state commands, read-only scripts and read subcommands."""
    if not args:
        return True
    words = _text(args[0]).upper().split()
    name = words[0] if words else ""
    if name in _READS:
        return False
    if name in ("EVAL", "EVALSHA") and len(args) > 1:
        if name == "EVALSHA":
            return _text(args[1]).lower() not in _read_only_scripts
        source = _text(args[1])
        flags = script_flags(source)
        if flags is not None and "no-writes" in flags:
            return False
        return hashlib.sha1(source.encode("utf-8")).hexdigest() not in _read_only_scripts
    # CLIENT SETNAME, SCRIPT LOAD, CONFIG GET, CLUSTER SLOTS, ...: no data changes.
    return name not in _SAFE_SUBCOMMANDS


# Per thread, and per asyncio task (each task runs in a copy of its creator's context): how
# many writes had their reply lost and were left to be resent, and the last of them.
_resends: ContextVar[tuple[int, str]] = ContextVar("walrus_resends", default=(0, ""))


def resend_mark() -> int:
    """A mark of the lost write replies so far in this thread (or asyncio task), for
    ``outcome_unknown_since``. No Redis work."""
    return _resends.get()[0]


def outcome_unknown_since(mark: int, error: BaseException) -> OutcomeUnknownError | None:
    """The ``OutcomeUnknownError`` to raise instead of ``error`` when, since ``mark``, this
    thread (or asyncio task) lost the reply of a write that was then left to be resent: the
    write may have been applied by that attempt although a later one failed with ``error``.
    None otherwise (and for an ``error`` that already is one). No Redis work."""
    count, command = _resends.get()
    if count == mark or isinstance(error, OutcomeUnknownError):
        return None
    cls = (
        _OutcomeUnknownTimeoutError if isinstance(error, RedisTimeoutError) else OutcomeUnknownError
    )
    return cls(command, error, resent=True)


def _note_resend(batch: Sequence[Sequence[Any]]) -> None:
    if any(_writes(args) for args in batch):
        _resends.set((_resends.get()[0] + 1, _describe(batch)))


def _describe(batch: Sequence[Sequence[Any]]) -> str:
    def one(args: Sequence[Any]) -> str:
        if not args:
            return "?"
        name = _text(args[0]).upper()
        if name in ("EVALSHA", "EVAL") and len(args) > 1:
            sha = _text(args[1]).lower()
            if name == "EVAL":
                sha = hashlib.sha1(_text(args[1]).encode("utf-8")).hexdigest()
            return f"{name} {_script_names.get(sha, sha[:12])}"
        return name

    if len(batch) == 1:
        return one(batch[0])
    names = [one(args) for args in batch]
    inner = [n for n in names if n not in ("MULTI", "EXEC")]
    label = "MULTI/EXEC" if names and names[0] == "MULTI" else "pipeline"
    shown = ", ".join(inner[:5]) + (", ..." if len(inner) > 5 else "")
    return f"{label} [{shown}]"


def _batch_safe(batch: Sequence[Sequence[Any]] | None) -> bool:
    return batch is not None and all(command_resend_safe(args) for args in batch)


# -- the connection classes ----------------------------------------------------------------


_UNKNOWN: Sequence[Sequence[Any]] = (("<packed command>",),)
REDIS_MAJOR = int(redis.__version__.split(".")[0])
"""redis-py's major version (5 lacks some hooks the connection classes fill in)."""


class SendTracking:
    """What the sync and async outcome-tracking connection classes share (a mixin base): it
    remembers what the last write sent and decides, when sending or reading fails, whether
    the error becomes ``OutcomeUnknownError`` (which ``WalrusRetry`` never retries). The
    sync and async subclasses only call the redis-py methods they wrap. No Redis work."""

    _walrus_next: Sequence[Sequence[Any]] | None = None
    _walrus_sent: Sequence[Sequence[Any]] | None = None

    def _construct_command_packer(self, packer: Any) -> Any:
        """redis-py's packer, made faster for plain arguments (``walrus.packing``: the same
        bytes). redis-py calls it once, when the connection object is made. No Redis work."""
        base = super()._construct_command_packer(packer)  # type: ignore[misc]  # mixin
        return base if packer is not None else fast_packer(base, getattr(self, "encoder", None))

    def pack_commands(self, commands: Iterable[Sequence[Any]]) -> Any:
        """redis-py's, remembering the commands for ``send_packed_command``. No Redis work."""
        commands = list(commands)
        packed = super().pack_commands(commands)  # type: ignore[misc]  # mixin: base has it
        self._walrus_next = commands  # after packing: it packs them one by one
        return packed

    def _walrus_sending(self) -> Sequence[Sequence[Any]]:
        """The commands about to be written (unknown bytes: ``_UNKNOWN``); forgets the last."""
        batch, self._walrus_next = self._walrus_next or _UNKNOWN, None
        self._walrus_sent = None
        return batch

    @staticmethod
    def _walrus_send_failed(
        batch: Sequence[Sequence[Any]], exc: BaseException
    ) -> OutcomeUnknownError | None:
        """What to raise when writing ``batch`` failed with ``exc`` (None: ``exc`` itself,
        which is resent). Nothing complete reached the server for one command, or for a
        MULTI/EXEC block (EXEC comes last); earlier commands of a plain pipeline may have
        run. Bytes packed elsewhere (not through send_command/pack_commands) are unsafe."""
        if batch is _UNKNOWN or (
            len(batch) > 1 and _text(batch[0][0]).upper() != "MULTI" and not _batch_safe(batch)
        ):
            return _unknown(batch, exc)
        return None

    def _walrus_read_failed(
        self, exc: BaseException, kwargs: dict[str, Any]
    ) -> OutcomeUnknownError | None:
        """What to raise when reading a reply failed with ``exc`` (None: ``exc`` itself);
        notes a lost write reply that will be resent (its outcome is open until then)."""
        if isinstance(exc, OutcomeUnknownError) or not kwargs.get("disconnect_on_error", True):
            return None
        sent, self._walrus_sent = self._walrus_sent, None
        return None if sent is None else lost_reply(sent, exc)


def lost_reply(batch: Sequence[Sequence[Any]], exc: BaseException) -> OutcomeUnknownError | None:
    """What to raise when ``batch`` (commands as argument lists) reached the socket and its
    reply was lost with ``exc``: ``OutcomeUnknownError`` when resending is not safe, else
    None (``exc`` itself, to be resent; a resent write is noted for this thread or asyncio
    task, as ``outcome_unknown_since`` reads). Call it from the caller's task. No Redis
    work."""
    if not _batch_safe(batch):
        return _unknown(batch, exc)
    _note_resend(batch)
    return None


def _unknown(batch: Sequence[Sequence[Any]], exc: BaseException) -> OutcomeUnknownError:
    cls = _OutcomeUnknownTimeoutError if isinstance(exc, RedisTimeoutError) else OutcomeUnknownError
    return cls(_describe(batch), exc)


class _OutcomeTracking(SendTracking):
    """Mixin for redis-py's sync connection classes (see ``SendTracking``)."""

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        self._walrus_next = (args,)
        super().send_command(*args, **kwargs)  # type: ignore[misc]  # mixin: base has it

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        batch = self._walrus_sending()
        try:
            super().send_packed_command(command, check_health)  # type: ignore[misc]  # mixin
        except (RedisConnectionError, RedisTimeoutError) as exc:
            unknown = self._walrus_send_failed(batch, exc)
            if unknown is not None:
                try:
                    raise unknown from exc
                finally:
                    del unknown  # else frame<->traceback cycle: client kept until GC
            raise
        self._walrus_sent = batch

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)  # type: ignore[misc]  # mixin
        except (RedisConnectionError, RedisTimeoutError) as exc:
            unknown = self._walrus_read_failed(exc, kwargs)
            if unknown is not None:
                try:
                    raise unknown from exc
                finally:
                    del unknown  # else frame<->traceback cycle: client kept until GC
            raise

    if REDIS_MAJOR < 6:  # pragma: no cover - exercised on the redis-py 5.x floor

        def connect(self) -> None:
            # redis-py 5 retries opening the socket but not the handshake after it (HELLO,
            # AUTH, SELECT: all safe to resend); a connection killed there would surface.
            if getattr(self, "_sock", None):
                return
            base_connect = super().connect  # type: ignore[misc]  # mixin: the base has it
            connection: Any = self  # the redis-py connection this class is mixed into
            connection.retry.call_with_retry(base_connect, lambda error: connection.disconnect())


_classes: dict[tuple[type, type], type] = {}
_classes_lock = threading.Lock()


def connection_class_for(base: type, mixin: type = _OutcomeTracking) -> type:
    """The outcome-tracking subclass of a redis-py connection class (made once per class).
    ``mixin`` is the sync tracking mixin unless given (``walrus.asyncio.reconnect`` passes
    its own for ``redis.asyncio`` connections). No Redis work."""
    if issubclass(base, mixin):
        return base
    with _classes_lock:
        cls = _classes.get((mixin, base))
        if cls is None:
            cls = type(f"Walrus{base.__name__}", (mixin, base), {"__module__": mixin.__module__})
            _classes[(mixin, base)] = cls
        return cls


# -- the retry policy ----------------------------------------------------------------------


class RetryAttempts:
    """The bookkeeping of one ``call_with_retry`` run, shared by ``WalrusRetry`` and the
    asyncio one (which only call, close and sleep): which errors are resent, the failure
    count, the backoff, and the ``OutcomeUnknownError`` that a resent write's final failure
    becomes. No Redis work."""

    def __init__(
        self,
        retry: AbstractRetry[Any],
        mark: int,
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> None:
        self._retry = retry
        self._is_retryable = is_retryable
        self._with_failure_count = with_failure_count
        # The ``resend_mark()`` the caller took before its first attempt: the bookkeeping is
        # made only once that attempt failed (nothing to build on the fast path).
        self._mark = mark
        self.failures = 0
        backoff: Any = retry._backoff  # redis-py's backoff classes are untyped
        backoff.reset()

    def failed(self, error: Exception) -> tuple[Any, ...]:
        """The arguments of the caller's ``fail`` callback (which closes the connection) when
        the call is to be tried again after ``error``; raises what the call raises instead
        (``error`` itself, or the ``OutcomeUnknownError`` it stands for). No Redis work."""
        retry = self._retry
        if isinstance(error, retry._supported_errors):
            if not isinstance(error, OutcomeUnknownError) and (
                self._is_retryable is None or self._is_retryable(error)
            ):
                self.failures += 1
                return (error, self.failures) if self._with_failure_count else (error,)
        elif not isinstance(error, ResponseError) or isinstance(error, NoScriptError):
            # NOSCRIPT is left to the caller, which sends the script's source (the same
            # request id) at once.
            try:
                raise error
            finally:
                del error  # else frame<->traceback cycle: client kept until GC
        # Not resent; or a resend answered with an error (OOM, READONLY, ...): it did not
        # run, but the attempt whose reply was lost may have.
        _raise_unknown_since(self._mark, error)
        try:
            raise error
        finally:
            del error  # else frame<->traceback cycle: client kept until GC

    def delay(self, error: Exception) -> float:
        """Seconds to wait before the next attempt (after ``failed``); raises ``error`` (or
        the ``OutcomeUnknownError`` it stands for) when no attempt is left. No Redis work."""
        retries = self._retry._retries
        if retries >= 0 and self.failures > retries:
            _raise_unknown_since(self._mark, error)
            try:
                raise error
            finally:
                del error  # else frame<->traceback cycle: client kept until GC
        backoff: Any = self._retry._backoff
        return float(backoff.compute(self.failures))


class WalrusRetry(Retry):
    """redis-py's ``Retry`` that never resends after ``OutcomeUnknownError``.

    Each attempt runs on a fresh connection (redis-py closes the failed one first) after a
    jittered exponential backoff. When a write was resent because its reply was lost and the
    call then fails anyway (out of attempts, or a resend refused by the server), the call
    raises ``OutcomeUnknownError``: the first attempt may have been applied."""

    def call_with_retry(
        self,
        do: Callable[[], Any],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> Any:
        """Run ``do``, resending it after a connection failure (never after
        ``OutcomeUnknownError``). Cost: the round trips of ``do`` per attempt, at most
        ``retries`` + 1 attempts, with a backoff sleep between two."""
        mark = resend_mark()
        attempts: RetryAttempts | None = None  # made at the first failure: none on success
        while True:
            try:
                return do()
            except Exception as error:  # attempts.failed re-raises what is not resent
                if attempts is None:
                    attempts = RetryAttempts(self, mark, is_retryable, with_failure_count)
                fail(*attempts.failed(error))
                pause = attempts.delay(error)
                if pause > 0:
                    time.sleep(pause)


def _raise_unknown_since(mark: int, error: BaseException) -> None:
    unknown = outcome_unknown_since(mark, error)
    if unknown is not None:
        try:
            raise unknown from error
        finally:
            del unknown  # else frame<->traceback cycle: client kept until GC


_SUPPORTED = (RedisConnectionError, RedisTimeoutError, socket.timeout)


def _parse_number(name: str, value: Any, *, integer: bool) -> Any:
    if isinstance(value, str):
        try:
            value = int(value) if integer else float(value)
        except ValueError:
            raise ValueError(
                f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}"
            ) from None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (integer and not isinstance(value, int))
    ):
        raise ValueError(
            f"{name} must be {'an int' if integer else 'a number of seconds'}, got {value!r}"
        )
    if value < 0 or value != value:  # negative or NaN
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def _parse_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in (
        "1",
        "true",
        "yes",
        "on",
        "0",
        "false",
        "no",
        "off",
    ):
        return value.lower() in ("1", "true", "yes", "on")
    raise ValueError(f"{name} must be True or False, got {value!r}")


@dataclass(frozen=True)
class RetrySettings:
    """The reconnection options of one client, validated: the backoff policy and resend
    count its retry object is built with, ``request_ids``, and ``given``: the retry object
    the caller passed as ``retry=`` (None: built from the options). No Redis work."""

    backoff: Any
    retries: int
    request_ids: bool = False
    given: AbstractRetry[Any] | None = None

    def build(self, retry_class: type[Any], supported_errors: tuple[type, ...]) -> Any:
        """A ``retry_class`` (``WalrusRetry`` or the asyncio one) with these settings: the
        ``given`` object itself when it already is one. No Redis work."""
        if isinstance(self.given, retry_class):
            return self.given
        return retry_class(self.backoff, self.retries, supported_errors=supported_errors)


RETRY_ON_ERROR = (RedisConnectionError, RedisTimeoutError)
"""The error types a walrus connection retries (redis-py 5.0 retries only those listed in a
connection's ``retry_on_error``)."""


def _backoff_policy(backoff: Any, backoff_cap: Any) -> Any:
    backoff = _parse_number("retry_backoff", backoff, integer=False)
    backoff_cap = _parse_number("retry_backoff_cap", backoff_cap, integer=False)
    return EqualJitterBackoff(cap=backoff_cap, base=backoff) if backoff > 0 else NoBackoff()


def build_retry(
    retries: Any = DEFAULT_RETRIES,
    backoff: Any = DEFAULT_RETRY_BACKOFF,
    backoff_cap: Any = DEFAULT_RETRY_BACKOFF_CAP,
) -> WalrusRetry:
    """A ``WalrusRetry`` (ValueError naming ``retries``/``retry_backoff``/``retry_backoff_cap``
    for a bad value). ``retries=0`` turns resending off; ``backoff=0`` resends at once. No
    Redis work."""
    retries = _parse_number("retries", retries, integer=True)
    return WalrusRetry(_backoff_policy(backoff, backoff_cap), retries, supported_errors=_SUPPORTED)


def retry_settings(
    options: dict[str, Any], retry_types: tuple[type, ...] = (Retry,)
) -> RetrySettings:
    """Take the retry options out of ``options`` (in place) and validate them: ``retries``,
    ``retry_backoff``, ``retry_backoff_cap`` (numbers, or strings from a URL query),
    ``request_ids`` (bool, or its URL spelling) and redis-py's own ``retry`` (an instance of
    one of ``retry_types``, whose backoff and count are kept). ValueError naming the option
    for a bad value. The sync and asyncio clients both read their options here. No Redis
    work."""
    retry_obj = options.pop("retry", None)
    given = {
        name: options.pop(name)
        for name in ("retries", "retry_backoff", "retry_backoff_cap")
        if name in options
    }
    request_ids = _parse_bool("request_ids", options.pop("request_ids", False))
    if retry_obj is not None and given:
        raise ValueError(
            f"give either retry (a Retry object) or {', '.join(sorted(given))}, not both"
        )
    if retry_obj is not None:
        if not isinstance(retry_obj, retry_types):
            names = " or ".join(f"{t.__module__}.{t.__qualname__}" for t in retry_types)
            raise ValueError(f"retry must be a {names}, got {type(retry_obj).__name__}")
        # Keep the user's backoff and count; only the decision of what to resend changes.
        policy: Any = retry_obj  # narrowed to object by the isinstance over a tuple
        return RetrySettings(policy._backoff, policy._retries, request_ids, policy)
    retries = _parse_number("retries", given.get("retries", DEFAULT_RETRIES), integer=True)
    backoff = _backoff_policy(
        given.get("retry_backoff", DEFAULT_RETRY_BACKOFF),
        given.get("retry_backoff_cap", DEFAULT_RETRY_BACKOFF_CAP),
    )
    return RetrySettings(backoff, retries, request_ids)


def pop_retry_options(options: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Take the retry options out of ``options`` (in place) and return the redis-py
    connection keyword arguments they stand for, plus whether request ids are on.

    Accepts ``retries``, ``retry_backoff``, ``retry_backoff_cap`` (numbers, or strings from
    a URL query), ``request_ids`` (bool) and redis-py's own ``retry`` (a ``Retry``, whose
    backoff and count are kept). ValueError naming the option for a bad value. No Redis
    work.
    """
    settings = retry_settings(options)
    retry = settings.build(WalrusRetry, _SUPPORTED)
    return {"retry": retry, "retry_on_error": list(RETRY_ON_ERROR)}, settings.request_ids


def retry_option_problems(options: dict[str, Any], from_url: bool = False) -> list[str]:
    """What is wrong with the retry options in ``options`` (for settings checks), as messages
    naming the option; an empty list when they can be used. Text values (``"3"``) are
    accepted only ``from_url`` (a URL query string has nothing else). No Redis work."""
    problems = []
    for name, integer in (
        ("retries", True),
        ("retry_backoff", False),
        ("retry_backoff_cap", False),
    ):
        if name in options:
            value = options[name]
            if isinstance(value, str) and not from_url:
                expected = "an int" if integer else "a number of seconds"
                problems.append(f"{name} must be {expected}, got {value!r}")
                continue
            try:
                _parse_number(name, value, integer=integer)
            except ValueError as exc:
                problems.append(str(exc))
    if "request_ids" in options:
        value = options["request_ids"]
        if not isinstance(value, bool) and not from_url:
            problems.append(f"request_ids must be True or False, got {value!r}")
        else:
            try:
                _parse_bool("request_ids", value)
            except ValueError as exc:
                problems.append(str(exc))
    if options.get("retry") is not None:
        if not isinstance(options["retry"], Retry):
            problems.append(
                f"retry must be a redis.retry.Retry, got {type(options['retry']).__name__}"
            )
        elif any(name in options for name in ("retries", "retry_backoff", "retry_backoff_cap")):
            problems.append(
                "give either retry (a Retry object) or retries/retry_backoff/retry_backoff_cap, "
                "not both"
            )
    return problems


def install(pool: redis.ConnectionPool) -> None:
    """Make ``pool`` build outcome-tracking connections (before it made any). No Redis
    work."""
    pool.connection_class = connection_class_for(pool.connection_class)
