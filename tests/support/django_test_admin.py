"""Admin registrations of the django_walrus tests (imported by django_test_urls.py)."""

from __future__ import annotations

from typing import Any

from django_walrus import admin as walrus_admin
from tests.support.django_test_models import Article, Device, Token


@walrus_admin.register(Article)
class ArticleAdmin(walrus_admin.WalrusModelAdmin):
    list_display = ("title", "status", "stars", "published", "created", "star_text")
    list_filter = ("published", ("status", ["draft", "live"]), "stars", "title")
    list_per_page = 5
    readonly_fields = ("created",)

    def star_text(self, obj: Any) -> str:
        return "*" * int(obj.stars or 0)

    star_text.short_description = "Rating"  # type: ignore[attr-defined]


walrus_admin.register(Device, Token)
