"""limpyd fields: one Redis data structure (or hash entry) per field, with its commands.

``HashableField`` (the README's name) and ``InstanceHashField`` (redis-limpyd 2.x) are the
same class.
"""

from __future__ import annotations

from .base import RedisField
from .multi import HashField, ListField, SetField, SortedSetField
from .single import AutoPKField, HashableField, InstanceHashField, PKField, StringField

__all__ = [
    "AutoPKField",
    "HashField",
    "HashableField",
    "InstanceHashField",
    "ListField",
    "PKField",
    "PKStringField",
    "RedisField",
    "SetField",
    "SortedSetField",
    "StringField",
]

# Name used in one README example for a string primary key.
PKStringField = PKField
"""The name one README example uses for a string primary key: `PKField`."""
