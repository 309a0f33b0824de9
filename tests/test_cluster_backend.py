"""The "cluster" backend of the ``db`` fixture: which tests get it (cluster_backend.py)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.cluster_backend import CATEGORIES, EXCLUDED, cluster_exclusion, registry_key
from tests.support.redis_server import valkey_enabled

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _test_names(path: Path) -> set[str]:
    """``name`` and ``Class::name`` of every test function defined in a test module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith(
            "test"
        ):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.update(
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                and item.name.startswith("test")
            )
    return names


def test_every_exclusion_names_an_existing_core_test_with_a_known_category() -> None:
    # A renamed or deleted test leaves a stale entry behind; fail so it gets removed.
    stale = []
    for key, (category, reason) in EXCLUDED.items():
        assert category in CATEGORIES, f"{key}: unknown category {category!r}"
        assert reason.strip(), f"{key}: no reason"
        filename, _, name = key.partition("::")
        path = TESTS / "core" / filename
        if not path.is_file() or name not in _test_names(path):
            stale.append(key)
    assert stale == []


def _metafunc(path: Path, name: str, marker: Any = None, cls: type | None = None) -> Any:
    # Only the attributes cluster_exclusion reads; collection itself is checked below.
    definition = SimpleNamespace(
        path=path, get_closest_marker=lambda wanted: marker if wanted == "single_node" else None
    )
    return SimpleNamespace(definition=definition, cls=cls, function=SimpleNamespace(__name__=name))


def test_exclusion_by_registry_marker_and_folder() -> None:
    key = next(iter(EXCLUDED))
    filename, _, name = key.partition("::")
    listed = _metafunc(TESTS / "core" / filename, name)
    category, reason = EXCLUDED[key]
    assert cluster_exclusion(listed) == f"{category}: {reason}"
    plain = _metafunc(TESTS / "core" / "test_sample.py", "test_not_listed")
    assert cluster_exclusion(plain) is None
    marked = _metafunc(
        TESTS / "core" / "test_sample.py", "test_x", SimpleNamespace(args=("uses MONITOR",))
    )
    assert cluster_exclusion(marked) == "uses MONITOR"
    # db tests outside the core suites keep their single-server meaning.
    assert (
        cluster_exclusion(_metafunc(TESTS / "cluster" / "test_x.py", "test_x"))
        == "not a core suite"
    )
    assert (
        cluster_exclusion(_metafunc(TESTS / "core" / "nested" / "test_x.py", "test_x"))
        == "not a core suite"
    )
    assert registry_key(Path("test_x.py"), "test_y", "TestZ") == "test_x.py::TestZ::test_y"


# Collects in a child process (collection imports the conftest and the core test modules)
# and prints every item's id with whether it carries the ``cluster`` marker.
_COLLECT = """
import json, sys, pytest
class Report:
    def pytest_collection_finish(self, session):
        items = [[i.nodeid, i.get_closest_marker("cluster") is not None] for i in session.items]
        print("ITEMS " + json.dumps(items))
args = ["--collect-only", "-q", "-p", "no:cacheprovider", sys.argv[1]]
sys.exit(pytest.main(args, plugins=[Report()]))
"""


@pytest.fixture(scope="module")
def collected() -> dict[str, bool]:
    out = subprocess.run(
        [sys.executable, "-c", _COLLECT, "tests/core/test_set.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    line = next(line for line in out.stdout.splitlines() if line.startswith("ITEMS "))
    return {nodeid.rpartition("::")[2]: marked for nodeid, marked in json.loads(line[6:])}


def test_collection_adds_a_marked_cluster_backend_except_for_excluded_tests(
    collected: dict[str, bool],
) -> None:
    excluded = {key.partition("::")[2] for key in EXCLUDED if key.startswith("test_set.py::")}
    assert excluded, "pick a core file with at least one excluded test"
    cluster_ids = [i for i in collected if i.endswith("[cluster]")]
    assert cluster_ids, "no test of test_set.py runs on the cluster backend"
    for name in excluded:
        assert f"{name}[resp2]" in collected  # still runs on one server
        assert f"{name}[cluster]" not in collected
    # Only the cluster parametrisation carries the marker, so ``-m cluster`` picks exactly it
    # and ``-m "not cluster"`` leaves the other backends.
    assert sorted(i for i, marked in collected.items() if marked) == sorted(cluster_ids)
    single = {"[resp2]", "[resp3]", "[memory]"} | ({"[valkey]"} if valkey_enabled() else set())
    assert {i[i.rindex("[") :] for i, marked in collected.items() if not marked} == single
