"""celery_walrus: Celery task locks on walrus: no duplicate enqueues, no concurrent runs,
no stuck locks; task rate limits shared by every worker (``walrus_rate_limit="100/m"``).

>>> from celery_walrus import WalrusLockedTask, locked_task
>>> @app.task(base=WalrusLockedTask, lock="both", unique_on=["user_id"])
... def sync_user(user_id, full=False): ...

Importing this package has no side effects; settings are read on first use.
"""

try:  # the task base and the CLI need Celery: say which extra brings it, not a bare error
    import celery as _celery  # noqa: F401 (only checks that it is installed)
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
    if exc.name != "celery":
        raise
    raise ModuleNotFoundError(
        "celery_walrus needs Celery: pip install '.[celery]' (in a checkout of the walrus suite) "
        "or pip install 'celery>=5.3'",
        name="celery",
    ) from exc

from .app import WalrusCelery
from .config import LockSettings, get_database, get_settings, reset
from .locks import LockInfo, clear_locks, list_locks, release_lock
from .ratelimit import TaskRateLimited, WalrusRateLimitedTask
from .renewal import LockRenewer
from .task import TaskLocked, WalrusLockedTask, locked_task

__all__ = [
    "LockInfo",
    "LockRenewer",
    "LockSettings",
    "TaskLocked",
    "TaskRateLimited",
    "WalrusCelery",
    "WalrusLockedTask",
    "WalrusRateLimitedTask",
    "clear_locks",
    "get_database",
    "get_settings",
    "list_locks",
    "locked_task",
    "release_lock",
    "reset",
]
