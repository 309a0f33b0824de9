"""Placeholder: being written (see the open issue)."""

from .base import Container

__all__ = ["BitField","BitFieldOperation","BloomFilter"]


class BitField(Container):
    pass


class BitFieldOperation:
    pass


class BloomFilter(Container):
    pass
