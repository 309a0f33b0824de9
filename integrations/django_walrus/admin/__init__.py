"""Django admin pages for walrus Models (no database tables needed).

::

    from django_walrus import admin as walrus_admin
    from myapp.models import Note          # a walrus Model

    @walrus_admin.register(Note)
    class NoteAdmin(walrus_admin.WalrusModelAdmin):
        list_display = ("title", "stars")
        list_filter = ("stars",)

The pages live under ``<admin>/walrus/`` of ``django.contrib.admin.site`` (hooked in when the
app is ready; call ``install(site)`` for your own AdminSite and pass ``site=`` to
``register``). See ``django_walrus.admin.permissions`` for who may see what.
"""

from .options import WalrusModelAdmin
from .permissions import create_permissions, perm_name
from .registry import (
    AlreadyRegistered,
    NotRegistered,
    WalrusRegistry,
    install,
    register,
    registry_for,
    unregister,
)

__all__ = [
    "AlreadyRegistered",
    "NotRegistered",
    "WalrusModelAdmin",
    "WalrusRegistry",
    "create_permissions",
    "install",
    "perm_name",
    "register",
    "registry_for",
    "unregister",
]
