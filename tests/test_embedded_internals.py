"""The memory:// engine builds on private fakeredis names (walrus/embedded_commands.py): every
one of them exists in the installed fakeredis, and a release that moves one makes importing
the engine fail with a message naming the fakeredis version and the supported range."""

from __future__ import annotations

import importlib
import subprocess
import sys

import fakeredis
import pytest

from walrus.embedded_commands import PRIVATE_IMPORTS


@pytest.mark.parametrize(("module", "names"), PRIVATE_IMPORTS, ids=[m for m, _ in PRIVATE_IMPORTS])
def test_private_fakeredis_names_exist(module: str, names: tuple[str, ...]) -> None:
    found = importlib.import_module(module)
    missing = [name for name in names if not hasattr(found, name)]
    assert not missing, f"fakeredis {fakeredis.__version__} moved {missing} out of {module}"


def test_a_moved_internal_is_a_clear_import_error() -> None:
    code = (
        "import fakeredis._helpers as helpers\n"
        "del helpers.SimpleError\n"  # as if a release moved it
        "import walrus.embedded_commands\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: memory:// builds on fakeredis internals")
    assert f"fakeredis {fakeredis.__version__}" in last and "fakeredis>=2.26,<3" in last
