"""limpyd's own Lua scripts (``limpyd_ops_*.lua``), looked up before walrus' scripts by the
``walrus.Database`` a :class:`~limpyd.database.RedisDatabase` creates."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["script_dir"]


def script_dir() -> Path:
    """The folder holding limpyd's ``.lua`` files. No Redis work."""
    return Path(str(resources.files(__name__)))
