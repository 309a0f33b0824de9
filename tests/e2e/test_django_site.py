"""The Django example site (example_projects/django_site) over HTTP, on the real test server:
pages, full-text search, the unique URL, sessions and the cached page in the walrus cache,
rate limits (429), the admin pages of its walrus models, the locked Celery task (eager)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import redis

from tests.e2e.e2e_helpers import Client, Site
from walrus.search import QueryError, parse

E2E_DB = 12


def _client(site: Site) -> Client:
    return Client(site.url)


def test_pages_render(django_site: Site) -> None:
    client = _client(django_site)
    index = client.get("")
    assert index.status == 200
    assert "5 links on the board" in index.body
    assert "Redis streams as durable queues" in index.body
    detail = client.get("links/1/")
    assert detail.status == 200 and "XAUTOCLAIM saved my weekend." in detail.body
    assert client.get("links/999/").status == 404
    assert client.get("links/nope/").status == 404
    top = client.get("top/")
    assert top.status == 200 and "Top links" in top.body
    maintenance = client.get("maintenance/")
    assert maintenance.status == 200 and "Lock: free" in maintenance.body


def test_full_text_search(django_site: Site) -> None:
    client = _client(django_site)
    page = client.get("?q=streams")
    assert page.status == 200
    assert "Redis streams as durable queues" in page.body
    assert "Celery tasks guide" not in page.body
    # Notes are searched too: "clams" appears only in the walrus link's notes.
    page = client.get("?q=clams")
    assert "The walrus, a large marine mammal" in page.body
    assert "Flask application factories" not in page.body
    assert "No links match" in client.get("?q=zeppelin").body


def test_malformed_search_is_explained_not_a_server_error(django_site: Site) -> None:
    # Which of these the parser refuses is asked at test time (a lenient parser may accept "(").
    refused = [q for q in ("(", "AND", "redis AND", '"abc') if _refused(q)]
    assert refused
    client = _client(django_site)
    for query in refused:
        page = client.get("?q=" + quote(query))
        assert page.status == 400 and "could not be understood" in page.body, (query, page.status)
        assert "Redis streams as durable queues" in page.body  # the board is still there
        api = client.get("api/links/?q=" + quote(query))  # 4 at most of the API's 10 a minute
        assert api.status == 400 and "malformed search query" in api.json()["error"], (
            query,
            api.body,
        )  # type: ignore[index]
    assert "Internal Server Error" not in django_site.output()


def _refused(query: str) -> bool:
    try:
        parse(query)
    except QueryError:
        return True
    return False


def test_add_link_unique_url_and_session(
    django_site: Site, flushed_db: tuple[str, redis.Redis]
) -> None:
    client = _client(django_site)
    form = {
        "url": "https://example.com/walrus-e2e",
        "title": "Added by the e2e test",
        "notes": "pelican",
    }
    created = client.post_form("", form, action="links/add/")
    assert created.status == 200, created.body[:1000]
    assert re.search(r"/links/\d+/$", created.url)
    assert (
        "Added by the e2e test" in created.body and "Added “Added by the e2e test”." in created.body
    )
    assert "You added 1 in this session." in client.get("").body
    assert "Added by the e2e test" in client.get("?q=pelican").body
    # The same URL again: refused by the model's unique field, nothing written.
    raw = flushed_db[1]
    before = raw.dbsize()
    again = client.post_form("", {**form, "title": "Duplicate"}, action="links/add/")
    assert again.status == 400 and "This URL is already on the board." in again.body
    assert "Duplicate" not in client.get("?q=duplicate").body
    assert raw.dbsize() == before
    # The session lives in the walrus cache backend (no SQL session table is used).
    session_keys = [
        k for k in raw.scan_iter("linkboard-cache:*") if b"django.contrib.sessions" in k
    ]
    assert session_keys
    # Another client (no cookie) has its own session.
    assert "You added 0 in this session." in Client(django_site.url).get("").body


def test_vote_and_comment(django_site: Site) -> None:
    client = _client(django_site)
    before = int(re.search(r'id="votes">(\d+) vote', client.get("links/3/").body).group(1))  # type: ignore[union-attr]
    voted = client.post_form("links/3/", {}, action="links/3/vote/")
    assert voted.status == 200
    assert f'id="votes">{before + 1} votes' in voted.body
    commented = client.post_form("links/3/", {"author": "e2e", "body": "Retries are my friends."})
    assert commented.status == 200 and "Retries are my friends." in commented.body


def test_cached_page_hits(django_site: Site, flushed_db: tuple[str, redis.Redis]) -> None:
    client = _client(django_site)
    first = client.get("top/")
    second = client.get("top/")
    assert first.status == second.status == 200
    rendered = re.search(r'id="rendered">([^<]+)<', first.body).group(1)  # type: ignore[union-attr]
    assert f'id="rendered">{rendered}<' in second.body  # served from the cache, not re-rendered
    assert "max-age=60" in (second.headers.get("Cache-Control") or "")
    raw = flushed_db[1]
    assert raw.get("linkboard:top-renders") == b"1"
    assert any(
        b"views.decorators.cache.cache_page" in k for k in raw.scan_iter("linkboard-cache:*")
    )


def test_api_rate_limit_returns_429(django_site: Site) -> None:
    client = _client(django_site)
    answer = client.get("api/links/?q=cache")
    assert answer.status == 200
    assert answer.headers["X-RateLimit-Limit"] == "10"
    data: Any = answer.json()
    assert [row["title"] for row in data["links"]] == ["Django's cache framework"]
    remaining = int(answer.headers["X-RateLimit-Remaining"])
    for expected in range(remaining - 1, -1, -1):
        answer = client.get("api/links/")
        assert answer.status == 200
        assert int(answer.headers["X-RateLimit-Remaining"]) == expected
    refused = client.get("api/links/")
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["X-RateLimit-Remaining"] == "0"


def test_add_form_rate_limit_returns_429(django_site: Site) -> None:
    client = _client(django_site)
    statuses = []
    for i in range(7):
        answer = client.post_form(
            "",
            {"url": f"https://example.com/flood/{i}", "title": f"Flood {i}"},
            action="links/add/",
            follow=False,
        )
        statuses.append(answer.status)
        if answer.status == 429:
            assert int(answer.headers["Retry-After"]) >= 1
            break
    assert statuses[-1] == 429, statuses
    assert set(statuses[:-1]) <= {302}  # each accepted post redirected to the new link
    # The limit is per form: reading pages is not limited by it.
    assert client.get("").status == 200


def test_admin_lists_the_walrus_models(django_site: Site) -> None:
    client = _client(django_site)
    assert client.get("admin/walrus/linkboard_link/", follow=False).status == 302  # login first
    client.login_admin()
    index = client.get("admin/walrus/")
    assert index.status == 200
    assert "Links" in index.body and "Comments" in index.body
    links = client.get("admin/walrus/linkboard_link/")
    assert links.status == 200
    for title in (
        "Redis streams as durable queues",
        "Celery tasks guide",
        "The walrus, a large marine mammal",
    ):
        assert title in links.body
    found = client.get("admin/walrus/linkboard_link/?q=idempotent")
    assert (
        "Celery tasks guide" in found.body and "Redis streams as durable queues" not in found.body
    )
    comments = client.get("admin/walrus/linkboard_comment/")
    assert comments.status == 200 and "XAUTOCLAIM saved my weekend." in comments.body
    assert client.get("admin/walrus/server/").status == 200


def test_rebuild_task_runs_eagerly_under_its_lock(
    django_site: Site, flushed_db: tuple[str, redis.Redis]
) -> None:
    raw = flushed_db[1]
    # Damage the full-text index: a search for "idempotent" finds nothing any more.
    token_keys = list(raw.scan_iter("linkboard|link:notes.fts.*"))
    assert token_keys
    raw.delete(*token_keys)
    client = _client(django_site)
    assert "Celery tasks guide" not in client.get("?q=idempotent").body
    done = client.post_form("maintenance/", {})
    assert done.status == 200
    match = re.search(r"Search index rebuilt: (\d+) rows, (\d+) entries repaired.", done.body)
    assert match, done.body[:2000]
    assert int(match.group(2)) >= len(token_keys)
    assert "Lock: free" in done.body and "Last rebuild:" in done.body
    assert "Celery tasks guide" in client.get("?q=idempotent").body
    status = raw.hgetall("linkboard:maintenance")
    assert status[b"repaired"] == match.group(2).encode()
    assert not list(raw.scan_iter("lock:linkboard:*"))  # released after the run


def test_rebuild_refused_while_the_lock_is_held(
    django_site: Site, flushed_db: tuple[str, redis.Redis]
) -> None:
    raw = flushed_db[1]
    client = _client(django_site)
    page = client.get("maintenance/").body
    lock_key = re.search(
        r"\(key <code>(lock:linkboard:links\.rebuild_search_index:[0-9a-f]+)</code>\)", page
    )
    assert lock_key, page[:2000]
    before = raw.hgetall("linkboard:maintenance")
    raw.set(lock_key.group(1), "another-task-id", px=30_000)  # as a running rebuild would
    try:
        answer = client.post_form("maintenance/", {})
        assert "A rebuild is already running (task another-task-id)." in answer.body
        assert "Lock: held" in answer.body
        assert raw.hgetall("linkboard:maintenance") == before  # the task did not run
        assert raw.get(lock_key.group(1)) == b"another-task-id"  # and did not touch the lock
    finally:
        raw.delete(lock_key.group(1))
    assert "Lock: free" in client.get("maintenance/").body


def test_site_stops_cleanly(django_site: Site) -> None:
    # Last in the module: SIGTERM stops the demo's server and removes its SQLite directory.
    assert django_site.stop() == 0
    assert "Demo stopped." in django_site.output()
