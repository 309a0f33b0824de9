"""Optional limpyd extras: :mod:`limpyd.contrib.related` and :mod:`limpyd.contrib.database`."""

from __future__ import annotations

__all__: list[str] = []
