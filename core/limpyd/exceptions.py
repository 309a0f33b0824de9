"""Exceptions raised by limpyd (the redis-limpyd names, rooted in ``walrus.WalrusError``)."""

from __future__ import annotations

from walrus.exceptions import WalrusError

__all__ = [
    "DoesNotExist",
    "ImplementationError",
    "LimpydException",
    "UniquenessError",
]


class LimpydException(WalrusError):  # noqa: N818  upstream name
    """Base class of every limpyd error."""


class ImplementationError(LimpydException):
    """A model, field or database is declared or used in a way limpyd does not support."""


class UniquenessError(LimpydException):
    """A value of a ``unique`` field (or a primary key) is already used by another instance.

    Raised before anything is written: the refused operation leaves no trace in Redis.
    """


class DoesNotExist(LimpydException, ValueError):  # noqa: N818  upstream name
    """No instance with this primary key (also a ``ValueError``, as in older redis-limpyd)."""
