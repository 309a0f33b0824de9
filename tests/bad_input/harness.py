"""Shared parts of the bad-input suite: random values, a database snapshot, the verdict.

Every test calls a public entry point with values drawn from :data:`VALUES` and hands the
call to :func:`outcome`, which accepts either a result or a *clear* refusal:

- a ``walrus.WalrusError`` (any subclass, including those that are also ``IndexError`` or
  ``ResponseError``), or a ``TypeError`` / ``ValueError`` / ``KeyError`` raised on purpose
  (a message of its own, not one of Python's or redis-py's stock complaints about internals);
- never ``redis.RedisError`` (``ResponseError``, ``DataError``) that the library let through,
  ``AttributeError``, ``IndexError``, ``UnicodeError``, ``OverflowError``, ``RecursionError``
  or a hang (each call gets :data:`CALL_SECONDS`).

After a refusal the database must be byte-for-byte what it was: :func:`snapshot` is every
key (SCAN) with its type, DUMP payload and whether it has a TTL.

``WALRUS_BAD_INPUT_EXAMPLES=<n>`` explores: n random examples per test instead of the
default fixed (derandomised) 50, so a run in CI is repeatable.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from walrus import WalrusError

__all__ = [
    "CALL_SECONDS",
    "SETTINGS",
    "TEXTS",
    "VALUES",
    "Outcome",
    "RawError",
    "outcome",
    "restore",
    "snapshot",
]

CALL_SECONDS = 10
_EXPLORE = os.environ.get("WALRUS_BAD_INPUT_EXAMPLES")
SETTINGS = settings(
    max_examples=int(_EXPLORE) if _EXPLORE else 50,
    derandomize=not _EXPLORE,
    deadline=None,
    database=None,
    # ``db`` is function-scoped on purpose: each example resets the keys it relies on.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# Strings that have broken parsers and encoders before: empty, NUL, a lone surrogate (not
# encodable as UTF-8), non-ASCII, Redis range syntax, glob characters, hash tags, long ones.
ODD_TEXTS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "é☃𝄞",
    "\n",
    "-",
    "+",
    "(1",
    "[a",
    "*",
    "?",
    "\\",
    "{tag}",
    "inf",
    "-inf",
    "nan",
    "1e400",
    "0x10",
    "9" * 30,
    "x" * 100_000,
]
TEXTS = st.one_of(st.text(max_size=12), st.sampled_from(ODD_TEXTS))
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([0, -1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**100, -(10**100)]),
    st.floats(),  # includes nan, inf, -inf, -0.0 and subnormals
    TEXTS,
    st.binary(max_size=12),
    st.sampled_from([b"", b"\x00", b"\xff\xfe", b"\xc3"]),
    st.builds(object),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.tuples(SCALARS, SCALARS),
    st.dictionaries(st.one_of(st.text(max_size=4), st.integers()), SCALARS, max_size=3),
    st.frozensets(st.integers(), max_size=3),
)

# Stock messages of Python and redis-py about their own internals: a TypeError/ValueError
# carrying one of them was not raised on purpose by the library.
_RAW_MESSAGES = re.compile(
    r"^(?:'[^']+' object (?:is not|has no|cannot|does not)|unsupported operand type"
    r"|invalid literal for|could not convert|can only concatenate|can't concat"
    r"|expected str, bytes|'[<>=!]+' not supported between"
    r"|[\w.<>]+\(\) (?:takes \d+ positional|missing \d+ required|got an unexpected|got multiple)"
    r"|Invalid input of type|Object of type .* is not JSON serializable|not all arguments converted"
    r"|unhashable type|must be real number|cannot convert float|argument must be"
    r"|[\w ]*index out of range|'[\w-]+' codec can't|NoneType"
    r"|sequence item \d+: expected)"
)
_NEVER = (
    redis.RedisError,
    AttributeError,
    IndexError,
    UnicodeError,
    OverflowError,
    RecursionError,
    AssertionError,
    NameError,
)


class RawError(AssertionError):
    """The entry point let an internal error through, hung, or refused after writing."""


@dataclass
class Outcome:
    result: Any = None
    error: BaseException | None = None

    @property
    def refused(self) -> bool:
        return self.error is not None


def snapshot(database: Any) -> dict[bytes, tuple[bytes, bytes | None, bool]]:
    """Every key of the database: ``key -> (type, DUMP payload, has a TTL)``. Two round trips
    (SCAN, then one pipeline) for the small databases of this suite."""
    keys = list(database.scan_iter(count=1000))
    if not keys:
        return {}
    pipe = database.pipeline(transaction=False)
    for key in keys:
        pipe.type(key)
        pipe.dump(key)
        pipe.pttl(key)
    replies = pipe.execute()
    state: dict[bytes, tuple[bytes, bytes | None, bool]] = {}
    for i, key in enumerate(keys):
        kind, payload, ttl = replies[3 * i : 3 * i + 3]
        name = key if isinstance(key, bytes) else str(key).encode()
        state[name] = (kind if isinstance(kind, bytes) else str(kind).encode(), payload, ttl >= 0)
    return state


def restore(database: Any, state: dict[bytes, tuple[bytes, bytes | None, bool]]) -> None:
    """Make the database hold exactly ``state`` (without TTLs): FLUSHDB and RESTORE in one
    round trip."""
    pipe = database.pipeline(transaction=False)
    pipe.flushdb()
    for key, (_, payload, _) in state.items():
        if payload is not None:
            pipe.restore(key, 0, payload)
    pipe.execute()


class _Hang(BaseException):
    pass


@contextmanager
def _time_limit(seconds: int) -> Iterator[None]:
    def alarm(signum: int, frame: Any) -> None:
        raise _Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def clear_error(error: BaseException) -> str | None:
    """None when ``error`` is a clear refusal; otherwise why it is not."""
    if isinstance(error, WalrusError):
        return None if str(error) else "a WalrusError without a message"
    if isinstance(error, _NEVER):
        return f"raw {type(error).__module__}.{type(error).__qualname__}"
    if not isinstance(error, (TypeError, ValueError, KeyError)):
        return f"unexpected {type(error).__module__}.{type(error).__qualname__}"
    message = str(error)
    if not message:
        return f"{type(error).__name__} without a message"
    if _RAW_MESSAGES.search(message):
        return f"{type(error).__name__} from internals"
    return None


def outcome(
    database: Any,
    call: Callable[[], Any],
    what: str = "",
    allowed: tuple[type[BaseException], ...] = (),
) -> Outcome:
    """Run ``call``; return its result, or the clear error it raised with the database left
    exactly as it was. Raise :class:`RawError` for anything else. ``allowed``: further
    documented error types (e.g. Django's ImproperlyConfigured), with a message."""
    before = snapshot(database) if database is not None else None
    try:
        with _time_limit(CALL_SECONDS):
            result = call()
    except _Hang as hang:
        raise RawError(f"{what}: hang ({hang})") from None
    except Exception as error:  # the verdict below decides
        problem = clear_error(error)
        if isinstance(error, allowed) and str(error):
            problem = None
        if problem is not None:
            raise RawError(
                f"{what}: {problem}: {type(error).__name__}: {str(error)[:300]}"
            ) from error
        if database is not None:
            after = snapshot(database)
            if after != before:
                changed = sorted(
                    k
                    for k in set(before or {}) | set(after)
                    if (before or {}).get(k) != after.get(k)
                )
                raise RawError(
                    f"{what}: refused ({type(error).__name__}: {str(error)[:200]}) "
                    f"after changing keys {changed[:10]}"
                ) from error
        return Outcome(error=error)
    return Outcome(result=result)
