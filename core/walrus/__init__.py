"""walrus: a Redis toolkit, a drop-in for the walrus API with atomic, fast operations."""

# Upstream's ``from walrus import *`` also handed out the modules its models use; code written
# against it calls ``uuid.uuid4()`` and ``datetime.datetime`` after that import alone.
import datetime
import uuid

from .autocomplete import Autocomplete
from .cache import Cache
from .cluster import ClusterClientTooOldError, CrossSlotError
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
from .database import ClusterDatabase, Database, DatabaseBase
from .exceptions import WalrusError
from .fts import Index
from .graph import Graph
from .lock import Lock, LockError, LockExpired, LockNotOwned
from .models import (
    AbsoluteIndex,
    AutoIncrementField,
    BooleanField,
    ByteField,
    ContinuousIndex,
    DateField,
    DateTimeField,
    Desc,
    Field,
    FloatField,
    ForeignKeyField,
    FullTextIndex,
    HashField,
    IntegerField,
    JSONField,
    ListField,
    ManyToManyField,
    MissingReferenceError,
    Model,
    PickledField,
    PipelineError,
    ProtectedError,
    RelatedSet,
    SetField,
    TextField,
    UniqueError,
    UUIDField,
    ZSetField,
)
from .rate_limit import RateLimit, RateLimitException, RateLimitLua
from .retry import OutcomeUnknownError
from .streams import Message, TimeSeries

__version__ = "0.1.0"

__all__ = [
    "AbsoluteIndex",
    "Array",
    "AutoIncrementField",
    "Autocomplete",
    "BitField",
    "BitFieldOperation",
    "BloomFilter",
    "BooleanField",
    "ByteField",
    "Cache",
    "ClusterClientTooOldError",
    "ClusterDatabase",
    "ConsumerGroup",
    "ConsumerGroupStream",
    "Container",
    "ContinuousIndex",
    "Counter",
    "CrossSlotError",
    "Database",
    "DatabaseBase",
    "DateField",
    "DateTimeField",
    "Desc",
    "Field",
    "FloatField",
    "ForeignKeyField",
    "FullTextIndex",
    "Graph",
    "Hash",
    "HashField",
    "HyperLogLog",
    "Index",
    "IntegerField",
    "JSONField",
    "List",
    "ListField",
    "Lock",
    "LockError",
    "LockExpired",
    "LockNotOwned",
    "ManyToManyField",
    "Message",
    "MissingReferenceError",
    "Model",
    "OutcomeUnknownError",
    "PickledField",
    "PipelineError",
    "ProtectedError",
    "RateLimit",
    "RateLimitException",
    "RateLimitLua",
    "RelatedSet",
    "Set",
    "SetField",
    "Stream",
    "TextField",
    "TimeSeries",
    "UUIDField",
    "UniqueError",
    "WalrusError",
    "ZSet",
    "ZSetField",
    "datetime",
    "uuid",
]
