"""Redis Cluster and Sentinel support: hash tags, slot checks and the extra URL forms.

On Redis Cluster a command or Lua script may only touch keys of one hash slot. walrus keeps
the keys one operation touches together in one slot by giving them a common ``{hash tag}``
(only on a cluster: single-server key layouts do not change). Helpers build tagged names with
``tag_name(database, name)`` (also ``database.tag(name)``); multi-key calls whose keys the
caller chose are checked with ``check_same_slot`` and refused with ``CrossSlotError`` before
anything is sent.

URL forms (``Database.from_url``; parsed in ``walrus.urls``):

- ``redis+cluster://[[user:]password@]host:port[,host:port...][?option=value]``; also
  ``rediss+cluster://`` for TLS. Every listed node is a startup node.
- ``redis+sentinel://[[user:]password@]host:port[,host:port...]/service_name[/db]``; also
  ``rediss+sentinel://``. The hosts are the sentinels; the credentials are the data servers'.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import redis
from redis.crc import key_slot as _crc_key_slot

from .exceptions import WalrusError

# The URL names stay importable from here (walrus.cluster was their first home).
from .urls import CLUSTER_SCHEMES, SENTINEL_SCHEMES, parse_cluster_url, parse_sentinel_url

__all__ = [
    "CLUSTER_SCHEMES",
    "MIN_CLUSTER_REDIS_PY",
    "SENTINEL_SCHEMES",
    "ClusterClientTooOldError",
    "CrossSlotError",
    "check_same_slot",
    "command_keys",
    "has_hash_tag",
    "hash_tag",
    "is_cluster",
    "key_slot",
    "parse_cluster_url",
    "parse_sentinel_url",
    "require_cluster_transactions",
    "tag_name",
]

# Cluster pipelines with transaction=True (MULTI/EXEC within one slot) arrived in redis-py
# 6.1; walrus's atomic container writes, models and limpyd on a cluster rely on them.
MIN_CLUSTER_REDIS_PY = (6, 1)
"""The oldest redis-py (major, minor) that walrus runs on a cluster: transactional cluster
pipelines (MULTI/EXEC within one slot) arrived in 6.1."""


class CrossSlotError(WalrusError, ValueError):
    """Keys that one operation must touch together live in different cluster hash slots.

    Give them a common hash tag (the same ``{...}`` part in every name) to use them together.
    """


class ClusterClientTooOldError(WalrusError, RuntimeError):
    """The installed redis-py is too old for walrus on a Redis Cluster (needs 6.1 or newer)."""


def require_cluster_transactions(version: str | None = None) -> None:
    """Raise ClusterClientTooOldError unless redis-py ``version`` (default: the installed
    one) supports transactions in cluster pipelines. No Redis call."""
    version = redis.__version__ if version is None else version
    found = re.match(r"(\d+)\.(\d+)", version)
    if found is None or (int(found.group(1)), int(found.group(2))) < MIN_CLUSTER_REDIS_PY:
        wanted = ".".join(map(str, MIN_CLUSTER_REDIS_PY))
        raise ClusterClientTooOldError(
            f"walrus on a Redis Cluster needs redis-py >= {wanted} (transactions in cluster "
            f"pipelines); redis-py {version} is installed: pip install 'redis>={wanted}'"
        )


def _key_bytes(key: Any) -> bytes:
    if isinstance(key, bytes):
        return key
    if isinstance(key, (bytearray, memoryview)):
        return bytes(key)
    if isinstance(key, str):
        return key.encode("utf-8")
    return str(key).encode("utf-8")


def key_slot(key: Any) -> int:
    """The cluster hash slot (0..16383) of ``key`` (str keys as UTF-8, like redis-py). No Redis
    work."""
    return int(_crc_key_slot(_key_bytes(key)))


def has_hash_tag(name: str | bytes) -> bool:
    """Whether ``name`` already has a hash tag: a ``{`` followed later by ``}`` with at least
    one character between (the first such pair decides the slot). No Redis work."""
    raw = _key_bytes(name)
    start = raw.find(b"{")
    if start < 0:
        return False
    end = raw.find(b"}", start + 1)
    return end > start + 1


def hash_tag(name: str | bytes) -> Any:
    """``name`` wrapped as ``{name}``, or unchanged when it already has a hash tag (so a name
    like ``"{user:1}:report"`` keeps the slot its author chose). Same type as ``name``.

    Raises ValueError for an empty name or one that cannot be wrapped into a valid tag (it
    starts with ``}``). No Redis work."""
    if not name:
        raise ValueError("cannot hash-tag an empty name")
    if has_hash_tag(name):
        return name
    wrapped: str | bytes = b"{" + name + b"}" if isinstance(name, bytes) else "{" + name + "}"
    if not has_hash_tag(wrapped):
        raise ValueError(
            f"cannot hash-tag {name!r} for Redis Cluster: a name starting with '}}' has no valid "
            "{tag}; choose the tag yourself, e.g. '{mytag}' + name"
        )
    return wrapped


def is_cluster(database: Any) -> bool:
    """Whether ``database`` talks to a Redis Cluster (a ``ClusterDatabase``). No Redis work."""
    return bool(getattr(database, "is_cluster", False))


def tag_name(database: Any, name: Any) -> Any:
    """``hash_tag(name)`` on a cluster, ``name`` unchanged otherwise. No Redis work."""
    return hash_tag(name) if is_cluster(database) else name


def check_same_slot(database: Any, keys: Iterable[Any], operation: str) -> None:
    """On a cluster, raise CrossSlotError naming ``operation`` and the keys (with their
    slots) when they do not all share one hash slot. No-op on a single server.
    No Redis work (slots are computed locally)."""
    if not is_cluster(database):
        return
    key_list = list(keys)
    slots = {key_slot(key) for key in key_list}
    if len(slots) > 1:
        described = ", ".join(f"{key!r} (slot {key_slot(key)})" for key in key_list)
        raise CrossSlotError(
            f"{operation} needs its keys in one Redis Cluster hash slot, got {described}; "
            "give them a common hash tag, e.g. '{tag}:a' and '{tag}:b'"
        )


# -- URLs -------------------------------------------------------------------------------------


def _upper(word: Any) -> str:
    if isinstance(word, (bytes, bytearray, memoryview)):
        return bytes(word).decode("latin-1").upper()
    return str(word).upper()


# Commands whose keys follow a count argument at this position (the destination, if any,
# comes first): redis-py would ask the server for their keys (COMMAND GETKEYS).
_NUMKEYS_AT = {
    "ZUNIONSTORE": 2, "ZINTERSTORE": 2, "ZDIFFSTORE": 2,
    "ZUNION": 1, "ZINTER": 1, "ZDIFF": 1, "ZINTERCARD": 1, "SINTERCARD": 1,
}  # fmt: skip


def command_keys(args: Sequence[Any]) -> list[Any] | None:
    """The keys of a command whose key positions depend on its arguments (XREAD,
    XREADGROUP, ZUNIONSTORE, ...), read locally; None for other commands. Lets the cluster
    client route them without the extra ``COMMAND GETKEYS`` round trip redis-py would send."""
    name = _upper(args[0])
    if name in ("XREAD", "XREADGROUP"):
        words = [_upper(a) if isinstance(a, (str, bytes)) else "" for a in args]
        if "STREAMS" not in words:
            return None
        rest = list(args[words.index("STREAMS") + 1 :])
        return rest[: len(rest) // 2]
    position = _NUMKEYS_AT.get(name)
    if position is None or len(args) <= position:
        return None
    try:
        count = int(args[position])
    except (TypeError, ValueError):
        return None
    keys = list(args[position + 1 : position + 1 + count])
    if position == 2:
        keys.insert(0, args[1])
    return keys
