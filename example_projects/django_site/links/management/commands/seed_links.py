"""``manage.py seed_links``: add the sample links when the board is empty."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from links.seed import seed


class Command(BaseCommand):
    help = "Add a few sample links to an empty link board."

    def handle(self, *args: Any, **options: Any) -> None:
        added = seed()
        self.stdout.write(
            f"Added {added} links." if added else "The board already has links; nothing added."
        )
