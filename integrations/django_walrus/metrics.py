"""``metrics_view``: the walrus metrics in Prometheus's text format, for ``urls.py``::

    from django_walrus.metrics import metrics_view
    urlpatterns += [path("walrus/metrics/", metrics_view)]

Who may read it: logged-in staff users, and scrapers sending ``Authorization: Bearer <token>``
when ``settings.WALRUS_METRICS_TOKEN`` is set; everyone else gets 403. Counting starts when
the app is ready if ``settings.WALRUS_METRICS`` is True, else on the first scrape (so nothing
is counted, and nothing costs, in a site that never scrapes). Needs ``prometheus-client``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from walrus.prometheus import exposition, install

__all__ = ["metrics_view"]

_View = Callable[[HttpRequest], HttpResponse]
# Django ships no types: require_GET is Any; pinned here to what it does (405 but for GET/HEAD)
_require_get: Callable[[_View], _View] = require_GET


def _allowed(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    token = getattr(settings, "WALRUS_METRICS_TOKEN", None)
    sent = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


@_require_get
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The default Prometheus registry with the walrus collectors (one scrape, no Redis
    call: the figures are counted in this process)."""
    if not _allowed(request):
        return HttpResponse(
            "forbidden: staff or WALRUS_METRICS_TOKEN only\n", status=403, content_type="text/plain"
        )
    install()
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)
