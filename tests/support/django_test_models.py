"""Walrus models of the django_walrus tests (their database follows settings.WALRUS)."""

from __future__ import annotations

from django_walrus.conf import AliasDatabase
from walrus.models import (
    BooleanField,
    DateTimeField,
    FloatField,
    IntegerField,
    JSONField,
    ListField,
    Model,
    SetField,
    TextField,
    UUIDField,
)


class Article(Model):
    """Full-text searchable, with filters of every kind."""

    __database__ = AliasDatabase("default")
    __namespace__ = "tests"
    title = TextField(index=True)
    body = TextField(fts=True)
    status = TextField(index=True, default="draft")
    stars = IntegerField(index=True, default=0)
    published = BooleanField(index=True, default=False)
    score = FloatField()
    created = DateTimeField(index=True)
    email = TextField(unique=True)
    extra = JSONField()
    tags = SetField()
    history = ListField()

    def __str__(self) -> str:
        return f"{self.title}"


class Device(Model):
    """No full-text field (search is equality on indexed fields); a text primary key."""

    __database__ = AliasDatabase("default")
    serial = TextField(primary_key=True)
    owner = TextField(index=True)
    port = IntegerField(index=True)
    token = UUIDField()


class Plain(Model):
    """Not registered in the admin: walrus_reindex --model reaches it."""

    __database__ = AliasDatabase("default")
    name = TextField(index=True)


class Token(Model):
    """A UUID primary key, generated when the add form leaves it empty."""

    __database__ = AliasDatabase("default")
    key = UUIDField(primary_key=True)
    label = TextField(index=True)
    active = BooleanField(index=True)
