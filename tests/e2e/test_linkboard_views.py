"""The link board's views under Django's test client (example_projects/django_site, on the
real test server): search queries the parser refuses, a refused "Add a link", rate-limited
pages, and a 500's traceback in the console log."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape
from urllib.parse import quote

import pytest
import redis

from tests.e2e.linkboard_testclient import LinkboardClient
from walrus.search import QueryError, parse

E2E_DB = 12
SEEDED_TITLES = (
    "Redis streams as durable queues",
    "Celery tasks guide",
    "The walrus, a large marine mammal",
)
# What people type into a search box. Whether each one is refused is asked of the parser at
# test time (a more lenient parser may accept some, e.g. an unclosed "(").
ODD_QUERIES = [
    "(",
    ")",
    "()",
    "AND",
    "OR OR",
    "redis AND",
    "redis OR",
    '"abc',
    '"',
    '""',
    "a AND (b",
    "redis)",
    "\u201cabc",
    "the",
    "*",
    "((redis",
    "redis AND (queue OR",
]


def refused_by_parser(query: str) -> bool:
    try:
        parse(query)
    except QueryError:
        return True
    return False


REFUSED = [q for q in ODD_QUERIES if refused_by_parser(q)]


@pytest.fixture(scope="module")
def board(flushed_db: tuple[str, redis.Redis]) -> Iterator[LinkboardClient]:
    client = LinkboardClient(
        {"WALRUS_URL": flushed_db[0], "LINKBOARD_DEBUG": "0", "LINKBOARD_CELERY_EAGER": "1"}
    )
    try:
        yield client
    finally:
        client.close()


def address(n: int) -> dict[str, str]:
    """A client address of its own, so rate limits of one test do not spend another's."""
    return {"REMOTE_ADDR": f"198.51.100.{n}"}


def assert_whole_board(body: str) -> None:
    for title in SEEDED_TITLES:
        assert escape(title, quote=False) in body.replace("&#x27;", "'"), title


def test_some_odd_queries_are_refused_by_the_parser() -> None:
    # The unterminated quote and a lone operator are malformed under any reading.
    assert '"abc' in REFUSED and "AND" in REFUSED and "redis AND" in REFUSED, REFUSED


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_board_search_never_fails(board: LinkboardClient, query: str) -> None:
    page = board.get(f"/?q={quote(query)}")
    assert page.status != 500, board.log()[-3000:]
    assert page.content_type.startswith("text/html")
    if query in REFUSED:
        assert page.status == 400
        assert 'id="search-error"' in page.body
        assert f"Your search “{escape(query)}” could not be understood:" in page.body
        assert (
            "Use words, &quot;quoted phrases&quot;, AND, OR and balanced parentheses." in page.body
        )
        assert f'value="{escape(query)}"' in page.body  # kept in the box, to be corrected
        assert "Results for" not in page.body and "No links match" not in page.body
        assert_whole_board(page.body)  # the board stays usable
    else:
        assert page.status == 200
        assert 'id="search-error"' not in page.body


@pytest.mark.parametrize("query", ODD_QUERIES)
def test_api_search_answers_400_json(board: LinkboardClient, query: str) -> None:
    answer = board.get(
        f"/api/links/?q={quote(query)}", environ=address(10 + ODD_QUERIES.index(query))
    )
    assert answer.status != 500, board.log()[-3000:]
    assert answer.content_type == "application/json"
    data = answer.json()
    if query in REFUSED:
        assert answer.status == 400
        assert data["query"] == query.strip()
        assert data["error"].startswith("malformed search query: ")
        assert "AND, OR" in data["help"]
    else:
        assert answer.status == 200 and isinstance(data["links"], list)


def test_too_long_query_is_explained(board: LinkboardClient) -> None:
    page = board.get("/?q=" + "a" * 300)
    assert page.status == 400
    assert (
        "Your search could not be used: Ensure this value has at most 200 characters" in page.body
    )
    assert_whole_board(page.body)


def test_good_search_still_works(board: LinkboardClient) -> None:
    page = board.get("/?q=" + quote("redis AND (queues OR durable)"))
    assert page.status == 200
    assert "Redis streams as durable queues" in page.body and "Celery tasks guide" not in page.body
    assert (
        board.get("/api/links/?q=idempotent", environ=address(40)).json()["links"][0]["title"]
        == "Celery tasks guide"
    )


def test_refused_link_is_shown_with_the_board(
    board: LinkboardClient, flushed_db: tuple[str, redis.Redis]
) -> None:
    raw = flushed_db[1]
    before = sorted(raw.scan_iter("linkboard|*"))  # the models' keys
    duplicate = {
        "url": "https://en.wikipedia.org/wiki/Walrus",
        "title": "Walrus again",
        "notes": "",
        "author": "",
    }
    page = board.post("/links/add/", duplicate, environ=address(50))
    assert page.status == 400
    assert "This URL is already on the board." in page.body
    assert 'id="add-error"' in page.body and "Your link was not added" in page.body
    assert "5 links on the board." in page.body
    assert_whole_board(page.body)  # not an empty table under "5 links on the board"
    assert "No links." not in page.body
    assert 'value="Walrus again"' in page.body  # what was typed is kept
    invalid = board.post(
        "/links/add/", {"url": "not a url", "title": "Broken"}, environ=address(51)
    )
    assert invalid.status == 400 and "Enter a valid URL." in invalid.body
    assert_whole_board(invalid.body)
    assert sorted(raw.scan_iter("linkboard|*")) == before  # no link written


def test_add_form_over_its_limit_gets_an_html_page(board: LinkboardClient) -> None:
    statuses = []
    for _ in range(6):  # 5 per minute; empty forms are refused (400) but still count
        page = board.post("/links/add/", {}, environ=address(60))
        statuses.append(page.status)
    assert statuses == [400] * 5 + [429]
    assert page.content_type.startswith("text/html")
    retry = int(page.headers["Retry-After"])
    assert retry >= 1 and page.headers["X-RateLimit-Remaining"] == "0"
    assert "<h1>Too many requests</h1>" in page.body
    assert re.search(
        rf"Please try again in {retry} seconds?, after \d\d:\d\d:\d\d UTC\.", page.body
    ), page.body
    assert "5 per minute" in page.body and 'href="/"' in page.body
    # Another client address is not limited by it.
    assert board.post("/links/add/", {}, environ=address(61)).status == 400


def test_api_over_its_limit_keeps_json(board: LinkboardClient) -> None:
    statuses = []
    for _ in range(11):  # 10 per minute
        answer = board.get("/api/links/", environ=address(70))
        statuses.append(answer.status)
    assert statuses == [200] * 10 + [429]
    assert answer.content_type == "application/json"
    retry = int(answer.headers["Retry-After"])
    assert answer.json() == {
        "error": f"too many requests (limit 10/minute): retry in {retry} s",
        "retry_after": retry,
    }


def test_a_500_is_logged_with_its_traceback(redis_server: object) -> None:
    """With Redis unreachable the board fails (500): the console log has the traceback."""
    from tests.support.redis_server import free_port

    down = LinkboardClient(
        {
            "WALRUS_URL": f"redis://127.0.0.1:{free_port()}/0",
            "LINKBOARD_DEBUG": "0",
            "LINKBOARD_CELERY_EAGER": "1",
        },
        seed=False,
    )
    try:
        page = down.get("/")
        assert page.status == 500
        log = down.log()
    finally:
        down.close()
    assert "ERROR django.request: Internal Server Error: /" in log, log[-3000:]
    assert "Traceback (most recent call last):" in log
    assert "ConnectionError" in log
