"""Settings of the link board example, driven by environment variables:

- ``WALRUS_URL``: the Redis server (default ``memory://linkboard``, the embedded engine).
- ``LINKBOARD_SQLITE``: the SQLite file for Django's users (the only SQL data; default
  ``walrus-linkboard.sqlite3`` in the system temp directory).
- ``LINKBOARD_CELERY_EAGER``: ``1`` runs Celery tasks in the web process (default on
  ``memory://``), ``0`` sends them to a worker (default with a real server).
- ``CELERY_BROKER_URL``: the broker (default: ``WALRUS_URL``).
- ``LINKBOARD_DEBUG``: ``1`` (default) or ``0``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

WALRUS_URL = os.environ.get("WALRUS_URL") or "memory://linkboard"
EMBEDDED = WALRUS_URL.startswith("memory://")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "linkboard-example-key-not-for-production")
DEBUG = os.environ.get("LINKBOARD_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_walrus",
    "links",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "linkboard.urls"
WSGI_APPLICATION = "linkboard.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# Django's users and permissions stay in SQL; everything else lives in Redis.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get(
            "LINKBOARD_SQLITE", str(Path(tempfile.gettempdir()) / "walrus-linkboard.sqlite3")
        ),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# One Redis alias for the models, the cache, sessions, rate limits and task locks.
WALRUS = {
    "default": {
        "URL": WALRUS_URL,
        # What `manage.py walrus_flush` deletes (the cache's own keys are added to these).
        "PREFIXES": ["linkboard|", "linkboard:", "django_walrus:rl:", "lock:linkboard:"],
    }
}
CACHES = {
    "default": {
        "BACKEND": "django_walrus.cache.WalrusCache",
        "KEY_PREFIX": "linkboard-cache",
        "OPTIONS": {"ALIAS": "default"},
    }
}
# Count cache reads, rate-limit decisions and lock waits (walrus.events): the admin's server
# page charts them and `manage.py walrus_info` prints them; flushed to Redis every 2 s.
WALRUS_METRICS = True
WALRUS_METRICS_INTERVAL = 2.0
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or ("memory://" if EMBEDDED else WALRUS_URL)
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or (
    "cache+memory://" if EMBEDDED else WALRUS_URL
)
CELERY_TASK_ALWAYS_EAGER = os.environ.get("LINKBOARD_CELERY_EAGER", "1" if EMBEDDED else "0") == "1"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_WALRUS_LOCK_PREFIX = "linkboard:"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"

# Everything worth seeing goes to the console (stderr): request lines (django.server), and
# warnings and errors of every logger, with the traceback of a 500 (django.request logs it).
# Django's own default sends those to the console only with DEBUG and mails them to ADMINS.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "{levelname} {name}: {message}", "style": "{"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "errors": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["errors"], "level": "WARNING"},
    "loggers": {
        "django": {"handlers": ["errors"], "level": "WARNING", "propagate": False},
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
