"""walrus: a Redis toolkit, a drop-in for the walrus API with atomic, fast operations."""

from .containers import Array
from .containers import BitField
from .containers import BitFieldOperation
from .containers import BloomFilter
from .containers import ConsumerGroup
from .containers import ConsumerGroupStream
from .containers import Container
from .containers import Hash
from .containers import HyperLogLog
from .containers import List
from .containers import Set
from .containers import Stream
from .containers import ZSet
from .database import Database
from .exceptions import WalrusError

__version__ = "0.1.0"

__all__ = [
    "Array",
    "BitField",
    "BitFieldOperation",
    "BloomFilter",
    "ConsumerGroup",
    "ConsumerGroupStream",
    "Container",
    "Database",
    "Hash",
    "HyperLogLog",
    "List",
    "Set",
    "Stream",
    "WalrusError",
    "ZSet",
]
