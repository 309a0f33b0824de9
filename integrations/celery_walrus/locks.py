"""Inspect and free the task locks of a Celery app: list them, release one, clear many.

Task locks live at ``lock:<walrus_lock_prefix><task name>:<digest>``; the owner token is the
id of the task holding the lock. Listing uses SCAN (never KEYS) and one pipelined
GET + PTTL per page of keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from walrus import Database
from walrus.lock import Lock, held_locks
from walrus.lock import clear_locks as walrus_clear_locks

from .config import get_database, get_settings

__all__ = ["LockInfo", "clear_locks", "list_locks", "release_lock"]

_PAGE = 500


@dataclass(frozen=True)
class LockInfo:
    """One held lock: ``name``, ``owner`` token, ``task_id`` holding it (the token: task
    locks use the task id), ``task`` name (None for custom keys that do not follow the
    layout), ``ttl`` seconds left (None: no expiry) and the Redis ``key`` it is stored at
    (``lock:<name>``; ``lock:{<name>}`` on a cluster)."""

    name: str
    owner: str
    task_id: str
    task: str | None
    ttl: float | None
    key: str


def _resolve(app: Any, database: Database | None, prefix: str | None) -> tuple[Database, str]:
    if database is None:
        if app is None:
            raise TypeError("pass a Celery app or a walrus Database")
        database = get_database(app)
    if prefix is None:
        prefix = get_settings(app).prefix if app is not None else "celery_walrus:"
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
    return database, prefix


def list_locks(
    app: Any = None,
    *,
    task: str | None = None,
    database: Database | None = None,
    prefix: str | None = None,
) -> list[LockInfo]:
    """Locks held under the app's prefix (or only ``task``'s), sorted by name.

    Cost: as ``walrus.lock.held_locks``: one round trip per SCAN page plus one pipelined
    GET + PTTL per page of 500 keys.
    """
    database, prefix = _resolve(app, database, prefix)
    if task is not None and (not isinstance(task, str) or not task):
        raise ValueError(f"task must be a non-empty task name, got {task!r}")
    found = []
    for held in held_locks(database, prefix + (f"{task}:" if task else ""), page=_PAGE):
        task_name = held.name[len(prefix) :].rpartition(":")[0] or None
        found.append(LockInfo(held.name, held.owner, held.owner, task_name, held.ttl, held.key))
    return found


def release_lock(
    name: str,
    app: Any = None,
    *,
    token: str | None = None,
    database: Database | None = None,
) -> bool:
    """Free the lock ``name`` (as ``list_locks`` shows it). With ``token``: only when that
    owner holds it (raises walrus.lock.LockNotOwned / LockExpired otherwise). Without: force
    it free whoever holds it (False when nobody did). Either way a waiter is woken.
    Cost: 1 round trip (Lua).
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"lock name must be a non-empty str, got {name!r}")
    database, _ = _resolve(app, database, "")
    if token is not None:
        return Lock(database, name, lock_id=token).release()
    return Lock(database, name).clear()


def clear_locks(
    app: Any = None,
    *,
    task: str | None = None,
    database: Database | None = None,
    prefix: str | None = None,
) -> int:
    """Force free every lock ``list_locks`` would list; returns how many were held.
    Cost: the listing's round trips plus one pipelined batch of clear scripts per 500 locks."""
    database, prefix = _resolve(app, database, prefix)
    infos = list_locks(app, task=task, database=database, prefix=prefix)
    return walrus_clear_locks(database, [info.name for info in infos], _PAGE)
