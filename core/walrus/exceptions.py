"""Exception hierarchy of the walrus core."""

from __future__ import annotations

__all__ = ["WalrusError", "ScriptNotFound", "EmbeddedEngineUnavailable"]


class WalrusError(Exception):
    """Base class of every error the walrus suite raises itself."""


class ScriptNotFound(WalrusError, LookupError):  # noqa: N818  public name, exported by walrus
    """``run_script`` was asked for a script name with no ``.lua`` file."""


class EmbeddedEngineUnavailable(WalrusError, ImportError):  # noqa: N818  public, exported name
    """``memory://`` was requested but fakeredis/lupa are not installed."""
