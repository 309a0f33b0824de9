"""Argument checks and reply conversions shared by the field classes."""

from __future__ import annotations

from typing import Any

__all__ = ["as_bool", "as_float", "as_int", "as_ok", "float_arg", "int_arg", "pairs", "score_arg"]


def _text(value: Any) -> str | None:
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", "replace")
    return value.strip() if isinstance(value, str) else None


def int_arg(value: Any, what: str) -> int:
    """``value`` as an int argument: an int or its text (``"3"``, as Redis accepts it);
    bools, floats and other text are refused with ``TypeError``."""
    text = _text(value)
    if text is not None:
        try:
            return int(text)
        except ValueError:
            raise TypeError(f"{what} must be an int, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {value!r}")
    return value


def float_arg(value: Any, what: str) -> str:
    """``value`` (int, float or their text, e.g. ``"3.5"``) as the text Redis parses as a
    float."""
    text = _text(value)
    if text is not None:
        try:
            number = float(text)
        except ValueError:
            raise TypeError(f"{what} must be a number, got {value!r}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise TypeError(f"{what} must be a finite number, got {value!r}")
        return repr(number)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number, got {value!r}")
    return repr(float(value)) if isinstance(value, float) else str(value)


def score_arg(value: Any, what: str) -> float:
    """A sorted-set score: int, float or their text (not bool)."""
    text = _text(value)
    if text is not None:
        try:
            return float(text)
        except ValueError:
            raise TypeError(f"{what}: a score must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what}: a score must be a number, got {value!r}")
    return float(value)


def as_int(reply: Any) -> int:
    return int(reply)


def as_float(reply: Any) -> float:
    return float(reply)


def as_bool(reply: Any) -> bool:
    return bool(reply)


def as_ok(reply: Any) -> bool | None:
    """A status reply: ``True`` for OK, ``None`` when a conditional SET did nothing."""
    return True if reply in ("OK", True) else None


def pairs(reply: Any) -> Any:
    """``withscores`` replies as a list of ``(member, float score)`` tuples (RESP2 and RESP3)."""
    if isinstance(reply, list):
        return [(member, float(score)) for member, score in reply]
    return reply
