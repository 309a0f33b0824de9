"""Views of the link board.

- ``/``: the board, with full-text search over titles and notes (``?q=``) and a form to add a
  link (``POST /links/add/``, rate-limited to 5 per minute per client address; a URL already
  on the board is refused by the model's ``unique=True`` field).
- ``/links/<id>/``: a link with its comments; vote and comment forms.
- ``/top/``: the ten most voted links, a page cached for 60 s in the walrus cache backend.
- ``/api/links/?q=``: JSON search, rate-limited to 10 requests per minute per client address.
- ``/maintenance/``: rebuilds the search indexes with a Celery task under a walrus lock.
Sessions live in the same cache (they count the links you added).
"""

from __future__ import annotations

import datetime
from typing import Any

from celery.result import EagerResult
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import cache_page
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from django_walrus import get_database
from django_walrus.ratelimit import rate_limited
from walrus.models import UniqueError

from .forms import CommentForm, LinkForm, SearchForm
from .models import Comment, Link
from .tasks import STATUS_KEY, rebuild_search_index

ADD_RATE = "5/minute"
API_RATE = "10/minute"


def _search(query: str) -> Any:
    """Links matching ``query`` in their title or notes, best match first."""
    return Link.query(Link.title.search(query) | Link.notes.search(query))


def _load(pk: str) -> Any:
    try:
        return Link.load(int(pk))
    except (KeyError, ValueError):
        raise Http404("No such link") from None


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    search = SearchForm(request.GET)
    query = search.cleaned_data["q"].strip() if search.is_valid() else ""
    links = list(_search(query)[:50]) if query else list(Link.query(order_by=Link.votes.desc())[:50])
    return render(
        request,
        "links/index.html",
        {
            "links": links,
            "query": query,
            "search": search,
            "form": LinkForm(),
            "total": Link.count(),
            "added": request.session.get("added", 0),
        },
    )


@require_POST
@rate_limited(ADD_RATE, methods=["POST"], group="linkboard-add")
def add_link(request: HttpRequest) -> HttpResponse:
    form = LinkForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            link = Link.create(
                url=data["url"],
                title=data["title"],
                notes=data["notes"] or None,
                author=data["author"] or "anonymous",
            )
        except UniqueError:
            form.add_error("url", "This URL is already on the board.")
        else:
            request.session["added"] = request.session.get("added", 0) + 1
            messages.success(request, f"Added “{link.title}”.")
            return redirect("link-detail", pk=link.get_id())
    context = {"links": [], "query": "", "search": SearchForm(), "form": form, "total": Link.count(),
               "added": request.session.get("added", 0)}
    return render(request, "links/index.html", context, status=400)


@require_http_methods(["GET", "POST"])
def link_detail(request: HttpRequest, pk: str) -> HttpResponse:
    link = _load(pk)
    form = CommentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        Comment.create(link_id=link.get_id(), author=form.cleaned_data["author"] or "anonymous",
                       body=form.cleaned_data["body"])
        messages.success(request, "Comment added.")
        return redirect("link-detail", pk=link.get_id())
    comments = list(Comment.query(Comment.link_id == link.get_id(), order_by=Comment.created))
    return render(request, "links/detail.html", {"link": link, "comments": comments, "form": form})


@require_POST
def vote(request: HttpRequest, pk: str) -> HttpResponse:
    link = _load(pk)
    link.incr(Link.votes)  # atomic, the votes index moves with it
    return redirect("link-detail", pk=link.get_id())


@require_GET
@cache_page(60)
def top(request: HttpRequest) -> HttpResponse:
    """Cached for 60 s: ``rendered`` and the render count stay the same on cache hits."""
    renders = get_database().incr("linkboard:top-renders")
    links = list(Link.query(order_by=Link.votes.desc())[:10])
    rendered = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds")
    return render(request, "links/top.html", {"links": links, "rendered": rendered, "renders": renders})


@require_GET
@rate_limited(API_RATE, group="linkboard-api")
def api_links(request: HttpRequest) -> JsonResponse:
    query = request.GET.get("q", "").strip()
    rows = _search(query)[:20] if query else Link.query(order_by=Link.votes.desc())[:20]
    return JsonResponse(
        {
            "query": query,
            "links": [
                {"id": link.get_id(), "url": link.url, "title": link.title, "votes": link.votes}
                for link in rows
            ],
        }
    )


@require_http_methods(["GET", "POST"])
def maintenance(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        # lock="both": a rebuild already queued or running makes delay() return its result.
        result = rebuild_search_index.delay()
        if isinstance(result, EagerResult):
            status = result.get()
            messages.success(
                request, f"Search index rebuilt: {status['rows']} rows, {status['repaired']} entries repaired."
            )
        elif settings.CELERY_TASK_ALWAYS_EAGER:
            messages.warning(request, f"A rebuild is already running (task {result.id}).")
        else:
            messages.info(request, f"Rebuild queued as task {result.id}; a worker runs it.")
        return redirect("maintenance")
    status = {
        key.decode(): value.decode() for key, value in get_database().hgetall(STATUS_KEY).items()
    }
    lock = rebuild_search_index.lock_for()
    return render(
        request,
        "links/maintenance.html",
        {
            "status": status,
            "lock_held": lock.locked(),
            "lock_key": f"lock:{rebuild_search_index.lock_name_for()}",
            "eager": settings.CELERY_TASK_ALWAYS_EAGER,
        },
    )
