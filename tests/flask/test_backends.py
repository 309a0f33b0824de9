"""The backends of this folder (tests/flask/conftest.py) are wired as an app's config would
wire them: ``make_app``'s database speaks the backend's protocol to the real server, or runs
on the embedded engine, and ``raw_client`` sees its data."""

from __future__ import annotations

from typing import Any


def test_make_app_uses_the_backend(backend: str, make_app: Any, raw_client: Any) -> None:
    app, w = make_app()
    with app.app_context():
        database = w.db
        if backend == "memory":
            assert database.is_embedded
        else:
            assert not database.is_embedded
            # What the server saw: RESP3 only where WALRUS_CONNECTION_OPTIONS asked for it.
            assert database.client_info()["resp"] == ("3" if backend == "resp3" else "2")
        database.set("seen", 1)
    assert raw_client.get("seen") == b"1"
