"""Django permissions for walrus models, which have no database table of their own.

The rule: an active superuser may do everything. Another active staff user needs
``django_walrus.<action>_<slug>`` (action: ``view``, ``add``, ``change``, ``delete``;
``change`` implies ``view``) for a model, and ``django_walrus.view_redis_server`` for the
server page, ``django_walrus.view_locks`` / ``django_walrus.release_locks`` for the locks
page (see who holds which lock / force one free). The permissions hang off one content type,
app label ``django_walrus``, model ``walrusmodel``; ``create_permissions()`` creates it and one
permission per registered model
and action (idempotent; it runs after ``migrate``), so they can be granted to users and
groups in the auth admin like any other.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ACTIONS",
    "APP_LABEL",
    "CONTENT_TYPE_MODEL",
    "LOCKS_RELEASE_CODENAME",
    "LOCKS_VIEW_CODENAME",
    "SERVER_CODENAME",
    "create_permissions",
    "perm_name",
]

APP_LABEL = "django_walrus"
"""App label of the permissions and of their content type."""
CONTENT_TYPE_MODEL = "walrusmodel"
"""Model name of the content type the walrus permissions hang on (walrus models have no Django
model of their own)."""
ACTIONS = ("view", "add", "change", "delete")
"""The permission actions each registered walrus model gets, as Django models do."""
SERVER_CODENAME = "view_redis_server"
"""Codename of the permission to view the admin's Redis server page."""
LOCKS_VIEW_CODENAME = "view_locks"
"""Codename of the permission to view held walrus locks."""
LOCKS_RELEASE_CODENAME = "release_locks"
"""Codename of the permission to force walrus locks free."""


def perm_name(action: str, slug: str) -> str:
    """``django_walrus.<action>_<slug>``, as ``user.has_perm`` takes it. No Redis work."""
    if action not in ACTIONS:
        raise ValueError(f"permission action must be one of {', '.join(ACTIONS)}, got {action!r}")
    return f"{APP_LABEL}.{action}_{slug}"


def create_permissions(site: Any = None, using: str = "default") -> list[Any]:
    """Create (if missing) the walrus content type and the permissions of every model
    registered on ``site`` (default: ``django.contrib.admin.site``) plus the server page's.
    Returns the Permission objects. A few database queries per model. No Redis work."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from .registry import registry_for

    content_type, _ = ContentType.objects.using(using).get_or_create(
        app_label=APP_LABEL, model=CONTENT_TYPE_MODEL
    )
    wanted = {
        SERVER_CODENAME: "Can view the Redis server page",
        LOCKS_VIEW_CODENAME: "Can view held walrus locks",
        LOCKS_RELEASE_CODENAME: "Can force walrus locks free",
    }
    for model_admin in registry_for(site).admins():
        for action in ACTIONS:
            wanted[f"{action}_{model_admin.slug}"] = (
                f"Can {action} {model_admin.verbose_name} (walrus)"
            )
    permissions = []
    for codename, name in wanted.items():
        permission, _ = Permission.objects.using(using).get_or_create(
            content_type=content_type, codename=codename, defaults={"name": name[:255]}
        )
        permissions.append(permission)
    return permissions


def create_permissions_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: runs once per migrate (when the auth app's signal comes)."""
    if getattr(sender, "name", None) != "django.contrib.auth":
        return
    from django.apps import apps

    if not (
        apps.is_installed("django.contrib.admin")
        and apps.is_installed("django.contrib.contenttypes")
    ):
        return
    from .registry import load_registrations

    load_registrations()
    create_permissions(using=using)
