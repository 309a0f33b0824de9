"""Placeholder: being written (see the open issue)."""

from .base import Container

__all__ = ["Set"]


class Set(Container):
    pass
