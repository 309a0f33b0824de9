"""Admin pages for the walrus models (autodiscovered; listed under /admin/walrus/)."""

from __future__ import annotations

from django_walrus import admin as walrus_admin

from .models import Comment, Link


@walrus_admin.register(Link)
class LinkAdmin(walrus_admin.WalrusModelAdmin):
    list_display = ("title", "url", "author", "votes", "created")
    search_fields = ("title", "notes")  # full-text fields: the search box ranks matches
    list_filter = ("votes", "author", "created")
    fields = ("url", "title", "notes", "author", "votes")
    readonly_fields = ("created",)
    ordering = "-votes"
    list_per_page = 25


@walrus_admin.register(Comment)
class CommentAdmin(walrus_admin.WalrusModelAdmin):
    list_display = ("__str__", "link_id", "author", "created")
    search_fields = ("body", "author")
    list_filter = ("link_id",)
    readonly_fields = ("created",)
