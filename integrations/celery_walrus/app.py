"""``WalrusCelery``: a ``Celery`` app whose ``send_task`` honours the enqueue locks of the
tasks it knows, as ``.delay()`` and ``.apply_async()`` do.

``app.send_task("name", ...)`` publishes by name and never calls the task's
``apply_async``, so a plain Celery app skips the enqueue lock of a ``WalrusLockedTask``.
Canvas primitives (chains, groups, chords) go through ``apply_async`` of each signature and
need nothing. A task the sending app does not have registered (sent to workers of another
code base) cannot be checked: it is sent as is.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from celery import Celery

__all__ = ["WalrusCelery"]

# Set while a WalrusLockedTask publishes its own message: Celery's apply_async ends in
# app.send_task, which must then send, not route back into apply_async.
publishing: ContextVar[bool] = ContextVar("celery_walrus_publishing", default=False)


class WalrusCelery(Celery):  # type: ignore[misc]
    """``Celery`` with lock-aware ``send_task`` (use it in place of ``Celery(...)``)."""

    def send_task(self, name: str, args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        """Send task ``name``; one registered here as a ``WalrusLockedTask`` with an
        enqueue lock (``lock="enqueue"`` or ``"both"``) goes through its ``apply_async``, so
        a duplicate is refused as ``on_duplicate`` says (1 round trip for the lock)."""
        if not publishing.get():
            from .task import WalrusLockedTask

            task = self.tasks.get(name)
            if isinstance(task, WalrusLockedTask) and task._walrus_mode in ("enqueue", "both"):
                return task.apply_async(args, kwargs, **options)
        return super().send_task(name, args, kwargs, **options)
