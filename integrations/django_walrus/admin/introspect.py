"""What the admin needs to know about a walrus Model class, in one place.

The walrus ``Model`` exposes its field table as class attributes (``_fields``,
``_primary_key``); every read of them by the admin goes through these helpers.
"""

from __future__ import annotations

from typing import Any

from walrus.models import (
    AutoIncrementField,
    BooleanField,
    Field,
    HashField,
    ListField,
    Model,
    SetField,
    TextField,
    ZSetField,
)

__all__ = [
    "CONTAINER_TYPES",
    "container_fields",
    "field",
    "fields",
    "fts_fields",
    "indexed_fields",
    "is_auto_pk",
    "is_model",
    "is_range_field",
    "label",
    "pk_name",
    "stored_fields",
]

CONTAINER_TYPES = (HashField, ListField, SetField, ZSetField)
"""Model field classes stored in keys of their own rather than in the row hash."""


def is_model(obj: Any) -> bool:
    """Whether ``obj`` is a walrus Model subclass (not Model itself). No Redis work."""
    return isinstance(obj, type) and issubclass(obj, Model) and obj is not Model


def fields(model: type[Model]) -> dict[str, Field]:
    """Every field of ``model`` by name, declaration order, primary key included. No Redis work."""
    return dict(model._fields)


def field(model: type[Model], name: str) -> Field:
    """The field ``name`` of ``model``; KeyError naming the model when it has none. No Redis
    work."""
    try:
        return model._fields[name]
    except KeyError:
        raise KeyError(f"{model.__name__} has no field {name!r}") from None


def pk_name(model: type[Model]) -> str:
    """The name of ``model``'s primary key field. No Redis work."""
    return str(model._primary_key)


def is_auto_pk(model: type[Model]) -> bool:
    """Whether ``model``'s primary key is allocated by the database (an `AutoIncrementField`). No
    Redis work."""
    return isinstance(model._fields[model._primary_key], AutoIncrementField)


def stored_fields(model: type[Model]) -> list[str]:
    """Fields stored in the row hash (not container fields), primary key first. No Redis work."""
    names = [n for n, f in model._fields.items() if not isinstance(f, CONTAINER_TYPES)]
    pk = pk_name(model)
    return [pk] + [n for n in names if n != pk]


def container_fields(model: type[Model]) -> list[str]:
    """Names of ``model``'s container fields (hash, list, set, zset), declaration order. No Redis
    work."""
    return [n for n, f in model._fields.items() if isinstance(f, CONTAINER_TYPES)]


def indexed_fields(model: type[Model]) -> list[str]:
    """Names of ``model``'s stored fields that have a secondary index, primary key first. No Redis
    work."""
    return [n for n in stored_fields(model) if model._fields[n].index]


def fts_fields(model: type[Model]) -> list[str]:
    """Names of ``model``'s full-text indexed text fields. No Redis work."""
    return [
        n
        for n in stored_fields(model)
        if isinstance(field := model._fields[n], TextField) and field.fts
    ]


def is_range_field(model_field: Field) -> bool:
    """Numbers, dates and datetimes: their index is a sorted set scored by value. No Redis work."""
    return "continuous" in model_field.indexes and not isinstance(model_field, BooleanField)


def label(model: type[Model], name: str) -> str:
    """How the admin names the field ``name`` on every page: ``"ID"`` for the implicit
    auto-increment key ``_id``, else the name with underscores as spaces and a capital first
    letter (``link_id`` -> ``"Link id"``), as Django names model fields. No Redis work."""
    if name == "_id" and name == pk_name(model) and is_auto_pk(model):
        return "ID"
    text = name.strip("_").replace("_", " ") or name
    return text[:1].upper() + text[1:]
