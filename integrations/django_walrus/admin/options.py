"""``WalrusModelAdmin``: how one walrus Model shows in the Django admin.

::

    from django_walrus import admin as walrus_admin

    @walrus_admin.register(Note)
    class NoteAdmin(walrus_admin.WalrusModelAdmin):
        list_display = ("title", "stars", "created")
        search_fields = ("body",)            # fts field: full-text; indexed: equality
        list_filter = ("published", "stars", ("status", ["draft", "live"]))
        list_per_page = 50
        readonly_fields = ("created",)

Permissions: an active superuser may do everything; another staff user needs the Django
permission ``django_walrus.<action>_<slug>`` (action: view, add, change, delete; change
implies view), created by ``create_permissions()`` on a content type of app label
``django_walrus`` (see ``django_walrus.admin.permissions``). Override the ``has_*_permission``
methods for another rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from walrus.models import BooleanField, Field, Model, TextField

from . import introspect
from .forms import WalrusModelForm, make_form_class

if TYPE_CHECKING:  # pragma: no cover
    from django.contrib.admin import AdminSite

__all__ = ["FilterSpec", "WalrusModelAdmin"]


class FilterSpec:
    """One ``list_filter`` entry: a field and its kind (``choices``, ``range``, ``exact``)."""

    def __init__(self, model_field: Field, choices: Sequence[Any] | None) -> None:
        self.field = model_field
        self.name = model_field.name
        if isinstance(model_field, BooleanField):
            self.kind = "choices"
            self.choices: list[tuple[str, Any]] = [("Yes", True), ("No", False)]
        elif choices is not None:
            self.kind = "choices"
            self.choices = [(str(c), c) for c in choices]
        elif introspect.is_range_field(model_field):
            self.kind = "range"
            self.choices = []
        else:
            self.kind = "exact"
            self.choices = []
        self.title = model_field.name.replace("_", " ")


class WalrusModelAdmin:
    """Options of one registered walrus Model (a subset of Django's ``ModelAdmin``).

    ``list_display``: field names, ``"__str__"``, names of methods of this class or
    callables taking the row (default: every stored field). ``search_fields``: indexed
    field names; a full-text field is searched through its index, another field by
    equality, ``"^name"`` by prefix (indexed text). Default: the full-text fields, else
    every indexed field. ``list_filter``: indexed field names, or ``(name, choices)``.
    ``fields``: editable fields of the forms (default: every stored field but an
    auto-increment key); ``readonly_fields``: shown, never edited. ``ordering``: a field
    name, ``-`` for descending (default: primary key).
    """

    list_display: Sequence[str | Callable[[Any], Any]] = ()
    search_fields: Sequence[str] | None = None
    list_filter: Sequence[str | tuple[str, Sequence[Any]]] = ()
    list_per_page: int = 100
    readonly_fields: Sequence[str] = ()
    fields: Sequence[str] | None = None
    ordering: str | None = None
    verbose_name: str | None = None
    verbose_name_plural: str | None = None
    slug: str | None = None
    empty_value_display = "-"
    container_preview = 20
    change_list_template = "django_walrus/admin/change_list.html"
    change_form_template = "django_walrus/admin/change_form.html"
    detail_template = "django_walrus/admin/detail.html"
    delete_confirmation_template = "django_walrus/admin/delete_confirmation.html"

    def __init__(self, model: type[Model], admin_site: AdminSite) -> None:
        if not introspect.is_model(model):
            raise TypeError(f"walrus admin registers walrus Model classes, got {model!r}")
        self.model = model
        self.admin_site = admin_site
        name = model.__name__
        self.slug = self.slug or self._default_slug(model)
        if not re.fullmatch(r"[a-z0-9_]+", self.slug):
            raise ImproperlyConfigured(
                f"{type(self).__name__}.slug must match [a-z0-9_]+, got {self.slug!r}"
            )
        self.verbose_name = (
            self.verbose_name or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).lower()
        )
        self.verbose_name_plural = self.verbose_name_plural or f"{self.verbose_name}s"
        self.filter_specs: list[FilterSpec] = []
        self._check()

    @staticmethod
    def _default_slug(model: type[Model]) -> str:
        namespace = getattr(model, "__namespace__", None)
        raw = f"{namespace}_{model.__name__}" if namespace else model.__name__
        return re.sub(r"[^a-z0-9_]+", "_", raw.lower())

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.model.__name__}>"

    # -- configuration checks (at registration) --------------------------------------------

    def _fail(self, option: str, message: str) -> ImproperlyConfigured:
        return ImproperlyConfigured(
            f"{type(self).__name__}.{option} (for {self.model.__name__}): {message}"
        )

    def _check(self) -> None:
        """Refuse options that name no suitable field (ImproperlyConfigured naming the option);
        build ``filter_specs``."""
        model = self.model
        stored = introspect.stored_fields(model)
        indexed = set(introspect.indexed_fields(model))
        self._check_list_display(stored, set(introspect.fields(model)))
        self._check_search_fields(indexed)
        self.filter_specs = self._filter_specs(indexed)
        self._check_stored_options(stored)

    def _check_list_display(self, stored: Sequence[str], known: set[str]) -> None:
        for item in self.get_list_display():
            if callable(item) or item == "__str__" or item in stored or item in known:
                continue
            if isinstance(item, str) and callable(getattr(self, item, None)):
                continue
            raise self._fail(
                "list_display",
                f"{item!r} is not a field, '__str__', a method of the admin or a callable",
            )

    def _check_search_fields(self, indexed: set[str]) -> None:
        model = self.model
        for search in self.get_search_fields():
            target = search[1:] if search.startswith("^") else search
            if target not in indexed:
                raise self._fail(
                    "search_fields", f"{target!r} is not an indexed field (index=True or fts=True)"
                )
            if search.startswith("^") and not isinstance(
                introspect.field(model, target), TextField
            ):
                raise self._fail(
                    "search_fields",
                    f"'^' (prefix search) needs an indexed TextField, not {target!r}",
                )

    def _filter_specs(self, indexed: set[str]) -> list[FilterSpec]:
        """One ``FilterSpec`` per ``list_filter`` entry: a field name or ``(name, choices)``."""
        specs: list[FilterSpec] = []
        for entry in self.list_filter:
            choices = None
            if isinstance(entry, (tuple, list)):
                if len(entry) != 2 or not isinstance(entry[0], str):
                    raise self._fail(
                        "list_filter", f"entries are field names or (name, choices), got {entry!r}"
                    )
                name, choices = entry[0], list(entry[1])
            else:
                name = entry
            if name not in indexed:
                raise self._fail("list_filter", f"{name!r} is not an indexed field")
            specs.append(FilterSpec(introspect.field(self.model, name), choices))
        return specs

    def _check_stored_options(self, stored: Sequence[str]) -> None:
        """``fields``, ``readonly_fields`` and ``ordering`` name stored fields;
        ``list_per_page`` is a positive int."""
        model = self.model
        for option in ("fields", "readonly_fields"):
            for name in getattr(self, option) or ():
                if name not in stored:
                    raise self._fail(option, f"{name!r} is not a stored field of {model.__name__}")
        if not isinstance(self.list_per_page, int) or self.list_per_page < 1:
            raise self._fail("list_per_page", f"must be a positive int, got {self.list_per_page!r}")
        if self.ordering is not None and self.ordering.lstrip("-") not in stored:
            raise self._fail("ordering", f"{self.ordering!r} is not a stored field")

    # -- options --------------------------------------------------------------------------

    def get_list_display(self) -> list[str | Callable[[Any], Any]]:
        """No Redis work."""
        return list(self.list_display) or list(introspect.stored_fields(self.model))

    def get_search_fields(self) -> list[str]:
        """No Redis work."""
        if self.search_fields is not None:
            return list(self.search_fields)
        return introspect.fts_fields(self.model) or introspect.indexed_fields(self.model)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        """No Redis work."""
        readonly = list(self.readonly_fields)
        pk = introspect.pk_name(self.model)
        if obj is not None and pk not in readonly:
            readonly.insert(0, pk)  # the primary key names the row: never edited
        return readonly

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        """No Redis work."""
        if self.fields is not None:
            names = list(self.fields)
        else:
            names = introspect.stored_fields(self.model)
            if introspect.is_auto_pk(self.model):
                names = names[1:]
        if obj is not None:
            pk = introspect.pk_name(self.model)
            if pk not in names:
                names.insert(0, pk)
        return names

    def get_form_class(
        self, request: HttpRequest, obj: Model | None = None
    ) -> type[WalrusModelForm]:
        """No Redis work."""
        readonly = set(self.get_readonly_fields(request, obj))
        editable = [n for n in self.get_fields(request, obj) if n not in readonly]
        if obj is None and introspect.is_auto_pk(self.model):
            editable = [n for n in editable if n != introspect.pk_name(self.model)]
        return make_form_class(self.model, editable, adding=obj is None)

    def column_label(self, item: str | Callable[[Any], Any]) -> str:
        """No Redis work."""
        if callable(item):
            return str(getattr(item, "short_description", item.__name__.replace("_", " ")))
        if item == "__str__":
            return self.verbose_name or ""
        method = getattr(self, item, None)
        if item not in introspect.fields(self.model) and callable(method):
            return str(getattr(method, "short_description", item.replace("_", " ")))
        return introspect.label(self.model, item)

    def column_value(self, obj: Model, item: str | Callable[[Any], Any]) -> Any:
        """The value of one change-list column for row ``obj``. No Redis work for a stored field
        (the row is loaded); a callable column costs what it does."""
        if callable(item):
            return item(obj)
        if item == "__str__":
            return str(obj)
        if item in introspect.fields(self.model):
            return getattr(obj, item)
        return getattr(self, item)(obj)

    # -- permissions ----------------------------------------------------------------------

    def _has(self, request: HttpRequest, action: str) -> bool:
        from .permissions import perm_name

        user = request.user
        return bool(
            user.is_active and user.is_staff and user.has_perm(perm_name(action, self.slug or ""))
        )

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        """No Redis work."""
        return self._has(request, "view") or self._has(request, "change")

    def has_add_permission(self, request: HttpRequest) -> bool:
        """No Redis work."""
        return self._has(request, "add")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        """No Redis work."""
        return self._has(request, "change")

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        """No Redis work."""
        return self._has(request, "delete")

    def has_module_permission(self, request: HttpRequest) -> bool:
        """No Redis work."""
        return self.has_view_permission(request) or self.has_add_permission(request)
