"""Stand-in while the committed pyproject still names ``django_test_settings`` (tests/ on
sys.path): the settings live in tests/support/django_test_settings.py. Delete this file
together with that pyproject line."""

from support.django_test_settings import *  # noqa: F403
