"""Placeholder: being written (see the open issue)."""

from .base import Container

__all__ = ["Hash"]


class Hash(Container):
    pass
