"""URLs of the rate-limit middleware tests (the ROOT_URLCONF of
tests/django/test_ratelimit_middleware.py)."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views import View

from django_walrus.ratelimit import rate_limit_exempt, rate_limited


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("plain")


def other(request: HttpRequest) -> HttpResponse:
    return HttpResponse("other")


@rate_limited("5/minute", group="own")
def own(request: HttpRequest) -> HttpResponse:
    return HttpResponse("own")


@rate_limit_exempt
def free(request: HttpRequest) -> HttpResponse:
    return HttpResponse("free")


@method_decorator(rate_limited("5/minute", group="own-class"), name="dispatch")
class OwnClass(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("own class")


urlpatterns = [
    path("plain/", plain),
    path("other/", other),
    path("own/", own),
    path("free/", free),
    path("own-class/", OwnClass.as_view()),
    path("health/", plain),
]
