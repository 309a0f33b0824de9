"""The per-site registry of walrus models and its hooks into a Django ``AdminSite``.

``install(site)`` (done for ``django.contrib.admin.site`` when the app is ready) wraps the
site's ``get_urls`` so the walrus pages live under ``<admin>/walrus/`` in the admin's URL
namespace, and its ``get_app_list`` so the index page and the navigation sidebar list the
walrus models. URLs dispatch through the registry at request time, so models registered
after the URLconf was loaded still show.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

# sites re-exports them on every series; they moved to admin.exceptions only in Django 5.0.
from django.contrib.admin.sites import AlreadyRegistered, NotRegistered
from django.http import Http404, HttpRequest
from django.urls import NoReverseMatch, reverse

from walrus.models import Model

from .options import WalrusModelAdmin

__all__ = [
    "APP_LABEL",
    "AlreadyRegistered",
    "NotRegistered",
    "WalrusRegistry",
    "install",
    "load_registrations",
    "register",
    "registry_for",
    "unregister",
]

APP_LABEL = "walrus"  # app label of the walrus section in the admin's app list
"""App label of the walrus section in the admin's app list."""
_ATTRIBUTE = "_walrus_registry"


def _default_site() -> Any:
    from django.contrib import admin

    return admin.site


class WalrusRegistry:
    """Walrus models registered on one admin site, by slug."""

    def __init__(self, site: Any) -> None:
        self.site = site
        self._by_slug: dict[str, WalrusModelAdmin] = {}
        self.name = "Walrus (Redis)"

    def admins(self) -> list[WalrusModelAdmin]:
        """No Redis work."""
        return sorted(self._by_slug.values(), key=lambda a: (a.verbose_name_plural or "").lower())

    def get(self, slug: str) -> WalrusModelAdmin:
        """No Redis work."""
        try:
            return self._by_slug[slug]
        except KeyError:
            raise Http404(f"no walrus model {slug!r} is registered") from None

    def admin_for(self, model: type[Model]) -> WalrusModelAdmin:
        """No Redis work."""
        for model_admin in self._by_slug.values():
            if model_admin.model is model:
                return model_admin
        raise NotRegistered(f"the walrus model {model.__name__} is not registered")

    def is_registered(self, model: type[Model]) -> bool:
        """No Redis work."""
        return any(a.model is model for a in self._by_slug.values())

    def register(
        self, model: type[Model], admin_class: type[WalrusModelAdmin] | None = None
    ) -> WalrusModelAdmin:
        """No Redis work."""
        admin_class = admin_class or WalrusModelAdmin
        if not (isinstance(admin_class, type) and issubclass(admin_class, WalrusModelAdmin)):
            raise TypeError(f"admin_class must subclass WalrusModelAdmin, got {admin_class!r}")
        model_admin = admin_class(model, self.site)
        if model_admin.slug == "server":
            raise AlreadyRegistered(
                f"walrus admin slug 'server' of {model.__name__} is taken by the server page;"
                " set WalrusModelAdmin.slug"
            )
        if self.is_registered(model):
            raise AlreadyRegistered(f"the walrus model {model.__name__} is already registered")
        other = self._by_slug.get(model_admin.slug or "")
        if other is not None:
            raise AlreadyRegistered(
                f"walrus admin slug {model_admin.slug!r} of {model.__name__} is taken by"
                f" {other.model.__name__}; set WalrusModelAdmin.slug"
            )
        self._by_slug[model_admin.slug or ""] = model_admin
        return model_admin

    def replace(self, model: type[Model], admin_class: type[WalrusModelAdmin]) -> WalrusModelAdmin:
        """Register ``model`` again with ``admin_class``; the old registration stays when
        the new options are refused. No Redis work."""
        old = self.admin_for(model)
        del self._by_slug[old.slug or ""]
        try:
            return self.register(model, admin_class)
        except Exception:
            self._by_slug[old.slug or ""] = old
            raise

    def unregister(self, model: type[Model]) -> None:
        """No Redis work."""
        model_admin = self.admin_for(model)
        del self._by_slug[model_admin.slug or ""]

    # -- what the admin index shows -------------------------------------------------------

    def can_view_server(self, request: HttpRequest) -> bool:
        """No Redis work."""
        from .permissions import APP_LABEL as PERM_APP
        from .permissions import SERVER_CODENAME

        user = request.user
        return bool(
            user.is_active and user.is_staff and user.has_perm(f"{PERM_APP}.{SERVER_CODENAME}")
        )

    def can_view_locks(self, request: HttpRequest, release: bool = False) -> bool:
        """Whether the user may see the locks page (``release``: and force locks free). No Redis
        work."""
        from .permissions import APP_LABEL as PERM_APP
        from .permissions import LOCKS_RELEASE_CODENAME, LOCKS_VIEW_CODENAME

        user = request.user
        wanted = [f"{PERM_APP}.{LOCKS_VIEW_CODENAME}"]
        if release:
            wanted.append(f"{PERM_APP}.{LOCKS_RELEASE_CODENAME}")
        return bool(user.is_active and user.is_staff and user.has_perms(wanted))

    def app_dict(self, request: HttpRequest) -> dict[str, Any] | None:
        """This site's walrus section in the format of ``AdminSite.get_app_list`` (None
        when the user may see none of it). No Redis work."""
        models = []
        current_app = getattr(self.site, "name", "admin")
        for model_admin in self.admins():
            if not model_admin.has_module_permission(request):
                continue
            can_view = model_admin.has_view_permission(request)
            can_change = model_admin.has_change_permission(request)
            models.append(
                {
                    "model": None,
                    "name": (model_admin.verbose_name_plural or "").capitalize(),
                    "object_name": model_admin.model.__name__,
                    "perms": {
                        "add": model_admin.has_add_permission(request),
                        "change": can_change,
                        "delete": model_admin.has_delete_permission(request),
                        "view": can_view,
                    },
                    "admin_url": reverse(
                        "admin:walrus_changelist", args=[model_admin.slug], current_app=current_app
                    )
                    if can_view
                    else None,
                    "add_url": reverse(
                        "admin:walrus_add", args=[model_admin.slug], current_app=current_app
                    )
                    if model_admin.has_add_permission(request)
                    else None,
                    "view_only": can_view and not can_change,
                }
            )
        if not models and not self.can_view_server(request) and not self.can_view_locks(request):
            return None
        return {
            "name": self.name,
            "app_label": APP_LABEL,
            "app_url": reverse("admin:walrus_index", current_app=current_app),
            "has_module_perms": True,
            "models": models,
        }


def registry_for(site: Any = None) -> WalrusRegistry:
    """The walrus registry of ``site`` (default ``django.contrib.admin.site``), installing
    the hooks on first use. No Redis work."""
    site = _default_site() if site is None else site
    registry: WalrusRegistry | None = getattr(site, _ATTRIBUTE, None)
    if registry is None:
        install(site)
        registry = getattr(site, _ATTRIBUTE)
    return registry


def load_registrations() -> None:
    """Make sure the project's walrus registrations ran: ``admin.py`` modules are imported by
    the admin's autodiscover; loading the root URLconf imports the modules it uses (as the
    ``check`` command does). A broken URLconf is left for the URL checks to report.
    No Redis work."""
    from django.urls import get_resolver

    try:
        _ = get_resolver().url_patterns  # a cached property: reading it imports the URLconf
    except Exception:  # whatever a broken URLconf raises: the URL checks report it
        pass


def install(site: Any = None) -> None:
    """Hook the walrus pages into an ``AdminSite`` (idempotent). Done automatically for
    ``django.contrib.admin.site``; call it for your own AdminSite instances. No Redis work."""
    site = _default_site() if site is None else site
    if getattr(site, _ATTRIBUTE, None) is not None:
        return
    registry = WalrusRegistry(site)
    setattr(site, _ATTRIBUTE, registry)
    original_get_urls: Callable[[], list[Any]] = site.get_urls
    original_get_app_list: Callable[..., list[dict[str, Any]]] = site.get_app_list

    def get_urls(self: Any) -> list[Any]:
        from .views import walrus_urls

        return walrus_urls(site, registry) + list(original_get_urls())

    def get_app_list(
        self: Any, request: HttpRequest, app_label: str | None = None
    ) -> list[dict[str, Any]]:
        app_list = list(original_get_app_list(request, app_label))
        if app_label is None:
            try:
                section = registry.app_dict(request)
            except NoReverseMatch:  # the site's URLs were loaded before install()
                section = None
            if section is not None:
                app_list.append(section)
                app_list.sort(key=lambda app: str(app["name"]).lower())
        return app_list

    site.get_urls = types.MethodType(get_urls, site)
    site.get_app_list = types.MethodType(get_app_list, site)


def register(
    *models: type[Model], admin_class: type[WalrusModelAdmin] | None = None, site: Any = None
) -> Callable[[type[WalrusModelAdmin]], type[WalrusModelAdmin]]:
    """Show walrus ``models`` in the admin. Use as ``register(Note)``, as
    ``register(Note, admin_class=NoteAdmin)`` or as a class decorator::

        @register(Note)
        class NoteAdmin(WalrusModelAdmin): ...

    ``AlreadyRegistered`` for a model registered twice; ``ImproperlyConfigured`` naming
    the option for a bad admin option (e.g. filtering on a field without an index).
    No Redis work."""
    if not models:
        raise TypeError("register() takes at least one walrus Model class")
    registry = registry_for(site)
    for model in models:
        registry.register(model, admin_class)

    def decorate(cls: type[WalrusModelAdmin]) -> type[WalrusModelAdmin]:
        for model in models:
            registry.replace(model, cls)
        return cls

    return decorate


def unregister(*models: type[Model], site: Any = None) -> None:
    """Remove walrus ``models`` from the admin (``NotRegistered`` when one is not there). No Redis
    work."""
    registry = registry_for(site)
    for model in models:
        registry.unregister(model)
