"""Keyspace tools shared by the framework commands: scan, count and delete by pattern.

Everything uses SCAN (never KEYS) and deletes with UNLINK in batches, so a large keyspace is
walked without blocking the server. Cost: one round trip per SCAN page plus one per batch.

On Redis Cluster (a ``ClusterDatabase``) every primary is scanned, and each UNLINK batch is
sent as one UNLINK per hash slot in one pipeline (one round trip per node), so no command
ever mixes slots.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from redis.exceptions import ResponseError

from .calls import Call, call
from .cluster import is_cluster
from .utils import decode

if TYPE_CHECKING:  # pragma: no cover
    from .database import Database

__all__ = [
    "ScanPages",
    "delete_matching",
    "escape_glob",
    "iter_matching",
    "prefix_counts",
    "prefix_memory",
    "server_summary",
    "unlink_keys",
]

_GLOB_SPECIAL = frozenset("\\*?[]")


class ScanPages:
    """The pages of ``SCAN MATCH pattern COUNT count`` as steps (``walrus.steps``), for the
    sync and asyncio clients alike: ``keys = yield from pages.next()`` is one page's keys
    (1 round trip), None once the scan is done. On Redis Cluster the first SCAN reaches every
    primary, then each node's cursor is followed on that node, as redis-py's ``scan_iter``
    does. No Redis work until driven."""

    def __init__(self, database: Any, pattern: Any, count: int, **options: Any) -> None:
        self._database = database
        self._cluster = is_cluster(database)
        # options: more SCAN options for redis-py's scan(), e.g. _type="zset"
        self._options: dict[str, Any] = {"match": pattern, "count": count, **options}
        self._cursors: dict[Any, Any] = {None: 0}  # node name (None: the first SCAN) -> cursor
        self._nodes: dict[Any, Any] = {}

    def next(self) -> Generator[Call, Any, list[Any] | None]:
        """Steps of the next page: its keys (1 round trip when driven), or None when every
        cursor is done (no Redis work)."""
        if not self._cursors:
            return None
        name, cursor = next(iter(self._cursors.items()))
        options = dict(self._options)
        if name is not None:
            options["target_nodes"] = self._nodes[name]
        next_cursor, keys = yield call.scan(cursor=cursor, **options)
        if not self._cluster:
            self._cursors = {None: next_cursor} if next_cursor else {}
        elif name is None:  # the first page of every node: a cursor per node
            self._cursors = {node: c for node, c in next_cursor.items() if c != 0}
            get_node = self._database.get_node
            self._nodes = {node: get_node(node_name=node) for node in self._cursors}
        elif next_cursor[name]:
            self._cursors[name] = next_cursor[name]
        else:
            del self._cursors[name]
        return list(keys)


def escape_glob(text: str) -> str:
    """Escape glob metacharacters so ``text`` matches literally in SCAN MATCH. No Redis work."""
    return "".join("\\" + ch if ch in _GLOB_SPECIAL else ch for ch in text)


def _checked(patterns: Iterable[str]) -> list[str]:
    checked = list(patterns)
    for pattern in checked:
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"key pattern must be a non-empty string, got {pattern!r}")
    return checked


def iter_matching(database: Database, patterns: Iterable[str], batch: int = 500) -> Iterator[bytes]:
    """Keys matching any of the glob ``patterns`` (each key once). Patterns are checked up front. 1
    round trip per SCAN page (of ``batch`` keys) and per pattern, as the iterator is consumed."""
    return _scan(database, _checked(patterns), batch)


def _scan(database: Database, patterns: list[str], batch: int) -> Iterator[bytes]:
    seen: set[bytes] = set()
    for pattern in patterns:
        for key in database.scan_iter(match=pattern, count=batch):
            if key not in seen:
                seen.add(key)
                yield key


def delete_matching(
    database: Database,
    patterns: Iterable[str],
    batch: int = 500,
    dry_run: bool = False,
    on_progress: Callable[[int], Any] | None = None,
) -> int:
    """Delete (UNLINK) every key matching any pattern; returns how many were (or would be) deleted.

    ``on_progress(n)`` is called after each batch with the running total.
    Cost: 1 round trip per SCAN page (of ``batch`` keys) and per pattern, plus 1 UNLINK per batch.
    """
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    total = 0
    chunk: list[bytes] = []

    def flush() -> None:
        nonlocal total, chunk
        if not chunk:
            return
        total += len(chunk) if dry_run else unlink_keys(database, chunk)
        chunk = []
        if on_progress is not None:
            on_progress(total)

    for key in iter_matching(database, list(patterns), batch):
        chunk.append(key)
        if len(chunk) >= batch:
            flush()
    flush()
    return total


def unlink_keys(database: Database, keys: list[Any]) -> int:
    """UNLINK ``keys``; returns how many existed. One round trip on one server; on a cluster,
    one UNLINK per hash slot, pipelined (one round trip per node)."""
    if not keys:
        return 0
    if not is_cluster(database):
        return int(database.unlink(*keys))
    by_slot: dict[int, list[Any]] = {}
    for key in keys:
        by_slot.setdefault(int(database.keyslot(key)), []).append(key)  # type: ignore[attr-defined]
    pipe = database.pipeline(transaction=False)
    for group in by_slot.values():
        pipe.execute_command("UNLINK", *group)  # a cluster pipeline's unlink() takes one key
    return sum(int(count) for count in pipe.execute())


def prefix_counts(
    database: Database, separators: str = ":|.", limit: int | None = None, batch: int = 1000
) -> dict[str, int]:
    """Count keys by their first segment (up to the first separator character).

    ``limit`` stops after that many keys (a sample of a large keyspace).
    1 round trip per SCAN page (of ``batch`` keys).
    """
    counts: Counter[str] = Counter()
    for seen, key in enumerate(database.scan_iter(count=batch), 1):
        text = decode(key) if isinstance(key, bytes) else str(key)
        cut = min((i for i in (text.find(s) for s in separators) if i >= 0), default=-1)
        counts[text[: cut + 1] if cut >= 0 else text] += 1
        if limit is not None and seen >= limit:
            break
    return dict(counts.most_common())


def prefix_memory(
    database: Database,
    separators: str = ":|.",
    limit: int | None = None,
    per_prefix: int = 20,
    batch: int = 1000,
) -> dict[str, tuple[int, int | None]]:
    """``{prefix: (keys, estimated bytes)}``: keys counted as ``prefix_counts`` does, memory
    estimated from ``MEMORY USAGE`` of at most ``per_prefix`` keys of each prefix (the mean
    times the count; None where the server has no MEMORY USAGE, e.g. ``memory://``).

    Cost: the SCAN pages, plus one pipelined round trip for the samples (one per node on a
    cluster). ``limit`` bounds the keys scanned, as in ``prefix_counts``."""
    counts: Counter[str] = Counter()
    samples: dict[str, list[Any]] = {}
    for seen, key in enumerate(database.scan_iter(count=batch), 1):
        text = decode(key) if isinstance(key, bytes) else str(key)
        cut = min((i for i in (text.find(s) for s in separators) if i >= 0), default=-1)
        prefix = text[: cut + 1] if cut >= 0 else text
        counts[prefix] += 1
        chosen = samples.setdefault(prefix, [])
        if len(chosen) < per_prefix:
            chosen.append(key)
        if limit is not None and seen >= limit:
            break
    sizes: dict[str, int | None] = {}
    order = [(prefix, key) for prefix, keys in samples.items() for key in keys]
    replies: list[Any] = []
    if order:
        pipe = database.pipeline(transaction=False)
        for _, key in order:
            pipe.execute_command("MEMORY USAGE", key)
        try:
            replies = pipe.execute(raise_on_error=False)  # an error per key where unsupported
        except ResponseError:
            replies = [None] * len(order)
    totals: dict[str, list[int]] = {}
    for (prefix, _), reply in zip(order, replies, strict=True):
        if isinstance(reply, int):
            totals.setdefault(prefix, []).append(reply)
    for prefix, count in counts.items():
        measured = totals.get(prefix)
        sizes[prefix] = round(sum(measured) / len(measured) * count) if measured else None
    return {prefix: (count, sizes[prefix]) for prefix, count in counts.most_common()}


def server_summary(database: Database) -> dict[str, Any]:
    """A small INFO digest: version, mode, memory, clients, uptime, keys of this DB
    (1 round trip)."""
    if database.is_embedded:
        # The embedded engine has no INFO; report what it can.
        from .embedded import EMBEDDED_VERSION

        return {
            "redis_version": EMBEDDED_VERSION,
            "mode": "embedded (memory://)",
            "uptime_seconds": None,
            "connected_clients": None,
            "used_memory_human": None,
            "db": database.connection_pool.connection_kwargs.get("db", 0),
            "keys": int(database.dbsize()),
            "expires": None,
        }
    if is_cluster(database):
        primaries = database.get_primaries()  # type: ignore[attr-defined]
        info = database.info(target_nodes=primaries[0])
        return {
            "redis_version": info.get("redis_version"),
            "mode": f"cluster ({len(primaries)} primaries)",
            "uptime_seconds": info.get("uptime_in_seconds"),
            "connected_clients": info.get("connected_clients"),
            "used_memory_human": info.get("used_memory_human"),
            "db": 0,
            "keys": sum(int(database.dbsize(target_nodes=node)) for node in primaries),
            "expires": None,
        }
    info = database.info()
    db_index = database.connection_pool.connection_kwargs.get("db", 0)
    keyspace = info.get(f"db{db_index}", {})
    return {
        "redis_version": info.get("redis_version"),
        "mode": info.get("redis_mode", "standalone"),
        "uptime_seconds": info.get("uptime_in_seconds"),
        "connected_clients": info.get("connected_clients"),
        "used_memory_human": info.get("used_memory_human"),
        "db": db_index,
        "keys": keyspace.get("keys", 0) if isinstance(keyspace, dict) else 0,
        "expires": keyspace.get("expires", 0) if isinstance(keyspace, dict) else 0,
    }
