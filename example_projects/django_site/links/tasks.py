"""Celery tasks of the link board, locked with celery_walrus.

``rebuild_search_index`` may take a while on a big board, and two runs at once would only
repeat work: ``lock="both"`` keeps at most one queued-or-running per board, and a second
request while one is pending gets the first one's result.
"""

from __future__ import annotations

import datetime
from typing import Any

from celery import shared_task

from celery_walrus import WalrusLockedTask
from django_walrus import get_database

from .models import Comment, Link

STATUS_KEY = "linkboard:maintenance"


@shared_task(
    base=WalrusLockedTask, lock="both", unique_on=[], bind=True, name="links.rebuild_search_index"
)
def rebuild_search_index(self: Any) -> dict[str, Any]:
    """Repair the secondary (and full-text) indexes of every walrus model of the board."""
    repaired = 0
    rows = 0
    for model in (Link, Comment):
        repaired += len(model.rebuild_indexes())
        rows += model.count()
    status = {
        "task_id": str(self.request.id),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "rows": str(rows),
        "repaired": str(repaired),
    }
    get_database().hset(STATUS_KEY, mapping=status)
    return status
