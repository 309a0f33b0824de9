"""The link board's Celery app.

On the embedded ``memory://`` engine (the default) tasks run eagerly in the web process:
the engine lives inside that process, so no worker could see its data. With ``WALRUS_URL``
pointing at a real server, tasks go through that server to a worker
(``celery -A linkboard worker -l INFO``, run from example_projects/django_site/).
Task locks use the ``WALRUS`` setting's default alias: celery_walrus imports no Django, so
this module hands it django_walrus's ``get_database`` (called on each use).
"""

from __future__ import annotations

import os

from celery import Celery

from django_walrus import get_database

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "linkboard.settings")

app = Celery("linkboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.walrus_database = get_database
app.autodiscover_tasks()
