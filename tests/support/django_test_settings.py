"""Django settings for the django_walrus tests (pytest-django). The real server's URL is set
per test by tests/django/conftest.py; this default keeps imports working without one."""

SECRET_KEY = "django-walrus-tests"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django_walrus",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.support.django_test_urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
import os  # noqa: E402

# manage.py subprocess tests pass the real server's URL through the environment.
WALRUS = {
    "default": {
        "URL": os.environ.get("WALRUS_DJANGO_URL", "memory://django-tests"),
        "PREFIXES": ["app:"],
    }
}
CACHES = {
    "default": {"BACKEND": "django_walrus.cache.WalrusCache", "OPTIONS": {"ALIAS": "default"}},
}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
STATIC_URL = "static/"
