"""The link board's data: walrus models stored in Redis (no SQL tables, no migrations).

``AliasDatabase("default")`` follows the ``WALRUS`` setting, so the same models run on the
embedded ``memory://`` engine and on a real server.
"""

from __future__ import annotations

import datetime

from django_walrus.conf import AliasDatabase
from walrus.models import DateTimeField, IntegerField, Model, TextField


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


class Link(Model):
    """A shared link: unique URL, full-text searchable title and notes, votes."""

    __database__ = AliasDatabase("default")
    __namespace__ = "linkboard"
    url = TextField(unique=True)  # a second link to the same URL is refused
    title = TextField(fts=True)
    notes = TextField(fts=True)
    author = TextField(index=True, default="anonymous")
    votes = IntegerField(index=True, default=0)
    created = DateTimeField(index=True, default=_now)

    def __str__(self) -> str:
        return str(self.title or self.url)


class Comment(Model):
    """A comment on a link (``link_id`` is the link's primary key)."""

    __database__ = AliasDatabase("default")
    __namespace__ = "linkboard"
    link_id = IntegerField(index=True)
    author = TextField(index=True, default="anonymous")
    body = TextField(fts=True)
    created = DateTimeField(index=True, default=_now)

    def __str__(self) -> str:
        text = str(self.body or "")
        return text if len(text) <= 40 else text[:39] + "…"
