"""What ``walrus_flush`` deletes by default: the alias' PREFIXES and its caches' key spaces."""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from django.utils.module_loading import import_string

from walrus.keyspace import escape_glob

from .conf import alias_settings

__all__ = ["default_patterns", "model_pattern"]


def default_patterns(alias: str) -> list[str]:
    """Glob patterns of everything this project stores under ``alias``: each configured prefix
    and the key space of each WalrusCache that uses the alias (or its URL)."""
    config = alias_settings(alias)
    patterns = [escape_glob(prefix) + "*" for prefix in config["PREFIXES"]]
    from django.conf import settings

    from .cache import WalrusCache

    for name, params in getattr(settings, "CACHES", {}).items():
        if params.get("BACKEND") != "django_walrus.cache.WalrusCache":
            continue
        backend = caches[name]
        assert isinstance(backend, WalrusCache)
        uses_alias = backend._location in (None, "") and (backend._alias or "default") == alias
        if uses_alias or backend._location == config["URL"]:
            patterns.append(backend._prefix_pattern())
    return list(dict.fromkeys(patterns))


def model_pattern(dotted_path: str) -> str:
    """The key pattern of a walrus Model given by dotted path (``app.models.Note``)."""
    try:
        model: Any = import_string(dotted_path)
    except ImportError as exc:
        raise ValueError(f"cannot import model {dotted_path!r}: {exc}") from None
    namespace = getattr(model, "__namespace__", None)
    if not isinstance(model, type) or not hasattr(model, "__database__"):
        raise ValueError(f"{dotted_path!r} is not a walrus Model class")
    from walrus.models import Model

    if issubclass(model, Model):
        # The model's own prefix: lower-case name, and its hash tag on Redis Cluster.
        walrus_model: Any = model
        return escape_glob(walrus_model._prefix().decode("utf-8")) + "*"
    name = model.__name__.lower() if getattr(model, "_lowercase_names", False) else model.__name__
    prefix = f"{namespace}|{name}:" if namespace else f"{name}:"
    return escape_glob(prefix) + "*"
