"""Lua scripts of the walrus core, one per ``.lua`` file, run by name via
``Database.run_script``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["READ_ONLY_SUFFIX", "load_script_source"]


#: Suffix of a script's read-only variant: ``<name>@ro`` is ``<name>.lua`` declared
#: ``#!lua flags=no-writes``, for the calls of a write script that only read (a rate-limit
#: look): a full server or a replica runs it, and it is resent safely.
READ_ONLY_SUFFIX = "@ro"
"""Suffix of a script's read-only variant (``rate_limit@ro``)."""


def load_script_source(name: str, script_dir: str | Path | None = None) -> str | None:
    """Return the Lua source of ``name`` (without ``.lua``), or None when no such file exists.

    ``script_dir`` (a user's folder) is looked at first, then the scripts shipped in this package.
    ``<name>@ro`` is ``<name>``'s source with its ``#!lua`` line replaced by
    ``#!lua flags=no-writes`` (the server refuses any write it would attempt).
    No Redis work (a file read).
    """
    if name.endswith(READ_ONLY_SUFFIX):
        source = load_script_source(name[: -len(READ_ONLY_SUFFIX)], script_dir)
        if source is None:
            return None
        body = source.partition("\n")[2] if source.startswith("#!") else source
        return "#!lua flags=no-writes\n" + body
    filename = f"{name}.lua"
    if script_dir is not None:
        candidate = Path(script_dir) / filename
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    packaged = resources.files(__name__).joinpath(filename)
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return None
