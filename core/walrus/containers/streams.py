"""Placeholder: being written (see the open issue)."""

from .base import Container

__all__ = ["Stream","ConsumerGroup","ConsumerGroupStream"]


class Stream(Container):
    pass


class ConsumerGroup:
    def __init__(self, *a, **k):
        raise NotImplementedError
    pass


class ConsumerGroupStream:
    pass
