"""Errors of the full-text search package."""

from __future__ import annotations

from ..exceptions import WalrusError

__all__ = ["MissingDependencyError", "QueryError"]


class QueryError(WalrusError, ValueError):
    """A search query is empty or malformed; the message says where and why."""


class MissingDependencyError(WalrusError, ImportError):
    """An optional feature (stemming, double metaphone) was enabled but its package is missing."""
