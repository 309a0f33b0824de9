"""Where a model's keys live: the single-server prefix and the Redis Cluster hash tag.

On one server (and on the ``memory://`` engine) a model's keys start with its plain prefix
``P`` = ``<namespace>|<model name>:`` (or ``<model name>:``), exactly as upstream walrus
lays them out.

On Redis Cluster every key of a model (row hashes, ``all``, every index, the sequence,
container fields and query temporaries) carries one hash tag, so that each write script and
each query script stays in one slot:

* by default the tag is the plain prefix without its trailing colon, and the prefix becomes
  ``{<namespace>|<model name>}:`` (``ns|usernote:`` -> ``{ns|usernote}:``);
* with ``__cluster_tag__ = "users"`` on the model, the prefix becomes ``{users}:`` followed
  by the plain prefix (``{users}:ns|usernote:``), so models choosing one tag share a slot
  and keep distinct keys.

Query temporaries are ``{<tag>}:temp.<uuid4>`` on a cluster (``temp.<uuid4>`` elsewhere).

Models joined by a relation (foreign key, many-to-many) must share a tag on a cluster: a
write checks the referenced row and a delete follows the relation in one script. The check
runs when a model's cluster prefix is first computed (its first use on a cluster) and
raises ``ClusterTagError`` naming both models.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from .errors import ClusterTagError

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model

__all__ = [
    "Query",
    "check_tag_option",
    "cluster_prefix",
    "cluster_tag",
    "forget_layout",
    "plain_prefix",
    "temp_key",
]

_CACHE = "_walrus_cluster_layout"


def plain_prefix(model: type[Model]) -> bytes:
    """The single-server prefix ``<namespace>|<name>:`` or ``<name>:`` (upstream layout).
    No Redis work."""
    name = model.__name__.lower()
    namespace = model.__namespace__
    return (f"{namespace}|{name}:" if namespace else f"{name}:").encode("utf-8")


def check_tag_option(model_name: str, value: Any) -> None:
    """Validate a ``__cluster_tag__`` declaration (None, or a non-empty str without braces).
    No Redis work."""
    if value is None:
        return
    if not isinstance(value, str) or not value:
        raise TypeError(
            f"{model_name}.__cluster_tag__ must be a non-empty str or None, got {value!r}"
        )
    if "{" in value or "}" in value:
        raise TypeError(
            f"{model_name}.__cluster_tag__ is the text between the braces, without '{{' or "
            f"'}}': got {value!r}"
        )


def cluster_tag(model: type[Model]) -> str:
    """The hash tag (without braces) of ``model``'s keys on a cluster. No Redis work."""
    declared = model.__cluster_tag__
    if declared:
        return declared
    return plain_prefix(model)[:-1].decode("utf-8")


def _own_prefix(model: type[Model]) -> bytes:
    tag = cluster_tag(model)
    plain = plain_prefix(model)
    head = b"{" + tag.encode("utf-8") + b"}:"
    return head if model.__cluster_tag__ is None else head + plain


def _check_relations(model: type[Model]) -> None:
    from .relations import _Relation

    tag = cluster_tag(model)
    for name, field in model._fields.items():
        if not isinstance(field, _Relation) or field._rel_model is None:
            continue
        target = field._rel_model
        other = cluster_tag(target)
        if other != tag:
            raise ClusterTagError(
                f"{model.__name__}.{name} relates {model.__name__} to {target.__name__}, but on "
                f"Redis Cluster {model.__name__}'s keys use the hash tag {{{tag}}} and "
                f"{target.__name__}'s use {{{other}}}: a write or delete following the relation "
                "would span hash slots. Give both models the same tag, e.g. "
                f'__cluster_tag__ = "{tag}" on {target.__name__} (or one shared name on both).'
            )


def cluster_prefix(model: type[Model], database: Any) -> bytes:
    """The tagged prefix of ``model`` on the cluster ``database`` (computed once per model
    and database; the first computation checks the model's relations: ClusterTagError).
    No Redis work."""
    cached = model.__dict__.get(_CACHE)
    if cached is not None and cached[0] is database and cached[1] == model.__cluster_tag__:
        return bytes(cached[2])
    check_tag_option(model.__name__, model.__cluster_tag__)
    _check_relations(model)
    prefix = _own_prefix(model)
    setattr(model, _CACHE, (database, model.__cluster_tag__, prefix))
    return prefix


def forget_layout(model: type[Model]) -> None:
    """Drop the cached cluster prefix (a relation was bound: check again on next use). No
    Redis work."""
    if _CACHE in model.__dict__:
        delattr(model, _CACHE)


def temp_key(model: type[Model]) -> str:
    """A fresh query temporary: ``temp.<uuid4>``, or ``{<tag>}:temp.<uuid4>`` on a cluster.
    No Redis work."""
    database = model.__database__
    name = f"temp.{uuid.uuid4()}"
    if database is not None and getattr(database, "is_cluster", False):
        cluster_prefix(model, database)  # relation check
        return "{" + cluster_tag(model) + "}:" + name
    return name


class Query:
    """Upstream's ``Model._query`` key helper (code that reads a model's keys directly uses
    it): ``make_key("status", "absolute", 1)`` gives the key as str. No Redis call."""

    def __init__(self, model_class: type[Model]) -> None:
        self.model_class = model_class

    def make_key(self, *parts: Any) -> str:
        """``P`` + the parts joined by the model's ``index_separator``. No Redis work."""
        raw = self.model_class._make_key(*(p if isinstance(p, bytes) else str(p) for p in parts))
        return raw.decode("utf-8")

    def get_primary_hash_key(self, primary_key: Any) -> str:
        """The row hash key of ``primary_key``. No Redis work."""
        return self.model_class._row_key(primary_key).decode("utf-8")

    def all_index(self) -> Any:
        """The ``Set`` of every row hash key. No Redis work: builds the container object."""
        database = self.model_class.__database__
        return database.Set(self.model_class._make_key("all"))
