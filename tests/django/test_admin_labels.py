"""Field labels of the walrus admin pages: one spelling on the list, detail and form pages
("ID" for the implicit ``_id`` key, capitalised names elsewhere), never a raw ``_id:``."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.admin import site
from django.contrib.auth.models import User
from django.test import Client

from django_walrus.admin import introspect, registry_for
from tests.support.django_test_models import Article, Device
from walrus import Database
from walrus.models import IntegerField, Model, TextField

pytestmark = pytest.mark.django_db


@pytest.fixture
def root() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


def labels(html: str) -> list[str]:
    return re.findall(r"<label[^>]*>([^<]*)</label>", html)


@pytest.mark.backends("resp2", reason="labels only: no Redis work")
def test_label_spelling() -> None:
    assert introspect.label(Article, "_id") == "ID"
    assert introspect.label(Article, "title") == "Title"
    assert introspect.label(Device, "serial") == "Serial"
    assert introspect.label(Article, "created") == "Created"

    class Entry(Model):
        __database__ = Database.from_url("memory://admin-labels")
        link_id = IntegerField(index=True)
        _note = TextField()

    assert introspect.label(Entry, "_id") == "ID"
    assert introspect.label(Entry, "link_id") == "Link id"
    assert introspect.label(Entry, "_note") == "Note"


def test_detail_and_change_pages_use_the_same_labels(root: Client) -> None:
    article = Article.create(
        title="Labels", body="walrus", email="l@example.com", created=datetime.datetime(2024, 1, 1)
    )
    pk = article.get_id()
    detail = root.get(f"/admin/walrus/tests_article/{pk}/").content.decode()
    shown = labels(detail)
    assert "ID:" in shown and "Title:" in shown and "Created:" in shown, shown
    assert not [text for text in shown if text[:1].islower() or text.startswith("_")], shown
    change = root.get(f"/admin/walrus/tests_article/{pk}/change/").content.decode()
    form_labels = labels(change)
    assert "ID:" in form_labels and "Title:" in form_labels and "Created:" in form_labels, (
        form_labels
    )
    assert not [text for text in form_labels if text[:1].islower() or text.startswith("_")], (
        form_labels
    )
    # The list's column headers spell them the same way.
    admin = registry_for(site).admin_for(Article)
    assert [admin.column_label(c) for c in ("_id", "title", "created")] == [
        "ID",
        "Title",
        "Created",
    ]
