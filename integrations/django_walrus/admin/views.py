"""The walrus admin pages. Each view is wrapped by ``AdminSite.admin_view`` (active staff
login required, CSRF, never cached) and checks the model admin's permissions itself
(``PermissionDenied`` -> 403)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.utils import display_for_value, quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from walrus.events import by_name, read_totals, tally
from walrus.keyspace import prefix_memory, server_summary
from walrus.lock import Lock, held_locks
from walrus.models import HashField, ListField, Model, SetField, ZSetField

from ..conf import alias_settings, get_database, safe_url, walrus_settings
from . import introspect
from .changelist import ChangeList
from .charts import bar_chart, human_bytes
from .forms import form_value
from .options import WalrusModelAdmin
from .registry import APP_LABEL, WalrusRegistry

__all__ = ["walrus_urls"]

View = Callable[..., HttpResponse]


def walrus_urls(site: Any, registry: WalrusRegistry) -> list[Any]:
    """URL patterns of the walrus pages, under ``walrus/`` in the site's namespace. No Redis
    work."""

    def wrap(view: Callable[..., HttpResponse]) -> View:
        def bound(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return view(_Page(request, site, registry), *args, **kwargs)

        bound.__name__ = view.__name__
        bound.__doc__ = view.__doc__
        return site.admin_view(bound)  # type: ignore[no-any-return]

    return [
        path("walrus/", wrap(index_view), name="walrus_index"),
        path("walrus/server/", wrap(server_view), name="walrus_server"),
        path("walrus/locks/", wrap(locks_view), name="walrus_locks"),
        path("walrus/<slug:slug>/", wrap(changelist_view), name="walrus_changelist"),
        path("walrus/<slug:slug>/add/", wrap(add_view), name="walrus_add"),
        path("walrus/<slug:slug>/<str:object_id>/change/", wrap(change_view), name="walrus_change"),
        path("walrus/<slug:slug>/<str:object_id>/delete/", wrap(delete_view), name="walrus_delete"),
        path("walrus/<slug:slug>/<str:object_id>/", wrap(detail_view), name="walrus_detail"),
    ]


class _Page:
    """The request with its site and registry, and helpers shared by the views."""

    def __init__(self, request: HttpRequest, site: Any, registry: WalrusRegistry) -> None:
        self.request = request
        self.site = site
        self.registry = registry
        self.current_app = getattr(site, "name", "admin")
        request.current_app = self.current_app

    def url(self, name: str, *args: Any) -> str:
        # Django ships no types: reverse() is Any; it returns the URL path
        return cast(str, reverse(f"admin:{name}", args=args, current_app=self.current_app))

    def context(
        self, title: str, model_admin: WalrusModelAdmin | None = None, **extra: Any
    ) -> dict[str, Any]:
        context = dict(self.site.each_context(self.request))
        context.update(
            title=title,
            app_label=APP_LABEL,
            walrus_name=self.registry.name,
            walrus_index_url=self.url("walrus_index"),
            model_admin=model_admin,
        )
        if model_admin is not None:
            context.update(
                verbose_name=model_admin.verbose_name,
                verbose_name_plural=model_admin.verbose_name_plural,
                changelist_url=self.url("walrus_changelist", model_admin.slug),
                add_url=self.url("walrus_add", model_admin.slug),
                has_view_permission=model_admin.has_view_permission(self.request),
                has_add_permission=model_admin.has_add_permission(self.request),
                has_change_permission=model_admin.has_change_permission(self.request),
                has_delete_permission=model_admin.has_delete_permission(self.request),
            )
        context.update(extra)
        return context

    def render(
        self, template: str | list[str], context: dict[str, Any], status: int = 200
    ) -> TemplateResponse:
        return TemplateResponse(self.request, template, context, status=status)

    def model_admin(self, slug: str, permission: str) -> WalrusModelAdmin:
        model_admin = self.registry.get(slug)
        allowed = getattr(model_admin, f"has_{permission}_permission")(self.request)
        if not allowed:
            raise PermissionDenied
        return model_admin

    def load(self, model_admin: WalrusModelAdmin, object_id: str) -> Model:
        try:
            return model_admin.model.load(unquote(object_id))
        except (KeyError, TypeError, ValueError):
            raise Http404(
                f"{model_admin.verbose_name} {unquote(object_id)!r} does not exist"
            ) from None

    def object_urls(self, model_admin: WalrusModelAdmin, obj: Model) -> dict[str, str]:
        pk = quote(obj.get_id())
        return {
            "detail_url": self.url("walrus_detail", model_admin.slug, pk),
            "change_url": self.url("walrus_change", model_admin.slug, pk),
            "delete_url": self.url("walrus_delete", model_admin.slug, pk),
        }


def _display(model_admin: WalrusModelAdmin, value: Any) -> Any:
    value = form_value(value)
    return display_for_value(
        value, model_admin.empty_value_display, boolean=isinstance(value, bool)
    )


def _ttl_text(pttl: int) -> str:
    if pttl == -1:
        return "no expiry"
    if pttl < 0:
        return "expired"
    seconds = pttl / 1000
    if seconds < 120:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours or days else []
    return " ".join(parts + [f"{minutes} min", f"{secs} s"])


# -- pages --------------------------------------------------------------------------------


def index_view(page: _Page) -> HttpResponse:
    """The walrus section: its models and the server page."""
    section = page.registry.app_dict(page.request)
    if section is None:
        raise PermissionDenied
    context = page.context(
        page.registry.name,
        app_list=[section],
        server_url=page.url("walrus_server")
        if page.registry.can_view_server(page.request)
        else None,
        locks_url=page.url("walrus_locks") if page.registry.can_view_locks(page.request) else None,
    )
    return page.render("django_walrus/admin/index.html", context)


def changelist_view(page: _Page, slug: str) -> HttpResponse:
    """Rows of one model: chosen columns, search, filters, ordering, one page at a time."""
    model_admin = page.model_admin(slug, "view")
    cl = ChangeList(page.request, model_admin)
    context = page.context((model_admin.verbose_name_plural or "").capitalize(), model_admin, cl=cl)
    return page.render(model_admin.change_list_template, context)


def detail_view(page: _Page, slug: str, object_id: str) -> HttpResponse:
    """One row: every stored field, its TTL (PTTL of the row hash), container previews.
    2 round trips (HGETALL, then one pipeline for the TTL and the containers)."""
    model_admin = page.model_admin(slug, "view")
    obj = page.load(model_admin, object_id)
    fields = [
        {
            "name": name,
            "label": introspect.label(model_admin.model, name),
            "value": _display(model_admin, getattr(obj, name)),
        }
        for name in introspect.stored_fields(model_admin.model)
    ]
    database = model_admin.model.__database__
    pipe = database.pipeline(transaction=False)
    pipe.pttl(obj.get_hash_id())
    containers = introspect.container_fields(model_admin.model)
    limit = model_admin.container_preview
    for name in containers:
        container = getattr(obj, name)
        field = introspect.field(model_admin.model, name)
        if isinstance(field, HashField):
            pipe.hlen(container.key)
            pipe.hscan(container.key, 0, count=limit)
        elif isinstance(field, ListField):
            pipe.llen(container.key)
            pipe.lrange(container.key, 0, limit - 1)
        elif isinstance(field, SetField):
            pipe.scard(container.key)
            pipe.sscan(container.key, 0, count=limit)
        elif isinstance(field, ZSetField):
            pipe.zcard(container.key)
            pipe.zrange(container.key, 0, limit - 1, withscores=True)
    replies = pipe.execute()
    pttl = int(replies[0])
    previews = []
    for i, name in enumerate(containers):
        size, content = replies[1 + 2 * i], replies[2 + 2 * i]
        field = introspect.field(model_admin.model, name)
        if isinstance(field, (HashField, SetField)):
            content = content[1]  # HSCAN/SSCAN reply: (cursor, items)
        if isinstance(content, dict):
            items = [f"{_text(k)}: {_text(v)}" for k, v in list(content.items())[:limit]]
        elif isinstance(field, ZSetField):
            items = [f"{_text(member)}: {score:g}" for member, score in content]
        else:
            items = [_text(m) for m in list(content)[:limit]]
        previews.append(
            {
                "name": name,
                "label": introspect.label(model_admin.model, name),
                "kind": type(introspect.field(model_admin.model, name)).__name__,
                "size": int(size),
                "items": items,
            }
        )
    context = page.context(
        str(obj),
        model_admin,
        obj=obj,
        fields=fields,
        containers=previews,
        pttl=pttl,
        ttl=_ttl_text(pttl),
        key=_text(obj.get_hash_id()),
        **page.object_urls(model_admin, obj),
    )
    return page.render(model_admin.detail_template, context)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def _form_page(page: _Page, model_admin: WalrusModelAdmin, obj: Model | None) -> HttpResponse:
    request = page.request
    form_class = model_admin.get_form_class(request, obj)
    readonly = [
        {
            "name": name,
            "label": introspect.label(model_admin.model, name),
            "value": _display(model_admin, getattr(obj, name) if obj is not None else None),
        }
        for name in model_admin.get_fields(request, obj)
        if name in model_admin.get_readonly_fields(request, obj) and obj is not None
    ]
    if request.method == "POST":
        form = form_class(request.POST, instance=obj)
        if form.is_valid():
            saved = form.save()
            if saved is not None:
                verb = "added" if obj is None else "changed"
                messages.success(
                    request,
                    f"The {model_admin.verbose_name} “{saved}” was {verb} successfully.",
                    fail_silently=True,
                )
                urls = page.object_urls(model_admin, saved)
                if "_continue" in request.POST:
                    return HttpResponseRedirect(urls["change_url"])
                if "_addanother" in request.POST:
                    return HttpResponseRedirect(page.url("walrus_add", model_admin.slug))
                return HttpResponseRedirect(urls["detail_url"])
    else:
        form = form_class(instance=obj)
    title = (
        f"Add {model_admin.verbose_name}" if obj is None else f"Change {model_admin.verbose_name}"
    )
    extra = page.object_urls(model_admin, obj) if obj is not None else {}
    context = page.context(
        title, model_admin, form=form, obj=obj, readonly=readonly, adding=obj is None, **extra
    )
    return page.render(model_admin.change_form_template, context)


def add_view(page: _Page, slug: str) -> HttpResponse:
    """A generated form; the row is written (one atomic save) only when it validates."""
    return _form_page(page, page.model_admin(slug, "add"), None)


def change_view(page: _Page, slug: str, object_id: str) -> HttpResponse:
    """Edit one row; the primary key and ``readonly_fields`` are shown, not edited."""
    model_admin = page.model_admin(slug, "change")
    return _form_page(page, model_admin, page.load(model_admin, object_id))


def delete_view(page: _Page, slug: str, object_id: str) -> HttpResponse:
    """GET: a confirmation page; POST (``post=yes``): delete the row with its index
    entries and containers (one script)."""
    model_admin = page.model_admin(slug, "delete")
    obj = page.load(model_admin, object_id)
    if page.request.method == "POST" and page.request.POST.get("post") == "yes":
        name = str(obj)
        obj.delete()
        messages.success(
            page.request,
            f"The {model_admin.verbose_name} “{name}” was deleted successfully.",
            fail_silently=True,
        )
        return HttpResponseRedirect(page.url("walrus_changelist", model_admin.slug))
    context = page.context(
        "Are you sure?", model_admin, obj=obj, **page.object_urls(model_admin, obj)
    )
    return page.render(model_admin.delete_confirmation_template, context)


def server_view(page: _Page) -> HttpResponse:
    """Read-only: the server's INFO digest, key counts per prefix (SCAN, at most
    ``WALRUS_ADMIN_SCAN_LIMIT`` keys, default 10000) and each registered model's row count."""
    if not page.registry.can_view_server(page.request):
        raise PermissionDenied
    aliases = sorted(walrus_settings())
    alias = page.request.GET.get("alias", "default")
    if alias not in aliases:
        raise Http404(f"no WALRUS alias {alias!r}")
    database = get_database(alias)
    limit = int(getattr(settings, "WALRUS_ADMIN_SCAN_LIMIT", 10000))
    summary = server_summary(database)
    stats = prefix_memory(database, limit=limit)
    counts = {prefix: keys for prefix, (keys, _) in stats.items()}
    models = []
    for model_admin in page.registry.admins():
        if model_admin.has_view_permission(page.request):
            models.append(
                {
                    "name": (model_admin.verbose_name_plural or "").capitalize(),
                    "count": model_admin.model.count(),
                    "url": page.url("walrus_changelist", model_admin.slug),
                }
            )
    context = page.context(
        "Redis server",
        alias=alias,
        aliases=[{"name": a, "url": f"?alias={a}", "current": a == alias} for a in aliases],
        url=safe_url(alias_settings(alias)["URL"]),
        summary=list(summary.items()),
        prefixes=[
            (prefix, keys, None if size is None else human_bytes(size))
            for prefix, (keys, size) in stats.items()
        ],
        sampled=sum(counts.values()) >= limit,
        scan_limit=limit,
        models=models,
        charts=_server_charts(stats, database),
        counting=tally.running,
    )
    return page.render("django_walrus/admin/server.html", context)


def _server_charts(stats: dict[str, tuple[int, int | None]], database: Any) -> list[Any]:
    """SVG charts of the server page: keys and memory per prefix (the 12 largest), the cache
    reads and rate-limit decisions every process flushed to ``walrus.events.TOTALS_KEY``
    (``WALRUS_METRICS = True``), and the locks held now. Two more round trips: HGETALL of the
    totals, SCAN of the locks."""
    top = list(stats.items())[:12]
    charts = [bar_chart("Keys per prefix", [(p, [keys]) for p, (keys, _) in top], ["keys"])]
    sized = sorted(
        ((p, size) for p, (_, size) in stats.items() if size is not None), key=lambda r: -r[1]
    )[:12]
    if sized:
        per_prefix = [(p, [float(s)]) for p, s in sized]
        charts.append(
            bar_chart("Memory per prefix (estimated)", per_prefix, ["bytes"], human_bytes)
        )
    totals = read_totals(database)
    if totals or tally.running:
        caches = by_name(totals, "cache")
        rows = [
            (name, [c.get("hit", 0), c.get("miss", 0), c.get("error", 0)])
            for name, c in sorted(caches.items())
        ]
        ratio = ", ".join(
            f"{name} {c.get('hit', 0) / max(1, c.get('hit', 0) + c.get('miss', 0)):.0%}"
            for name, c in sorted(caches.items())
        )
        charts.append(
            bar_chart(f"Cache reads (hit ratio: {ratio or '-'})", rows, ["hit", "miss", "error"])
        )
        limits = by_name(totals, "rate_limit")
        decisions = [
            (n, [c.get("allowed", 0), c.get("refused", 0)]) for n, c in sorted(limits.items())
        ]
        charts.append(bar_chart("Rate-limit decisions", decisions, ["allowed", "refused"]))
    held: dict[str, int] = {}
    for lock in held_locks(database, ""):
        head = lock.name.split(":", 1)[0]
        held[head] = held.get(head, 0) + 1
    held_rows: list[tuple[str, list[float]]] = [
        (name, [count]) for name, count in sorted(held.items())
    ]
    charts.append(bar_chart("Locks held now (by name prefix)", held_rows, ["held"]))
    return charts


def _alias(page: _Page) -> str:
    alias = page.request.GET.get("alias") or page.request.POST.get("alias") or "default"
    if alias not in walrus_settings():
        raise Http404(f"no WALRUS alias {alias!r}")
    return alias


def locks_view(page: _Page) -> HttpResponse:
    """Held walrus locks (Celery task locks included): name, owner token, time left; with
    ``release_locks`` a POST forces one free and wakes a waiter. SCAN + one pipelined page."""
    if not page.registry.can_view_locks(page.request):
        raise PermissionDenied
    alias = _alias(page)
    database = get_database(alias)
    can_release = page.registry.can_view_locks(page.request, release=True)
    if page.request.method == "POST":
        if not can_release:
            raise PermissionDenied
        name = page.request.POST.get("release", "")
        if not name:
            raise Http404("no lock named")
        if Lock(database, name).clear():
            messages.success(page.request, f"Lock “{name}” was forced free.", fail_silently=True)
        else:
            messages.warning(page.request, f"Lock “{name}” was not held.", fail_silently=True)
        return HttpResponseRedirect(f"{page.url('walrus_locks')}?alias={alias}")
    prefix = page.request.GET.get("prefix", "")
    locks = [
        {
            "name": held.name,
            "owner": held.owner,
            "ttl": _ttl_text(-1 if held.ttl is None else int(held.ttl * 1000)),
        }
        for held in held_locks(database, prefix)
    ]
    context = page.context(
        "Locks",
        alias=alias,
        aliases=[
            {"name": a, "url": f"?alias={a}", "current": a == alias}
            for a in sorted(walrus_settings())
        ],
        prefix=prefix,
        locks=locks,
        can_release=can_release,
    )
    return page.render("django_walrus/admin/locks.html", context)
