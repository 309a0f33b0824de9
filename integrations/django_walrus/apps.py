"""Django application config of django_walrus."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.core.signals import setting_changed

__all__ = ["DjangoWalrusConfig"]


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "WALRUS":
        from .conf import reset_databases

        reset_databases()


class DjangoWalrusConfig(AppConfig):
    name = "django_walrus"
    verbose_name = "Walrus (Redis)"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)

        setting_changed.connect(_on_setting_changed, dispatch_uid="django_walrus.setting_changed")
