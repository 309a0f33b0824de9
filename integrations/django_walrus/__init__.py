"""django_walrus: the walrus suite as a Django app (cache backend, rate limits, admin, commands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

try:  # every module of the app needs Django: say which extra brings it, not a bare error
    import django as _django  # noqa: F401 (only checks that it is installed)
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
    if exc.name != "django":
        raise
    raise ModuleNotFoundError(
        "django_walrus needs Django: pip install '.[django]' (in a checkout of the walrus suite) "
        "or pip install 'Django>=4.2'",
        name="django",
    ) from exc

if TYPE_CHECKING:  # pragma: no cover
    from walrus import Database
    from walrus.asyncio import AsyncDatabase

__all__ = ["AliasDatabase", "get_async_database", "get_database"]


def get_database(alias: str = "default") -> Database:
    """The shared ``walrus.Database`` of a ``WALRUS`` alias (see ``django_walrus.conf``). No Redis
    work: the Database connects on first use."""
    from .conf import get_database as _get_database

    return _get_database(alias)


def get_async_database(alias: str = "default") -> AsyncDatabase:
    """The running event loop's ``walrus.asyncio.AsyncDatabase`` of a ``WALRUS`` alias (see
    ``django_walrus.conf``), for async views and tasks. No Redis work: it connects on first
    use."""
    from .conf import get_async_database as _get_async_database

    return _get_async_database(alias)


def __getattr__(name: str) -> object:
    if name == "AliasDatabase":
        from .conf import AliasDatabase

        return AliasDatabase
    raise AttributeError(f"module 'django_walrus' has no attribute {name!r}")
