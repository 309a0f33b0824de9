"""placeholder"""
from __future__ import annotations

from ..collection import Collection

__all__ = ["ExtendedCollectionManager"]

SORTED_SCORE = "sorted_score"
DEFAULT_STORE_TTL = 60


class ExtendedCollectionManager(Collection):
    pass
