"""Views of the link board.

- ``/``: the board, with full-text search over titles and notes (``?q=``; a query the parser
  cannot read, such as ``(`` or ``"abc``, raises ``walrus.search.QueryError``: the page says
  why, with HTTP 400) and a form to add a link (``POST /links/add/``, rate-limited to 5 per
  minute per client address; a URL already on the board is refused by the model's
  ``unique=True`` field; a refused form is shown again above the board, with HTTP 400).
- ``/links/<id>/``: a link with its comments; vote and comment forms.
- ``/top/``: the ten most voted links, a page cached for 60 s in the walrus cache backend.
- ``/api/links/?q=``: JSON search, rate-limited to 10 requests per minute per client address;
  a malformed query gets HTTP 400 with ``{"error": ...}``.
- ``/maintenance/``: rebuilds the search indexes with a Celery task under a walrus lock.
Sessions live in the same cache (they count the links you added). Over a rate limit, the
HTML views answer with an HTML page saying when to retry and the API with JSON (both HTTP 429
with ``Retry-After``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from functools import wraps
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
from walrus.search import QueryError

from .forms import CommentForm, LinkForm, SearchForm
from .models import Comment, Link
from .tasks import STATUS_KEY, rebuild_search_index

ADD_RATE = "5/minute"
API_RATE = "10/minute"
BOARD_SIZE = 50
QUERY_HELP = 'Use words, "quoted phrases", AND, OR and balanced parentheses.'


def _search(query: str, limit: int) -> list[Any]:
    """Up to ``limit`` links matching ``query`` in their title or notes, best match first;
    without a query, the most voted. Raises QueryError for a query the parser cannot read."""
    if not query:
        return list(Link.query(order_by=Link.votes.desc())[:limit])
    return list(Link.query(Link.title.search(query) | Link.notes.search(query))[:limit])


def _query_problem(query: str, exc: QueryError) -> str:
    """What is wrong with ``query``, from the parser's message (which names the query too)."""
    detail = str(exc)
    quoted = f" in query {query!r}"
    return detail[: -len(quoted)] if detail.endswith(quoted) else detail


def _rate_limit_page(
    kind: str, rate: str
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Re-render the rate limiter's 429 as this site's HTML page (``kind="html"``) or JSON
    (``kind="json"``) that says when to retry, keeping its ``Retry-After`` and
    ``X-RateLimit-*`` headers. Put it above ``@rate_limited(rate, ...)``."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = view(request, *args, **kwargs)
            if response.status_code != 429 or "Retry-After" not in response:
                return response
            retry_after = int(response.get("Retry-After") or 1)
            if kind == "json":
                page: HttpResponse = JsonResponse(
                    {
                        "error": f"too many requests (limit {rate}): retry in {retry_after} s",
                        "retry_after": retry_after,
                    },
                    status=429,
                )
            else:
                retry_at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
                    seconds=retry_after
                )
                page = render(
                    request,
                    "links/too_many_requests.html",
                    {
                        "retry_after": retry_after,
                        "retry_at": retry_at,
                        "rate": rate.replace("/", " per "),
                    },
                    status=429,
                )
            for header in (
                "Retry-After",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
            ):
                if header in response:
                    page[header] = response[header]
            return page

        return wrapped

    return decorator


def _load(pk: str) -> Any:
    try:
        return Link.load(int(pk))
    except (KeyError, ValueError):
        raise Http404("No such link") from None


def _board(
    request: HttpRequest, form: LinkForm, query: str = "", search_error: str = "", status: int = 200
) -> HttpResponse:
    """The board page: the links (matching ``query`` when given), the search box and the add
    form. A query the parser refuses shows ``search_error`` above the whole board."""
    links: list[Any] | None = None
    if query and not search_error:
        try:
            links = _search(query, BOARD_SIZE)
        except QueryError as exc:
            search_error = (
                f"Your search “{query}” could not be understood: {_query_problem(query, exc)}."
            )
    if search_error:
        status = 400
    if links is None:  # no search, or one that could not run: the whole board
        links = _search("", BOARD_SIZE)
    context = {
        "links": links,
        "query": query,
        "searched": bool(query) and not search_error,
        "search_error": search_error,
        "query_help": QUERY_HELP,
        "form": form,
        "add_refused": form.is_bound and not form.is_valid(),
        "total": Link.count(),
        "added": request.session.get("added", 0),
    }
    return render(request, "links/index.html", context, status=status)


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    search = SearchForm(request.GET)
    if search.is_valid():
        return _board(request, LinkForm(), query=search.cleaned_data["q"].strip())
    error = " ".join(str(e) for errors in search.errors.values() for e in errors)
    return _board(
        request,
        LinkForm(),
        query=request.GET.get("q", "")[:200],
        search_error=f"Your search could not be used: {error}",
    )


@require_POST
@_rate_limit_page("html", ADD_RATE)
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
    # The board again, as on the page the form was sent from, with the form's errors.
    return _board(request, form, status=400)


@require_http_methods(["GET", "POST"])
def link_detail(request: HttpRequest, pk: str) -> HttpResponse:
    link = _load(pk)
    form = CommentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        Comment.create(
            link_id=link.get_id(),
            author=form.cleaned_data["author"] or "anonymous",
            body=form.cleaned_data["body"],
        )
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
    return render(
        request, "links/top.html", {"links": links, "rendered": rendered, "renders": renders}
    )


@require_GET
@_rate_limit_page("json", API_RATE)
@rate_limited(API_RATE, group="linkboard-api")
def api_links(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    try:
        rows = _search(query, 20)
    except QueryError as exc:
        return JsonResponse(
            {
                "query": query,
                "error": f"malformed search query: {_query_problem(query, exc)}",
                "help": QUERY_HELP,
            },
            status=400,
        )
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
                request,
                f"Search index rebuilt: {status['rows']} rows, "
                f"{status['repaired']} entries repaired.",
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
