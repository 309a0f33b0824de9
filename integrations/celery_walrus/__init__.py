"""celery_walrus: Celery task locks on walrus: no duplicate enqueues, no concurrent runs,
no stuck locks.

>>> from celery_walrus import WalrusLockedTask, locked_task
>>> @app.task(base=WalrusLockedTask, lock="both", unique_on=["user_id"])
... def sync_user(user_id, full=False): ...

Importing this package has no side effects; settings are read on first use.
"""

from .config import LockSettings, get_database, get_settings, reset
from .locks import LockInfo, clear_locks, list_locks, release_lock
from .renewal import LockRenewer
from .task import TaskLocked, WalrusLockedTask, locked_task

__all__ = [
    "LockInfo",
    "LockRenewer",
    "LockSettings",
    "TaskLocked",
    "WalrusLockedTask",
    "clear_locks",
    "get_database",
    "get_settings",
    "list_locks",
    "locked_task",
    "release_lock",
    "reset",
]
