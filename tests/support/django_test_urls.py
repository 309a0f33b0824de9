"""URLs of the django_walrus tests: a few rate-limited views and the admin."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views import View

from django_walrus.metrics import metrics_view
from django_walrus.ratelimit import rate_limited
from tests.support import django_test_admin  # noqa: F401  (registers the walrus models)


@rate_limited(3, 60)
def limited(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


@rate_limited("2/minute", key="user", methods=["POST"])
def post_only(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.method)


def team_of(request: HttpRequest) -> str:
    """A key callable: requests of one team share a budget."""
    return "team:" + request.GET.get("team", "none")


@rate_limited(2, 60, key=team_of)
def by_team(request: HttpRequest) -> HttpResponse:
    return HttpResponse("team")


@rate_limited(1, 60, block=False)
def soft(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"limited": request.limited})


@rate_limited(2, 60, group="shared")
def shared_a(request: HttpRequest) -> HttpResponse:
    return HttpResponse("a")


@rate_limited(2, 60, group="shared")
def shared_b(request: HttpRequest) -> HttpResponse:
    return HttpResponse("b")


@rate_limited(2, 60)
async def async_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse("async")


@method_decorator(rate_limited(2, 60, key="header:X-Api-Key"), name="dispatch")
class ApiView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("api")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("limited/", limited),
    path("post-only/", post_only),
    path("soft/", soft),
    path("shared-a/", shared_a),
    path("shared-b/", shared_b),
    path("async/", async_view),
    path("api/", ApiView.as_view()),
    path("by-team/", by_team),
    path("walrus-metrics/", metrics_view),
]
