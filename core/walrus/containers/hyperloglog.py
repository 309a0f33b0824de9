"""Placeholder: being written (see the open issue)."""

from .base import Container

__all__ = ["HyperLogLog"]


class HyperLogLog(Container):
    pass
