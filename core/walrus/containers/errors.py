"""Errors raised by the containers, and the checks that raise them before anything is sent.

* ``WrongTypeError``: the key holds another Redis type (also a ``redis.ResponseError``, which
  is what upstream walrus let through, so existing ``except ResponseError`` code keeps working,
  and a ``ValueError``, which upstream's ``ConsumerGroup.create`` raised for such a key).
* ``ContainerTypeError`` / ``ContainerValueError`` / ``ContainerIndexError``: bad arguments,
  also ``TypeError`` / ``ValueError`` / ``IndexError`` so they behave like Python's own types.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from redis.exceptions import ResponseError

from ..calls import Batch, call, send
from ..exceptions import WalrusError
from ..steps import Steps, drive
from ..utils import decode

if TYPE_CHECKING:  # pragma: no cover
    from .base import Container

__all__ = [
    "ContainerIndexError",
    "ContainerTypeError",
    "ContainerValueError",
    "VALUE_TYPES",
    "WrongTypeError",
    "check_index",
    "check_score",
    "check_value",
    "check_values",
    "explain_error",
    "guard",
    "raise_wrong_type",
    "reraise",
    "wrong_type_steps",
]

F = TypeVar("F", bound=Callable[..., Any])


class WrongTypeError(WalrusError, ResponseError, ValueError):
    """The key holds a value of another Redis type; nothing was changed.

    Attributes: ``key``, ``actual`` (Redis type name, e.g. ``"list"``), ``expected``.
    """

    def __init__(self, key: Any, actual: str, expected: str) -> None:
        self.key = key
        self.actual = actual
        self.expected = expected
        super().__init__(f"key {decode(key)!r} holds a {actual}, expected a {expected}")

    def __reduce__(self) -> Any:  # picklable across processes (e.g. Celery results)
        return (type(self), (self.key, self.actual, self.expected))


class ContainerTypeError(WalrusError, TypeError):
    """An argument of the wrong Python type (e.g. a dict as a value, a str as a list index)."""


class ContainerValueError(WalrusError, ValueError):
    """An argument of the right type but an unusable value (e.g. a non-numeric score)."""


class ContainerIndexError(WalrusError, IndexError):
    """An index outside the container, as ``IndexError`` is for Python's sequences."""


# -- argument checks (pure Python, run before any command is sent) ---------------------------

# Types redis-py sends as they are (bool is refused: it is an int subclass but ambiguous).
VALUE_TYPES = frozenset((str, bytes, int, float))
"""Types a container sends as they are (`bool` is refused: an `int` subclass, but ambiguous once
stored)."""
_VALUE_TYPES = VALUE_TYPES


def check_value(container: Container, value: Any, what: str = "value") -> None:
    """Raise ContainerTypeError unless redis-py can send ``value`` as is. No Redis work."""
    kind = type(value)
    if kind in _VALUE_TYPES:
        return
    if isinstance(value, (str, bytes, memoryview)) or (
        isinstance(value, (int, float)) and not isinstance(value, bool)
    ):
        return
    raise ContainerTypeError(
        f"{container!r}: {what} must be str, bytes, int or float, got {kind.__name__}"
    )


def check_values(container: Container, values: Iterable[Any], what: str = "value") -> None:
    """Check each of ``values`` as `check_value` does (raises on the first bad one, naming the
    container). No Redis work."""
    for value in values:
        if type(value) not in _VALUE_TYPES:
            check_value(container, value, what)


# Redis reads indexes as signed 64-bit integers; one beyond them is beyond any container.
_INDEX_LIMIT = 2**63 - 1


def check_index(container: Container, index: Any, what: str = "index") -> int:
    """Return ``index`` as an int (anything with ``__index__``), else ContainerTypeError.
    Indexes beyond the signed 64-bit range are clamped to it (they lie past either end of
    any container, as they would for a Python list). No Redis work."""
    if type(index) is int or hasattr(type(index), "__index__"):
        value = index if type(index) is int else int(index.__index__())
        return max(-_INDEX_LIMIT, min(_INDEX_LIMIT, value))
    raise ContainerTypeError(
        f"{container!r}: {what} must be an integer, got {type(index).__name__}"
    )


def check_score(container: Container, score: Any, what: str = "score") -> float:
    """Return ``score`` as a float: a number or numeric text such as ``"1.5"`` or ``"-inf"``. No
    Redis work."""
    if type(score) is float:
        value = score
    elif type(score) is int or (isinstance(score, (int, float)) and not isinstance(score, bool)):
        value = float(score)
    elif isinstance(score, (str, bytes)):
        try:
            value = float(score)
        except ValueError:
            raise ContainerValueError(
                f"{container!r}: {what} must be a number, got {score!r}"
            ) from None
    else:
        raise ContainerTypeError(
            f"{container!r}: {what} must be a number, got {type(score).__name__}"
        )
    if math.isnan(value):
        raise ContainerValueError(f"{container!r}: {what} must not be NaN")
    return value


# -- WRONGTYPE translation ----------------------------------------------------------------


def _is_hll(prefix: Any) -> bool:
    # Every HyperLogLog value starts with the magic "HYLL" (also as str with decode_responses).
    return prefix in (b"HYLL", "HYLL")


def _embedded(container: Container) -> bool:
    return bool(getattr(container.database, "is_embedded", False))


def raise_wrong_type(container: Container, others: list[Container], exc: Exception) -> None:
    """Find which key holds the wrong type and raise WrongTypeError for it (1 round trip,
    only paid on the error path). Re-raises ``exc`` if no culprit is found (a race)."""
    drive(wrong_type_steps(container, others, exc), lambda step: send(container.database, step))


def wrong_type_steps(container: Container, others: list[Container], exc: Exception) -> Steps:
    """``raise_wrong_type`` as steps, for either client: one pipeline of TYPE and the
    value's first bytes per key (1 round trip), then the WrongTypeError (or ``exc``
    again)."""
    candidates = [container, *others]
    calls = []
    for item in candidates:
        calls += [call.type(item.key), call.getrange(item.key, 0, 3)]
    replies = yield Batch(calls, transaction=False, raise_on_error=False)
    for i, item in enumerate(candidates):
        actual = decode(replies[2 * i])
        accepted: tuple[str, ...] = getattr(item, "accepted_types", ())
        if item is not container:
            accepted = accepted + getattr(container, "accepted_other_types", ())
        if actual == "none":
            continue
        if item.redis_type == "hyperloglog" and actual == "set" and _embedded(container):  # type: ignore[attr-defined]
            continue  # the memory:// engine (fakeredis) stores a HyperLogLog as a set
        if actual not in accepted:
            raise WrongTypeError(item.key, actual, item.redis_type) from exc  # type: ignore[attr-defined]
        if item.redis_type == "hyperloglog" and not _is_hll(replies[2 * i + 1]):  # type: ignore[attr-defined]
            raise WrongTypeError(item.key, "string (not a HyperLogLog)", "hyperloglog") from exc
    try:
        raise exc
    finally:
        del exc  # else frame<->traceback cycle: client kept until GC


def explain_error(
    container: Container, exc: ResponseError | UnicodeEncodeError, args: tuple[Any, ...]
) -> Steps:
    """What ``guard`` does with an error, as steps for either client: unencodable text
    becomes ContainerValueError, WRONGTYPE WrongTypeError (1 round trip, on this error
    path only: see ``wrong_type_steps``), anything else is raised again."""
    from .base import Container

    if isinstance(exc, UnicodeEncodeError):
        _unencodable(container, exc)
    if isinstance(exc, WrongTypeError) or "WRONGTYPE" not in str(exc):
        try:
            raise exc
        finally:
            del exc  # else frame<->traceback cycle: client kept until GC
    yield from wrong_type_steps(container, _containers_in(args, Container), exc)


def _containers_in(args: tuple[Any, ...], base: type) -> list[Any]:
    found: list[Any] = []
    for arg in args:
        if isinstance(arg, base):
            found.append(arg)
        elif isinstance(arg, (tuple, list)):
            found.extend(a for a in arg if isinstance(a, base))
    return found


def reraise(container: Container, exc: ResponseError | UnicodeEncodeError) -> NoReturn:
    """What ``guard`` does with an error, for hot methods that catch it inline (one call
    level less than the decorator): WRONGTYPE becomes WrongTypeError, unencodable text
    ContainerValueError, the rest re-raised. No Redis work."""
    if isinstance(exc, UnicodeEncodeError):
        _unencodable(container, exc)
    if not isinstance(exc, WrongTypeError) and "WRONGTYPE" in str(exc):
        raise_wrong_type(container, [], exc)
    try:
        raise exc
    finally:
        del exc  # else frame<->traceback cycle: client kept until GC


def _unencodable(container: Container, exc: UnicodeEncodeError) -> NoReturn:
    # redis-py encodes every argument before it sends a command (or a pipeline): nothing left.
    text = exc.object[max(0, exc.start - 10) : exc.end + 10]
    raise ContainerValueError(
        f"{container!r}: a str argument cannot be sent to Redis as UTF-8 ({exc.reason} "
        f"at position {exc.start}: ...{text!r}...)"
    ) from None


def guard(method: F) -> F:
    """Decorator: turn a WRONGTYPE reply into WrongTypeError naming the key and its type,
    and a str that UTF-8 cannot encode (a lone surrogate) into ContainerValueError.

    The keys looked at are the container's own and those of Container arguments (plain
    key names, e.g. ``dest``, are not: a store command overwrites whatever ``dest`` holds).
    No Redis work of its own: the method costs what it did.
    """
    from .base import Container

    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def gen_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(self, *args, **kwargs)
            except UnicodeEncodeError as exc:
                _unencodable(self, exc)
            except ResponseError as exc:
                if isinstance(exc, WrongTypeError) or "WRONGTYPE" not in str(exc):
                    raise
                raise_wrong_type(self, _containers_in(args, Container), exc)

        return gen_wrapper  # type: ignore[return-value]

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except UnicodeEncodeError as exc:
            _unencodable(self, exc)
        except ResponseError as exc:
            if isinstance(exc, WrongTypeError) or "WRONGTYPE" not in str(exc):
                raise
            raise_wrong_type(self, _containers_in(args, Container), exc)

    return wrapper  # type: ignore[return-value]
