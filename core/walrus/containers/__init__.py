"""Rich wrappers around Redis data types (``walrus.containers.Hash`` and friends)."""

from .array import Array
from .base import Container
from .bits import BitField, BitFieldOperation, BloomFilter
from .consumer_group import ConsumerGroup, ConsumerGroupStream

# upstream's private helper, which code written against upstream (its own tests) imports here
from .consumer_group import _normalize_stream_keys as _normalize_stream_keys
from .hash import Hash
from .hyperloglog import HyperLogLog
from .list import List
from .set import Set
from .streams import Stream
from .zset import ZSet

__all__ = [
    "Array",
    "BitField",
    "BitFieldOperation",
    "BloomFilter",
    "ConsumerGroup",
    "ConsumerGroupStream",
    "Container",
    "Hash",
    "HyperLogLog",
    "List",
    "Set",
    "Stream",
    "ZSet",
]
