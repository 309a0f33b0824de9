"""Registering walrus models: option checks, a custom AdminSite, permissions creation."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.contrib.admin import AdminSite
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_migrate

from django_walrus import admin as walrus_admin
from django_walrus.conf import AliasDatabase, get_database
from tests.support.django_test_models import Article, Device, Plain
from walrus.models import Model, TextField


@pytest.fixture
def site() -> AdminSite:
    return AdminSite(name="walrus_test_site")


@pytest.mark.backends("resp2", reason="registration only: no Redis work")
def test_register_forms(site: AdminSite) -> None:
    walrus_admin.register(Plain, site=site)
    assert walrus_admin.registry_for(site).admin_for(Plain).slug == "plain"

    @walrus_admin.register(Device, site=site)
    class DeviceAdmin(walrus_admin.WalrusModelAdmin):
        list_display = ("owner",)

    assert type(walrus_admin.registry_for(site).admin_for(Device)) is DeviceAdmin
    with pytest.raises(walrus_admin.AlreadyRegistered, match="Plain is already registered"):
        walrus_admin.register(Plain, site=site)
    walrus_admin.unregister(Plain, site=site)
    with pytest.raises(walrus_admin.NotRegistered):
        walrus_admin.unregister(Plain, site=site)
    with pytest.raises(TypeError, match="walrus Model"):
        walrus_admin.register(dict, site=site)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="at least one"):
        walrus_admin.register(site=site)


@pytest.mark.backends("resp2", reason="registration only: no Redis work")
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"list_filter": ("score",)}, r"list_filter .*'score' is not an indexed field"),
        ({"list_filter": (("status",),)}, r"list_filter .*entries are field names"),
        ({"search_fields": ("score",)}, r"search_fields .*'score' is not an indexed field"),
        ({"search_fields": ("^stars",)}, r"search_fields .*needs an indexed TextField"),
        ({"list_display": ("nope",)}, r"list_display .*'nope'"),
        ({"fields": ("tags",)}, r"fields .*'tags' is not a stored field"),
        ({"readonly_fields": ("nope",)}, r"readonly_fields"),
        ({"list_per_page": 0}, r"list_per_page"),
        ({"ordering": "-nope"}, r"ordering"),
        ({"slug": "Bad Slug"}, r"slug"),
    ],
)
def test_bad_options_are_refused_at_registration(
    site: AdminSite, options: dict[str, Any], message: str
) -> None:
    admin_class = type("BadAdmin", (walrus_admin.WalrusModelAdmin,), options)
    with pytest.raises(ImproperlyConfigured, match=message):
        walrus_admin.register(Article, admin_class=admin_class, site=site)
    assert not walrus_admin.registry_for(site).is_registered(Article)


@pytest.mark.backends("resp2", reason="registration only: no Redis work")
def test_failed_replacement_keeps_the_old_registration(site: AdminSite) -> None:
    decorate = walrus_admin.register(Article, site=site)
    with pytest.raises(ImproperlyConfigured):
        decorate(type("Bad", (walrus_admin.WalrusModelAdmin,), {"list_filter": ("score",)}))
    assert type(walrus_admin.registry_for(site).admin_for(Article)) is walrus_admin.WalrusModelAdmin


@pytest.mark.backends("resp2", reason="registration only: no Redis work")
def test_slug_collisions(site: AdminSite) -> None:
    class Server(Model):
        __database__ = AliasDatabase()
        name = TextField()

    with pytest.raises(walrus_admin.AlreadyRegistered, match="server page"):
        walrus_admin.register(Server, site=site)
    walrus_admin.register(Plain, site=site)
    other = type("PlainAdmin", (walrus_admin.WalrusModelAdmin,), {"slug": "plain"})
    with pytest.raises(walrus_admin.AlreadyRegistered, match="taken by Plain"):
        walrus_admin.register(Device, admin_class=other, site=site)


@pytest.mark.backends("resp2", reason="registration only: no Redis work")
def test_install_on_a_custom_site(site: AdminSite) -> None:
    walrus_admin.install(site)
    walrus_admin.install(site)  # idempotent
    names = [getattr(p, "name", None) for p in site.get_urls()]
    assert names[:2] == ["walrus_index", "walrus_server"]
    assert names.count("walrus_index") == 1
    assert "index" in names  # the site's own URLs are still there


@pytest.mark.backends("resp2", reason="Django permissions only: no Redis work")
@pytest.mark.django_db
def test_create_permissions_is_idempotent_and_runs_after_migrate() -> None:
    Permission.objects.filter(content_type__app_label="django_walrus").delete()
    post_migrate.send(
        sender=apps.get_app_config("auth"), app_config=apps.get_app_config("auth"), using="default"
    )
    codenames = set(
        Permission.objects.filter(content_type__app_label="django_walrus").values_list(
            "codename", flat=True
        )
    )
    assert {
        "view_tests_article",
        "add_tests_article",
        "change_tests_article",
        "delete_tests_article",
        "view_device",
        "view_redis_server",
    } <= codenames
    count = len(codenames)
    walrus_admin.create_permissions()
    assert Permission.objects.filter(content_type__app_label="django_walrus").count() == count
    assert walrus_admin.perm_name("view", "device") == "django_walrus.view_device"
    with pytest.raises(ValueError, match="action"):
        walrus_admin.perm_name("edit", "device")


@pytest.mark.backends("resp2", reason="settings only: builds a client, sends nothing")
def test_alias_database_follows_settings(settings: Any, redis_url: str) -> None:
    assert Article.__database__ is get_database("default")
    settings.WALRUS = {"default": {"URL": redis_url.rsplit("/", 1)[0] + "/3"}}
    assert Article.__database__.connection_pool.connection_kwargs["db"] == 3
    with pytest.raises(TypeError, match="alias name"):
        AliasDatabase("")


def test_prefix_search_and_unconvertible_terms(site: AdminSite) -> None:
    from django.test import RequestFactory

    from django_walrus.admin.changelist import ChangeList

    for i, title in enumerate(["Walrus tips", "Walrus tricks", "Redis notes"]):
        Article.create(title=title, email=f"p{i}@example.com", stars=i)
    prefix_admin = type(
        "PrefixAdmin", (walrus_admin.WalrusModelAdmin,), {"search_fields": ("^title", "stars")}
    )
    model_admin = prefix_admin(Article, site)
    rows = ChangeList(RequestFactory().get("/", {"q": "Walrus t"}), model_admin).rows
    assert sorted(r.title for r in rows) == ["Walrus tips", "Walrus tricks"]
    rows = ChangeList(RequestFactory().get("/", {"q": "2"}), model_admin).rows
    assert [r.title for r in rows] == [
        "Redis notes"
    ]  # the integer field matched, no title starts with "2"
    only_stars = type(
        "StarsAdmin", (walrus_admin.WalrusModelAdmin,), {"search_fields": ("stars",)}
    )(Article, site)
    cl = ChangeList(RequestFactory().get("/", {"q": "many"}), only_stars)
    assert (
        cl.rows == [] and cl.result_count == 0 and cl.errors == []
    )  # not an int: no match, no error
