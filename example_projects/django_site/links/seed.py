"""Sample data for the link board (used by the demo and ``manage.py seed_links``)."""

from __future__ import annotations

from .models import Comment, Link

SAMPLE_LINKS = [
    {
        "url": "https://redis.io/docs/latest/develop/data-types/streams/",
        "title": "Redis streams as durable queues",
        "notes": "Consumer groups, acknowledgements and pending entries explained.",
        "author": "ada",
        "votes": 7,
    },
    {
        "url": "https://docs.djangoproject.com/en/stable/topics/cache/",
        "title": "Django's cache framework",
        "notes": "Per-view caching, low-level cache API and cache backends.",
        "author": "bob",
        "votes": 5,
    },
    {
        "url": "https://docs.celeryq.dev/en/stable/userguide/tasks.html",
        "title": "Celery tasks guide",
        "notes": "Retries, time limits and why tasks should be idempotent.",
        "author": "cy",
        "votes": 3,
    },
    {
        "url": "https://flask.palletsprojects.com/en/stable/patterns/appfactories/",
        "title": "Flask application factories",
        "notes": "Create the app in a function; extensions use init_app.",
        "author": "ada",
        "votes": 2,
    },
    {
        "url": "https://en.wikipedia.org/wiki/Walrus",
        "title": "The walrus, a large marine mammal",
        "notes": "Tusks, whiskers and a diet of clams.",
        "author": "dee",
        "votes": 1,
    },
]


def seed() -> int:
    """Add the sample links (and a comment on the first) when the board is empty; returns how
    many links were added (0 when the board already had links)."""
    if Link.count():
        return 0
    links = [Link.create(**row) for row in SAMPLE_LINKS]
    Comment.create(link_id=links[0].get_id(), author="bob", body="XAUTOCLAIM saved my weekend.")
    return len(links)
