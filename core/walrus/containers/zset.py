"""Placeholder: being written (see the open issue)."""

from .base import Container

__all__ = ["ZSet"]


class ZSet(Container):
    pass
