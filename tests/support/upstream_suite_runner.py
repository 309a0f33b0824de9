"""Run upstream walrus's own test modules, unchanged, against this repository's ``walrus``.

Usage: ``python upstream_suite_runner.py TESTS_DIR`` with ``core/`` first on PYTHONPATH and
``WALRUS_REDIS_HOST``/``WALRUS_REDIS_PORT`` naming a server whose DB 15 may be flushed (the
upstream tests' own convention). Prints one line ``UPSTREAM-SUITE <json>`` with the test ids
that passed and those that failed (failure or error, with the last line of the traceback).

``walrus.tests`` is registered as a namespace over TESTS_DIR without running its
``__init__``: that file only star-imports every module, so one module failing to import would
hide the results of all the others.
"""

from __future__ import annotations

import importlib
import json
import sys
import types
import unittest

MODULES = ("autocomplete", "cache", "containers", "counter", "database", "fts", "graph",
           "lock", "models", "rate_limit", "streams")  # fmt: skip


class _Collector(unittest.TextTestResult):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.passed: list[str] = []

    def addSuccess(self, test: unittest.TestCase) -> None:  # noqa: N802 - unittest's name
        super().addSuccess(test)
        self.passed.append(test.id())


def main(tests_dir: str) -> None:
    import walrus

    assert walrus.__file__ and "core" in walrus.__file__, walrus.__file__  # ours, not upstream's
    package = types.ModuleType("walrus.tests")
    package.__path__ = [tests_dir]
    sys.modules["walrus.tests"] = package
    walrus.tests = package  # type: ignore[attr-defined]
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    import_errors = {}
    for name in MODULES:
        try:
            suite.addTests(
                loader.loadTestsFromModule(importlib.import_module(f"walrus.tests.{name}"))
            )
        except Exception as exc:  # reported, so the test names what broke
            import_errors[name] = repr(exc)
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=1, resultclass=_Collector)
    result = runner.run(suite)
    failed = {
        test.id(): trace.strip().splitlines()[-1]
        for test, trace in [*result.failures, *result.errors]
    }
    report = {"passed": result.passed, "failed": failed, "import_errors": import_errors,  # type: ignore[attr-defined]
              "ran": result.testsRun}  # fmt: skip
    print("UPSTREAM-SUITE " + json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1])
