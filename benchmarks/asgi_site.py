"""The Django site ``bench_asgi`` serves with uvicorn: one view, written sync and async.

Both views do what a typical API view does on every request: a rate-limit decision
(``django_walrus.rate_limited``, GCRA, a budget no run exhausts) and a cache read
(``WalrusCache``). ``/sync`` is a plain ``def`` view (Django runs it in a worker thread under
ASGI); ``/async`` is an ``async def`` view (the decision and ``aget`` run natively on
redis.asyncio). The Redis URL comes from ``WALRUS_BENCH_REDIS_URL``.
"""

from __future__ import annotations

import os

import django
from django.conf import settings

__all__ = ["application"]

URL = os.environ["WALRUS_BENCH_REDIS_URL"]
RATE = "10000000/m"  # decided on every request, never refused during a run

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench",
    ALLOWED_HOSTS=["127.0.0.1"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=["django_walrus"],
    USE_TZ=True,
    WALRUS={"default": {"URL": URL}},
    CACHES={
        "default": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "OPTIONS": {"ALIAS": "default"},
            "TIMEOUT": 3600,
        }
    },
)
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402

from django_walrus.ratelimit import rate_limited  # noqa: E402

PAGE = b"x" * 200
cache.set("page", PAGE)  # stored through the cache: its key layout and format


def _page(body: bytes) -> HttpResponse:
    # Content-Length spares the load generator uvicorn's chunked framing.
    return HttpResponse(body, headers={"Content-Length": str(len(body))})


@rate_limited(RATE, group="bench", strategy="gcra")
def sync_view(request: HttpRequest) -> HttpResponse:
    return _page(cache.get("page", b"missing"))


@rate_limited(RATE, group="bench", strategy="gcra")
async def async_view(request: HttpRequest) -> HttpResponse:
    return _page(await cache.aget("page", b"missing"))


def sync_bare(request: HttpRequest) -> HttpResponse:
    return _page(PAGE)


async def async_bare(request: HttpRequest) -> HttpResponse:
    return _page(PAGE)


# The bare views do no Redis work: what the server stack alone serves, the ceiling of each path.
urlpatterns = [
    path("sync", sync_view),
    path("async", async_view),
    path("sync-bare", sync_bare),
    path("async-bare", async_bare),
]

application = get_asgi_application()
