"""Rich wrappers around Redis data types (``walrus.containers.Hash`` and friends)."""

from .array import Array
from .base import Container
from .bits import BitField, BitFieldOperation, BloomFilter
from .hash import Hash
from .hyperloglog import HyperLogLog
from .list import List
from .set import Set
from .streams import ConsumerGroup, ConsumerGroupStream, Stream
from .zset import ZSet

# isort: split
# After .streams (which completes the streams <-> consumer_group import): upstream's private
# helper, which code written against upstream (its own tests among it) imports from here.
from .consumer_group import _normalize_stream_keys as _normalize_stream_keys

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
