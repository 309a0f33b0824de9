"""Lua scripts of the walrus core, one per ``.lua`` file, run by name via
``Database.run_script``."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

__all__ = ["READ_ONLY_SUFFIX", "load_script_source"]


#: Suffix of a script's read-only variant: ``<name>@ro`` is ``<name>.lua`` declared
#: ``#!lua flags=no-writes``, for the calls of a write script that only read (a rate-limit
#: look): a full server or a replica runs it, and it is resent safely.
READ_ONLY_SUFFIX = "@ro"
"""Suffix of a script's read-only variant (``rate_limit@ro``)."""

# A line "--@include <name>" is replaced by the packaged <name>.luainc: Lua helpers shared by
# several scripts (Redis has no import; the server sees one expanded source).
_INCLUDE = re.compile(r"^--@include ([A-Za-z0-9_]+)$", re.M)


def _expand(name: str, source: str) -> str:
    def helper(match: re.Match[str]) -> str:
        part = resources.files(__name__).joinpath(f"{match.group(1)}.luainc")
        if not part.is_file():
            raise ValueError(f"script {name!r} includes {match.group(1)!r}: no such helper")
        return part.read_text(encoding="utf-8").rstrip("\n")

    return _INCLUDE.sub(helper, source)


def load_script_source(name: str, script_dir: str | Path | None = None) -> str | None:
    """Return the Lua source of ``name`` (without ``.lua``), or None when no such file exists.

    ``script_dir`` (a user's folder) is looked at first, then the scripts shipped in this package.
    ``<name>@ro`` is ``<name>``'s source with its ``#!lua`` line replaced by
    ``#!lua flags=no-writes`` (the server refuses any write it would attempt). A line
    ``--@include <helper>`` becomes the packaged ``<helper>.luainc`` (``ValueError`` when there
    is none). No Redis work (a file read).
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
            return _expand(name, candidate.read_text(encoding="utf-8"))
    packaged = resources.files(__name__).joinpath(filename)
    if packaged.is_file():
        return _expand(name, packaged.read_text(encoding="utf-8"))
    return None
