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
    elif setting.startswith("WALRUS_RATELIMIT_"):
        from .ratelimit_settings import reset_settings

        reset_settings()


class DjangoWalrusConfig(AppConfig):  # type: ignore[misc]  # Django ships no types: Any base
    """The app's configuration: on ready it registers the system checks, drops cached databases
    when the ``WALRUS`` setting changes (tests), and starts the metrics when enabled. No Redis
    work until the first metrics flush."""

    name = "django_walrus"
    verbose_name = "Walrus (Redis)"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        """Register the system checks and the settings-change hook; start the metrics when
        ``WALRUS_METRICS`` is on. No Redis work here (the metrics flush later, 1 round trip
        each)."""
        from . import checks  # noqa: F401  (registers the system checks)

        setting_changed.connect(_on_setting_changed, dispatch_uid="django_walrus.setting_changed")
        from django.conf import settings

        if getattr(settings, "WALRUS_METRICS", False):  # count from start-up
            from walrus.events import tally

            from .conf import get_database

            # Totals of every process, flushed to Redis, for the admin's server page and
            # walrus_info (the Database connects on the first flush, not here).
            tally.start(
                get_database("default"), float(getattr(settings, "WALRUS_METRICS_INTERVAL", 5.0))
            )
            from walrus.exceptions import WalrusError
            from walrus.prometheus import install as install_metrics

            try:
                install_metrics()  # metrics_view
            except WalrusError:  # prometheus-client is optional; the tally still counts
                pass
        from django.apps import apps

        if apps.is_installed("django.contrib.admin"):
            from django.db.models.signals import post_migrate

            from .admin.permissions import create_permissions_after_migrate
            from .admin.registry import install

            install()  # the walrus pages and app-list entry on django.contrib.admin.site
            post_migrate.connect(
                create_permissions_after_migrate, dispatch_uid="django_walrus.permissions"
            )
