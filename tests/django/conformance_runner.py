"""Run Django's own ``BaseCacheTests`` against ``django_walrus.cache.WalrusCache``.

Usage: python conformance_runner.py DJANGO_TESTS_DIR LOCATION [SUBSET]
(LOCATION: a redis:// URL of a flushable DB, a redis+cluster:// URL of a flushable cluster, or
memory://NAME; SUBSET: comma-separated words, only the tests whose name contains one of them
run). Prints Django's runner output; exits non-zero when any test fails or errors.
"""

from __future__ import annotations

import sys


def main() -> int:
    tests_dir, location = sys.argv[1], sys.argv[2]
    subset = [word for word in (sys.argv[3] if len(sys.argv) > 3 else "").split(",") if word]
    sys.path.insert(0, tests_dir)
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="conformance-secret",
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.sessions",
            "cache",
            "django_walrus",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES={"default": {"BACKEND": "django_walrus.cache.WalrusCache", "LOCATION": location}},
        WALRUS={"default": {"URL": location}},
        MIDDLEWARE=[],
        ROOT_URLCONF=[],
        TEMPLATES=[
            {"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}
        ],
    )
    django.setup()

    import unittest

    from cache.tests import BaseCacheTests, caches_setting_for_tests
    from django.test import TestCase, override_settings
    from django.test.runner import DiscoverRunner

    base = {"BACKEND": "django_walrus.cache.WalrusCache", "LOCATION": location}

    @override_settings(CACHES=caches_setting_for_tests(base=base, exclude={"cull", "zero_cull"}))
    class WalrusCacheConformance(BaseCacheTests, TestCase):
        # incr/decr of a non-integer value raises TypeError naming the key.
        incr_decr_type_error = TypeError

    runner = DiscoverRunner(verbosity=1, interactive=False)
    loader = unittest.TestLoader()
    if subset:
        loader.testNamePatterns = [f"*{word}*" for word in subset]
    suite = loader.loadTestsFromTestCase(WalrusCacheConformance)
    runner.setup_test_environment()
    old_config = runner.setup_databases()
    try:
        result = runner.run_suite(suite)
    finally:
        runner.teardown_databases(old_config)
        runner.teardown_test_environment()
    print(
        f"CONFORMANCE ran={result.testsRun} failures={len(result.failures)} "
        f"errors={len(result.errors)} skipped={len(result.skipped)}"
    )
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
