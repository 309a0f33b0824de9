"""What ``walrus_flush`` deletes by default: the alias' PREFIXES, its caches' key spaces and
the key spaces of the walrus models registered in the admin that live on the alias."""

from __future__ import annotations

from typing import Any

from django.core.cache import caches
from django.utils.module_loading import import_string

from walrus.keyspace import escape_glob

from .conf import AliasDatabase, alias_settings, get_database

__all__ = ["default_patterns", "model_pattern", "model_prefix", "registered_model_prefixes"]


def default_patterns(alias: str) -> list[str]:
    """Glob patterns of everything this project stores under ``alias``: each configured
    prefix, the key space of each WalrusCache that uses the alias (or its URL), and the
    prefix of each admin-registered walrus model on the alias that no PREFIXES entry covers.
    No Redis work."""
    config = alias_settings(alias)
    prefixes: list[str] = list(config["PREFIXES"])
    patterns = [escape_glob(prefix) + "*" for prefix in prefixes]
    from django.conf import settings

    from .cache import WalrusCache

    for name, params in getattr(settings, "CACHES", {}).items():
        if params.get("BACKEND") != "django_walrus.cache.WalrusCache":
            continue
        backend = caches[name]
        assert isinstance(backend, WalrusCache)
        uses_alias = not backend._location and backend._alias == alias
        if uses_alias or backend._location == config["URL"]:
            patterns.append(backend._prefix_pattern())
    for prefix in registered_model_prefixes(alias):
        # A model under a configured prefix is already covered: one SCAN pass fewer.
        if not any(prefix.startswith(covered) for covered in prefixes):
            patterns.append(escape_glob(prefix) + "*")
    return list(dict.fromkeys(patterns))


def _on_alias(model: Any, alias: str) -> bool:
    for klass in model.__mro__:
        declared = vars(klass).get("__database__")
        if declared is None:
            continue
        if isinstance(declared, AliasDatabase):
            return declared.alias == alias
        # A Database object: the alias' own when the model took get_database(alias).
        return declared is get_database(alias)
    return False


def registered_model_prefixes(alias: str) -> list[str]:
    """Key prefixes of the walrus models registered in the admin whose ``__database__`` is
    this alias' (``AliasDatabase(alias)`` or ``get_database(alias)``). No Redis work."""
    from django.apps import apps

    if not apps.is_installed("django.contrib.admin"):
        return []
    from .admin.registry import load_registrations, registry_for

    load_registrations()
    return [model_prefix(a.model) for a in registry_for().admins() if _on_alias(a.model, alias)]


def model_prefix(model: Any) -> str:
    """The literal key prefix of a walrus Model class (every key of the model starts with it). No
    Redis work."""
    from walrus.models import Model

    if isinstance(model, type) and issubclass(model, Model):
        # The model's own prefix: lower-case name, and its hash tag on Redis Cluster.
        walrus_model: Any = model
        return str(walrus_model._prefix().decode("utf-8"))
    namespace = getattr(model, "__namespace__", None)
    name = model.__name__.lower() if getattr(model, "_lowercase_names", False) else model.__name__
    return f"{namespace}|{name}:" if namespace else f"{name}:"


def model_pattern(dotted_path: str) -> str:
    """The key pattern of a walrus Model given by dotted path (``app.models.Note``). No Redis
    work."""
    try:
        model: Any = import_string(dotted_path)
    except ImportError as exc:
        raise ValueError(f"cannot import model {dotted_path!r}: {exc}") from None
    if not isinstance(model, type) or not hasattr(model, "__database__"):
        raise ValueError(f"{dotted_path!r} is not a walrus Model class")
    return escape_glob(model_prefix(model)) + "*"
