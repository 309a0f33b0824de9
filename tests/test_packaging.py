"""The wheel ships every package with its data files, and the core imports from it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "walrus": ROOT / "core" / "walrus",
    "limpyd": ROOT / "core" / "limpyd",
    "django_walrus": ROOT / "integrations" / "django_walrus",
    "flask_walrus": ROOT / "integrations" / "flask_walrus",
    "celery_walrus": ROOT / "integrations" / "celery_walrus",
}
DATA_SUFFIXES = {".lua", ".luainc", ".txt", ".html", ".css", ".js", ".typed"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("walrus_suite-*.whl")
    return built


def test_wheel_holds_every_package_and_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for package, folder in PACKAGES.items():
        assert f"{package}/__init__.py" in names, package
        assert f"{package}/py.typed" in names, package
        for path in folder.rglob("*"):
            if path.is_file() and (path.suffix in DATA_SUFFIXES or path.name == "py.typed"):
                if "__pycache__" in path.parts:
                    continue
                inside = f"{package}/{path.relative_to(folder).as_posix()}"
                assert inside in names, f"{inside} missing from the wheel"


def test_core_runs_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import walrus; assert walrus.__file__.startswith(sys.argv[1]), walrus.__file__;"
        "from walrus.scripts import load_script_source;"
        "assert 'KEYS' in load_script_source('rate_limit');"
        "from walrus.search import load_stopwords; assert 'the' in load_stopwords();"
        "db = walrus.Database.from_url('memory://wheel');"
        "print(db.rate_limit('r', 2, 60).limit('k'))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(wheel)], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"
