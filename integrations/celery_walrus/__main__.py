"""``python -m celery_walrus --app proj locks ...``: the ``celery walrus`` commands standalone."""

from __future__ import annotations

from .cli import main

__all__: list[str] = []

if __name__ == "__main__":  # pragma: no cover - exercised through a subprocess in the tests
    main(prog_name="python -m celery_walrus")
