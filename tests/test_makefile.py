"""The Makefile as a newcomer meets it: plain ``make`` lists the targets and builds nothing,
``make clean`` leaves no venv or cache behind, ``make quick`` selects real tests."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = ROOT / "Makefile"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def variable(name: str) -> str:
    """The value of a ``:=`` variable of the Makefile (continuation lines joined)."""
    text = MAKEFILE.read_text().replace("\\\n", " ")
    match = re.search(rf"^{name} := (.*)$", text, re.M)
    assert match, name
    return " ".join(match.group(1).split())


def test_plain_make_lists_the_targets_and_builds_nothing() -> None:
    dry = make("-n")
    assert dry.returncode == 0, dry.stderr
    assert "pip" not in dry.stdout and "venv" not in dry.stdout.replace(
        ".venv/", ""
    )  # only echo/awk
    shown = make()
    assert shown.returncode == 0, shown.stderr
    assert make("help").stdout == shown.stdout
    phony = re.search(r"^\.PHONY: (.*)$", MAKEFILE.read_text(), re.M)
    assert phony
    for target in phony.group(1).split():
        assert re.search(rf"^  make {target} +\S", shown.stdout, re.M), (target, shown.stdout)


def test_clean_removes_venvs_caches_and_build_output(tmp_path: Path) -> None:
    shutil.copy(MAKEFILE, tmp_path / "Makefile")
    doomed = [
        ".venv",
        ".venv-django42",
        ".venv-django51",
        ".venv-py310",
        ".venv-py313",
        ".cache",
        "build",
        "dist",
        "walrus_suite.egg-info",
        ".pytest_cache",
        ".mypy_cache",
        "benchmarks/.upstream",
    ]
    kept = ["core", "tests", "docs", "benchmarks"]
    for name in doomed + kept:
        (tmp_path / name).mkdir(parents=True, exist_ok=True)
        (tmp_path / name / "file").write_text("x")
    done = make("clean", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    left = sorted(p.name for p in tmp_path.iterdir())
    for name in doomed:
        assert not (tmp_path / name).exists(), (name, left)
    for name in kept:
        assert (tmp_path / name / "file").exists(), name


def test_editable_install_is_quiet() -> None:
    """setuptools' long 'Editable installation' notice is filtered out of the install step."""
    install = variable("QUIET_PIP")
    assert 'PYTHONWARNINGS="ignore:Editable installation"' in install and "--quiet" in install
    stamp = MAKEFILE.read_text().split("$(STAMP): pyproject.toml", 1)[1].split("\n\n", 1)[0]
    assert "$(QUIET_PIP) -e '.[all,test]'" in stamp


def test_quick_selects_real_tests() -> None:
    """``make quick``'s core selection is the memory:// case of the core tests (hundreds),
    and every other path it names exists."""
    collected = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/core",
            "-k",
            variable("QUICK_CORE"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    ids = [line for line in collected.stdout.splitlines() if "::" in line]
    assert len(ids) > 300, len(ids)
    params = [re.search(r"\[(.*)\]$", line) for line in ids]
    # Parametrised tests: their memory:// case only; plain ones: those about the engine.
    odd = [
        line
        for line, found in zip(ids, params, strict=True)
        if ("memory" not in found.group(1).split("-") if found else "memory" not in line)
    ]
    assert not odd, odd[:5]
    for part in variable("QUICK_TESTS").split():
        path = part.split("=", 1)[-1]
        assert (ROOT / path).exists(), path
    recipe = MAKEFILE.read_text().split("\nquick:", 1)[1].split("\n\n", 1)[0]
    assert "ruff check" in recipe and '-k "$(QUICK_CORE)"' in recipe and "$(QUICK_TESTS)" in recipe
