"""DRF views of the throttle tests (ROOT_URLCONF of tests/django/test_throttling.py)."""

from typing import Any

from django.urls import path
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from django_walrus.throttling import (
    WalrusAnonRateThrottle,
    WalrusScopedRateThrottle,
    WalrusUserRateThrottle,
)


class Anon(APIView):
    renderer_classes = [JSONRenderer]
    throttle_classes = [WalrusAnonRateThrottle]

    def get(self, request: Any) -> Response:
        return Response({"ok": True})


class Users(APIView):
    renderer_classes = [JSONRenderer]
    throttle_classes = [WalrusUserRateThrottle]

    def get(self, request: Any) -> Response:
        return Response({"ok": True})


class Uploads(APIView):
    renderer_classes = [JSONRenderer]
    throttle_classes = [WalrusScopedRateThrottle]
    throttle_scope = "uploads"

    def get(self, request: Any) -> Response:
        return Response({"ok": True})


class Unscoped(APIView):
    renderer_classes = [JSONRenderer]
    throttle_classes = [WalrusScopedRateThrottle]

    def get(self, request: Any) -> Response:
        return Response({"ok": True})


urlpatterns = [
    path("anon/", Anon.as_view()),
    path("users/", Users.as_view()),
    path("uploads/", Uploads.as_view()),
    path("unscoped/", Unscoped.as_view()),
]


class RacyCache:
    """A cache whose get() waits until ``parties`` requests have all read (set by the test):
    one interleaving concurrent requests can take, forced so that the test is deterministic."""

    def __init__(self) -> None:
        import threading

        self.data: dict[str, Any] = {}
        self.barrier: Any = None
        self.lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        with self.lock:
            value = list(self.data.get(key, default))
        if self.barrier is not None:
            self.barrier.wait(timeout=20)
        return value

    def set(self, key: str, value: Any, timeout: Any = None) -> None:
        with self.lock:
            self.data[key] = list(value)


def drf_anon_throttle() -> Any:
    from rest_framework.throttling import AnonRateThrottle

    class RacyAnon(AnonRateThrottle):
        cache = RacyCache()

    return RacyAnon


DrfThrottle = drf_anon_throttle()


class DrfAnon(APIView):
    renderer_classes = [JSONRenderer]
    throttle_classes = [DrfThrottle]

    def get(self, request: Any) -> Response:
        return Response({"ok": True})


urlpatterns.append(path("drf-anon/", DrfAnon.as_view()))
