"""walrus: a Redis toolkit, a drop-in for the walrus API with atomic, fast operations."""

from .autocomplete import Autocomplete
from .cache import Cache
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
from .counter import Counter
from .database import Database
from .exceptions import WalrusError
from .fts import Index
from .graph import Graph
from .lock import Lock, LockError, LockExpired, LockNotOwned
from .rate_limit import RateLimit, RateLimitException, RateLimitLua
from .streams import Message, TimeSeries

__version__ = "0.1.0"

__all__ = [
    "Array",
    "Autocomplete",
    "BitField",
    "BitFieldOperation",
    "BloomFilter",
    "Cache",
    "ConsumerGroup",
    "ConsumerGroupStream",
    "Container",
    "Counter",
    "Database",
    "Graph",
    "Hash",
    "HyperLogLog",
    "Index",
    "List",
    "Lock",
    "LockError",
    "LockExpired",
    "LockNotOwned",
    "Message",
    "RateLimit",
    "RateLimitException",
    "RateLimitLua",
    "Set",
    "Stream",
    "TimeSeries",
    "WalrusError",
    "ZSet",
]
