"""Task lock renewal: the core's ``walrus.lock_renewal.LockRenewer`` (``Lock.keep_alive``),
re-exported under the name the Celery integration has always used."""

from __future__ import annotations

from walrus.lock_renewal import LockRenewer

__all__ = ["LockRenewer"]
