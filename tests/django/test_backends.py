"""The backends of this folder (tests/django/conftest.py) are wired as a settings file would
wire them: the alias' Database and a cache with its own LOCATION both speak the backend's
protocol to the real server, or run on the embedded engine."""

from __future__ import annotations

from django.core.cache import caches

from django_walrus import get_database


def test_the_alias_and_the_cache_location_use_the_backend(backend: str, walrus_url: str) -> None:
    databases = [get_database(), caches["default"].database, caches["prefixed"].database]
    assert databases[0] is databases[1]  # the alias cache shares the alias' pool
    if backend == "memory":
        assert walrus_url.startswith("memory://")
        assert all(database.is_embedded for database in databases)
    else:
        assert not any(database.is_embedded for database in databases)
        # What the server saw on each connection: RESP3 only where the settings asked for it.
        assert {database.client_info()["resp"] for database in databases} == {
            "3" if backend == "resp3" else "2"
        }
    databases[0].set("app:seen", 1)
    assert databases[2].get("app:seen") == b"1"  # one data set behind both
