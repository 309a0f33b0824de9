"""Walrus admin pages through the test client, on every backend: permissions, list
(columns, search, filters, ordering, pagination), detail with TTL, add/edit/delete."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import redis
from django.contrib.auth.models import Permission, User
from django.test import Client

from django_walrus.admin import create_permissions
from tests.support.django_test_models import Article, Device

pytestmark = pytest.mark.django_db

LIST = "/admin/walrus/tests_article/"


def _user(name: str, *perms: str, staff: bool = True, superuser: bool = False) -> Client:
    create_permissions()
    if superuser:
        user = User.objects.create_superuser(name, f"{name}@example.com", "pw")
    else:
        user = User.objects.create_user(name, f"{name}@example.com", "pw", is_staff=staff)
    for perm in perms:
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label="django_walrus", codename=perm)
        )
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def root() -> Client:
    return _user("root", superuser=True)


def _articles(count: int) -> list[Any]:
    rows = []
    for i in range(count):
        rows.append(
            Article.create(
                title=f"Title {i:02d}",
                body="walrus and redis" if i % 2 else "python snake",
                status="live" if i % 3 == 0 else "draft",
                stars=i,
                published=i % 2 == 0,
                email=f"a{i}@example.com",
                created=datetime.datetime(2024, 1, 1 + i),
            )
        )
    return rows


def _snapshot(raw: redis.Redis) -> dict[bytes, Any]:
    """Every key with its type and content (to prove a refused write changed nothing)."""
    state: dict[bytes, Any] = {}
    for key in raw.scan_iter(count=1000):
        kind = raw.type(key)
        if kind == b"hash":
            state[key] = raw.hgetall(key)
        elif kind == b"set":
            state[key] = raw.smembers(key)
        elif kind == b"zset":
            state[key] = raw.zrange(key, 0, -1, withscores=True)
        else:
            state[key] = kind
    return state


def _titles(response: Any) -> list[str]:
    import re

    return re.findall(
        r'<th class="field-first"><a href="[^"]+">([^<]*)</a></th>', response.content.decode()
    )


# -- permissions ----------------------------------------------------------------------------


def test_admin_index_lists_walrus_models_for_superuser(root: Client) -> None:
    page = root.get("/admin/").content.decode()
    assert "Walrus (Redis)" in page
    assert 'href="/admin/walrus/tests_article/"' in page
    assert 'href="/admin/walrus/tests_article/add/"' in page
    assert 'href="/admin/walrus/device/"' in page
    walrus_index = root.get("/admin/walrus/")
    assert walrus_index.status_code == 200
    assert 'href="/admin/walrus/server/"' in walrus_index.content.decode()


def _all_pages(pk: Any) -> list[str]:
    return [
        "/admin/walrus/",
        "/admin/walrus/server/",
        LIST,
        f"{LIST}add/",
        f"{LIST}{pk}/",
        f"{LIST}{pk}/change/",
        f"{LIST}{pk}/delete/",
    ]


def test_staff_without_permission_gets_403_everywhere(raw: redis.Redis) -> None:
    article = _articles(1)[0]
    client = _user("nobody")
    before = _snapshot(raw)
    for url in _all_pages(article._id):
        assert client.get(url).status_code == 403, url
        assert (
            client.post(url, {"title": "x", "post": "yes", "email": "n@example.com"}).status_code
            == 403
        ), url
    assert _snapshot(raw) == before
    assert "Walrus (Redis)" not in client.get("/admin/").content.decode()


def test_anonymous_and_non_staff_are_sent_to_login() -> None:
    article = _articles(1)[0]
    anonymous = Client()
    member = _user("member", "view_tests_article", "view_redis_server", staff=False)
    for url in _all_pages(article._id):
        for client in (anonymous, member):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/")


def test_view_permission_allows_reading_only(raw: redis.Redis) -> None:
    article = _articles(1)[0]
    client = _user("viewer", "view_tests_article")
    assert client.get(LIST).status_code == 200
    detail = client.get(f"{LIST}{article._id}/")
    assert detail.status_code == 200
    assert f"{LIST}{article._id}/change/" not in detail.content.decode()  # no change link
    before = _snapshot(raw)
    for url in (f"{LIST}add/", f"{LIST}{article._id}/change/", f"{LIST}{article._id}/delete/"):
        assert client.get(url).status_code == 403
        assert client.post(url, {"title": "changed", "post": "yes"}).status_code == 403
    assert _snapshot(raw) == before
    assert client.get("/admin/walrus/server/").status_code == 403
    assert client.get("/admin/walrus/device/").status_code == 403
    index = client.get("/admin/").content.decode()
    assert 'href="/admin/walrus/tests_article/"' in index
    assert "/admin/walrus/device/" not in index
    assert "/admin/walrus/tests_article/add/" not in index


def test_model_permissions_grant_their_pages_only() -> None:
    article = _articles(1)[0]
    editor = _user("editor", "change_tests_article", "view_redis_server")
    assert editor.get(LIST).status_code == 200  # change implies view
    assert editor.get(f"{LIST}{article._id}/change/").status_code == 200
    assert editor.get(f"{LIST}add/").status_code == 403
    assert editor.get(f"{LIST}{article._id}/delete/").status_code == 403
    assert editor.get("/admin/walrus/server/").status_code == 200
    deleter = _user("deleter", "delete_tests_article")
    assert deleter.get(f"{LIST}{article._id}/delete/").status_code == 200
    assert deleter.get(LIST).status_code == 403


# -- list ------------------------------------------------------------------------------------


@pytest.mark.redis_only(reason="counts row reads in INFO commandstats: memory:// has no INFO")
def test_changelist_columns_and_pagination(root: Client, raw: redis.Redis) -> None:
    _articles(12)

    def row_reads() -> int:  # HGETALL from the client or HMGET inside the query script
        stats = raw.info("commandstats")
        return sum(
            stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("hgetall", "hmget")
        )

    before = row_reads()
    page1 = root.get(LIST)
    assert row_reads() - before == 5  # only the page's rows were read
    text = page1.content.decode()
    assert _titles(page1) == [f"Title {i:02d}" for i in range(5)]
    for header in ("Title", "Status", "Stars", "Published", "Created", "Rating"):
        assert f">{header}<" in text
    assert "12 articles" in text
    assert '<span class="this-page">1</span>' in text
    assert 'href="?p=3"' in text
    assert _titles(root.get(LIST + "?p=3")) == ["Title 10", "Title 11"]
    assert _titles(root.get(LIST + "?p=99")) == ["Title 10", "Title 11"]  # clamped to the last page
    assert "<td>***</td>" in root.get(LIST + "?p=1&o=stars").content.decode()  # admin method column


def test_changelist_ordering(root: Client) -> None:
    _articles(6)
    assert _titles(root.get(LIST + "?o=-stars")) == [f"Title {i:02d}" for i in (5, 4, 3, 2, 1)]
    assert _titles(root.get(LIST + "?o=-nonsense")) == [f"Title {i:02d}" for i in range(5)]


def test_full_text_search(root: Client) -> None:
    _articles(8)
    response = root.get(LIST + "?q=walrus")
    assert sorted(_titles(response)) == [f"Title {i:02d}" for i in (1, 3, 5, 7)]
    assert "4 results" in response.content.decode()
    assert "8 total" in response.content.decode()
    assert _titles(root.get(LIST + "?q=walrus+AND+python")) == []
    bad = root.get(LIST + "?q=%22walrus")  # an unterminated quote
    assert bad.status_code == 200
    assert "Search:" in bad.content.decode()
    assert _titles(bad) == []


def test_equality_search_without_fts(root: Client) -> None:
    Device.create(serial="A-1", owner="ada", port=80)
    Device.create(serial="B-2", owner="bob", port=443)
    Device.create(serial="C-3", owner="ada", port=8080)
    assert sorted(_titles(root.get("/admin/walrus/device/?q=ada"))) == ["A-1", "C-3"]
    assert _titles(root.get("/admin/walrus/device/?q=443")) == ["B-2"]  # the integer field
    assert _titles(root.get("/admin/walrus/device/?q=B-2")) == ["B-2"]  # the primary key
    assert _titles(root.get("/admin/walrus/device/?q=nobody")) == []


def test_filters(root: Client) -> None:
    _articles(9)
    assert _titles(root.get(LIST + "?published__exact=1&o=stars")) == [
        f"Title {i:02d}" for i in (0, 2, 4, 6, 8)
    ]
    assert _titles(root.get(LIST + "?status__exact=live")) == [f"Title {i:02d}" for i in (0, 3, 6)]
    assert _titles(root.get(LIST + "?stars__gte=3&stars__lte=5")) == [
        f"Title {i:02d}" for i in (3, 4, 5)
    ]
    assert _titles(root.get(LIST + "?title__exact=Title+07")) == ["Title 07"]
    combined = root.get(LIST + "?status__exact=draft&published__exact=0&q=walrus")
    assert _titles(combined) == [f"Title {i:02d}" for i in (1, 5, 7)]
    assert "Clear all filters" in combined.content.decode()
    bad = root.get(LIST + "?stars__gte=many")
    assert "Filter stars:" in bad.content.decode()
    assert _titles(bad) == []
    assert "is not one of the choices" in root.get(LIST + "?status__exact=gone").content.decode()


# -- detail, add, change, delete ---------------------------------------------------------------


def test_detail_shows_fields_ttl_and_containers(root: Client, raw: redis.Redis) -> None:
    article = _articles(1)[0]
    article.tags.add("redis", "django")
    article.history.extend(["created", "edited"])
    page = root.get(f"{LIST}{article._id}/").content.decode()
    assert "Title 00" in page and "a0@example.com" in page
    assert "no expiry" in page
    assert "tests|article:id.1" in page
    assert "Tags (SetField, 2 items)" in page and "django" in page  # labelled like the fields
    assert "History (ListField, 2 items)" in page and "edited" in page
    raw.pexpire(article.get_hash_id(), 90_000)
    page = root.get(f"{LIST}{article._id}/").content.decode()
    assert "no expiry" not in page
    assert any(f"{s}." in page for s in range(85, 91))
    assert root.get(f"{LIST}999/").status_code == 404
    assert root.get("/admin/walrus/nothing/").status_code == 404


def test_add_creates_row(root: Client) -> None:
    form = root.get(f"{LIST}add/").content.decode()
    assert 'name="stars"' in form and 'value="0"' in form  # default as initial value
    assert 'name="_id"' not in form and 'name="created"' not in form
    response = root.post(
        f"{LIST}add/",
        {
            "title": "New",
            "body": "fresh walrus",
            "status": "live",
            "stars": "4",
            "published": "true",
            "score": "2.5",
            "email": "new@example.com",
            "extra": '{"a": [1, 2]}',
        },
    )
    assert response.status_code == 302
    article = Article.get(Article.email == "new@example.com")
    assert response["Location"] == f"{LIST}{article._id}/"
    assert (article.title, article.stars, article.published, article.score, article.extra) == (
        "New",
        4,
        True,
        2.5,
        {"a": [1, 2]},
    )
    assert Article.get(Article.body.search("fresh"))._id == article._id
    assert Article.check_indexes() == []


def test_add_with_invalid_data_writes_nothing(root: Client, raw: redis.Redis) -> None:
    _articles(2)
    before = _snapshot(raw)
    response = root.post(
        f"{LIST}add/",
        {"title": "Bad", "stars": "many", "score": "x", "email": "z@example.com", "extra": "{"},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"stars", "score", "extra"}
    assert "Please correct the errors below." in response.content.decode()
    # walrus's own validation: an integer beyond what an indexed field stores exactly
    response = root.post(
        f"{LIST}add/", {"title": "Big", "stars": str(2**60), "email": "big@example.com"}
    )
    assert response.status_code == 200
    assert "stars" in response.context["form"].errors
    # a taken unique value: refused by the atomic write, shown on the field
    response = root.post(f"{LIST}add/", {"title": "Dup", "email": "a1@example.com"})
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert _snapshot(raw) == before


def test_add_with_text_primary_key(root: Client) -> None:
    missing = root.post("/admin/walrus/device/add/", {"owner": "ada", "port": "22"})
    assert missing.status_code == 200
    assert "serial" in missing.context["form"].errors
    assert Device.count() == 0
    created = root.post(
        "/admin/walrus/device/add/", {"serial": "X/9", "owner": "ada", "port": "22"}
    )
    assert created.status_code == 302
    assert created["Location"] == "/admin/walrus/device/X_2F9/"
    assert root.get(created["Location"]).status_code == 200
    assert Device.load("X/9").port == 22


def test_change_updates_row_and_indexes(root: Client) -> None:
    article = _articles(3)[1]
    form = root.get(f"{LIST}{article._id}/change/")
    assert form.status_code == 200
    page = form.content.decode()
    assert 'value="Title 01"' in page
    assert (
        'name="_id"' not in page and 'name="created"' not in page
    )  # pk and readonly shown, not edited
    data = {
        "title": "Renamed",
        "body": "now about python",
        "status": "live",
        "stars": "9",
        "published": "false",
        "email": "a1@example.com",
        "created": "2030-01-01 00:00:00",
    }
    response = root.post(f"{LIST}{article._id}/change/", {**data, "_continue": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}{article._id}/change/"
    fresh = Article.load(article._id)
    assert (fresh.title, fresh.stars, fresh.status) == ("Renamed", 9, "live")
    assert fresh.created == datetime.datetime(2024, 1, 2)  # read-only: unchanged
    assert [a._id for a in Article.query(Article.stars == 9)] == [article._id]
    assert [a._id for a in Article.query(Article.body.search("python"))][:3].count(article._id) == 1
    assert Article.check_indexes() == []


def test_change_with_invalid_data_writes_nothing(root: Client, raw: redis.Redis) -> None:
    article = _articles(2)[0]
    before = _snapshot(raw)
    response = root.post(
        f"{LIST}{article._id}/change/", {"title": "X", "stars": "1.5", "email": "a0@example.com"}
    )
    assert response.status_code == 200
    assert "stars" in response.context["form"].errors
    taken = root.post(
        f"{LIST}{article._id}/change/", {"title": "X", "stars": "1", "email": "a1@example.com"}
    )
    assert taken.status_code == 200
    assert "email" in taken.context["form"].errors
    assert _snapshot(raw) == before


def test_delete_with_confirmation(root: Client, raw: redis.Redis) -> None:
    articles = _articles(3)
    target = articles[1]
    target.tags.add("x")
    confirm = root.get(f"{LIST}{target._id}/delete/")
    assert confirm.status_code == 200
    assert "Are you sure" in confirm.content.decode()
    assert (
        root.post(f"{LIST}{target._id}/delete/", {}).status_code == 200
    )  # not confirmed: nothing deleted
    assert Article.count() == 3
    done = root.post(f"{LIST}{target._id}/delete/", {"post": "yes"})
    assert done.status_code == 302 and done["Location"] == LIST
    assert Article.count() == 2
    with pytest.raises(KeyError):
        Article.load(target._id)
    assert not raw.exists(target.tags.key)
    assert Article.check_indexes() == []
    assert "was deleted successfully" in root.get(LIST).content.decode()


def test_server_page(root: Client, raw: redis.Redis, backend: str) -> None:
    from walrus.embedded import EMBEDDED_VERSION

    _articles(2)
    raw.set("app:thing", 1)
    page = root.get("/admin/walrus/server/").content.decode()
    if backend == "memory":  # no INFO there: the version the engine emulates, and its mode
        assert "embedded (memory://)" in page
        version = EMBEDDED_VERSION
    else:
        version = raw.info()["redis_version"]
    assert "redis_version" in page and version in page
    assert "<code>app:</code></td><td>1</td>" in page
    assert "<code>tests|</code>" in page
    assert ">Articles</a></th><td>2 rows</td>" in page
    assert root.get("/admin/walrus/server/?alias=nope").status_code == 404


def test_uuid_primary_key_generated_on_add(root: Client) -> None:
    from tests.support.django_test_models import Token

    form = root.get("/admin/walrus/token/add/").content.decode()
    assert "Leave empty to generate one." in form
    response = root.post("/admin/walrus/token/add/", {"label": "ci", "active": "true"})
    assert response.status_code == 302
    token = Token.get(Token.label == "ci")
    assert response["Location"] == f"/admin/walrus/token/{token.key}/"
    assert str(token.key) in root.get(response["Location"]).content.decode()
    bad = root.post("/admin/walrus/token/add/", {"key": "not-a-uuid", "label": "x"})
    assert "key" in bad.context["form"].errors
    assert Token.count() == 1
    assert root.get("/admin/walrus/token/not-a-uuid/").status_code == 404
    assert _titles(root.get("/admin/walrus/token/?active__exact=1")) == [str(token.key)]
