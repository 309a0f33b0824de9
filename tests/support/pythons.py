"""Other CPython interpreters on this machine, and the throwaway venvs tests build with them.

Used by tests/test_python_versions.py (the suite on 3.10/3.12/3.13) and
tests/django/test_conformance.py (Django's cache tests on every supported Django series).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["ROOT", "build_venv", "interpreter"]

ROOT = Path(__file__).resolve().parents[2]


def interpreter(version: str) -> str | None:
    """The newest ``pythonX.Y`` for ``version`` ("3.12"): pyenv's versions first, then PATH."""
    base = getattr(sys, "_base_executable", sys.executable)
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return base
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = [c for c in pyenv.glob(f"{version}.*/bin/python{version}") if c.exists()]
    if found:  # newest patch release by number (3.10.13 after 3.10.9), not by spelling
        return str(max(found, key=lambda c: [int(x) for x in re.findall(r"\d+", c.parts[-3])]))
    return shutil.which(f"python{version}")


def build_venv(venv: Path, python: str, requirements: list[str], salt: str = "") -> Path:
    """Create ``venv`` with ``python`` and pip-install ``requirements``; returns its python.

    Rebuilt only when the requirements or ``salt`` (say, a hash of pyproject.toml) change:
    the stamp file records what the venv was built for.
    """
    target = venv / "bin" / "python"
    stamp = venv / ".installed"
    wanted = hashlib.sha256("\n".join([python, salt, *requirements]).encode()).hexdigest()
    if target.exists() and stamp.exists() and stamp.read_text() == wanted:
        return target
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True)
    proc = subprocess.run(
        [str(target), "-m", "pip", "install", "--quiet", *requirements],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pip install into {venv.name} failed:\n{proc.stderr[-4000:]}")
    stamp.write_text(wanted)
    return target
