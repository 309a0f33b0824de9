"""Placeholder: being written (see the open issue)."""

from .base import Container

__all__ = ["Array"]


class Array(Container):
    pass
