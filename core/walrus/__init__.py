"""walrus: a Redis toolkit, a drop-in for the walrus API with atomic, fast operations."""

from .containers import (
    Array,
    BitField,
    BitFieldOperation,
    BloomFilter,
    ConsumerGroup,
    ConsumerGroupStream,
    Container,
    Hash,
    HyperLogLog,
    List,
    Set,
    Stream,
    ZSet,
)
from .database import Database
from .streams import TimeSeries
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
    "TimeSeries",
    "WalrusError",
    "ZSet",
]
