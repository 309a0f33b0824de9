"""Errors of the model layer."""

from __future__ import annotations

from ..exceptions import WalrusError

__all__ = [
    "FieldTypeError",
    "FieldValueError",
    "FilterError",
    "ModelError",
    "UniqueError",
    "WriteConflictError",
]


class ModelError(WalrusError):
    """Base class of the model layer's own errors."""


class FieldTypeError(ModelError, TypeError):
    """A value of the wrong Python type was given to a field (the message names the field)."""


class FieldValueError(ModelError, ValueError):
    """A value of the right type that a field cannot store (NaN, out of range, bad UTF-8...)."""


class UniqueError(ModelError, ValueError):
    """A write would give a ``unique=True`` field a value another row already has.

    Nothing was written. ``field`` names the field, ``value`` is the refused value.
    """

    def __init__(self, message: str, field: str = "", value: object = None) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class FilterError(ModelError, ValueError):
    """A query filters on a field without a suitable index, or with an unsupported operator."""


class WriteConflictError(ModelError):
    """A row kept changing under an optimistic write; it was retried and gave up."""
