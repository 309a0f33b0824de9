"""Lua scripts of the walrus core, one per ``.lua`` file, run by name via ``Database.run_script``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["load_script_source"]


def load_script_source(name: str, script_dir: str | Path | None = None) -> str | None:
    """Return the Lua source of ``name`` (without ``.lua``), or None when no such file exists.

    ``script_dir`` (a user's folder) is looked at first, then the scripts shipped in this package.
    No Redis work (a file read).
    """
    filename = f"{name}.lua"
    if script_dir is not None:
        candidate = Path(script_dir) / filename
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    packaged = resources.files(__name__).joinpath(filename)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return None
