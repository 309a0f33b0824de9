"""placeholder"""
from __future__ import annotations

from typing import Any

from ..indexes import BaseIndex

__all__ = ["MultiIndexes"]


class MultiIndexes(BaseIndex):
    @classmethod
    def configure(cls, **kwargs: Any) -> type[BaseIndex]:
        return type("X", (cls,), {})

    @classmethod
    def compose(cls, *args: Any, **kwargs: Any) -> type[BaseIndex]:
        return type("X", (cls,), {})


DateIndex = DateTimeIndex = SimpleDateTimeIndex = TimeIndex = ScoredEqualIndex = MultiIndexes
_ScoredEqualIndex_RelatedIndex = EqualIndexWith = _EqualIndexWith_RelatedIndex = MultiIndexes
