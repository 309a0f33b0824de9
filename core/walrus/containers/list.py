"""Placeholder: being written (see the open issue)."""

from .base import Container

__all__ = ["List"]


class List(Container):
    pass
