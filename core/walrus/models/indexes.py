"""Secondary index entries of a row, unique checks, and the index checker / rebuilder.

Every index entry is a tuple ``(type, key, member, score)``: type ``"S"`` is a set member
(score ``""``), ``"Z"`` a sorted-set member with its score as text. Entries are computed
from the row's stored bytes, so the same function describes what a write adds and what a
later write or delete must remove.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from .fields import ABSOLUTE, CONTINUOUS, FTS, LEX, Field

if TYPE_CHECKING:  # pragma: no cover
    from .fields import TextField
    from .model import Model
    from .relations import ForeignKeyField

__all__ = [
    "Entry",
    "IndexProblem",
    "check_indexes",
    "rebuild_indexes",
    "row_entries",
    "unique_checks",
]

Entry = tuple[str, bytes, bytes, str]
"""One index entry: (``"S"`` set or ``"Z"`` sorted set, key, member, score text)."""


def field_entries(
    model: type[Model], field: Field, raw: bytes | None, member: bytes
) -> list[Entry]:
    """Index entries of one field's stored value (none for None). No Redis work."""
    if raw is None:
        return []
    entries: list[Entry] = []
    for kind in field.indexes:
        if kind == ABSOLUTE:
            entries.append(
                ("S", model._make_key(field.name, ABSOLUTE, field.index_value(raw)), member, "")
            )
        elif kind == CONTINUOUS:
            entries.append(
                (
                    "Z",
                    model._make_key(field.name, CONTINUOUS),
                    member,
                    raw.decode("ascii", "replace"),
                )
            )
        elif kind == LEX:
            entries.append(("Z", model._make_key(field.name, LEX), raw + b"\x00" + member, "0"))
        elif kind == FTS:
            text = raw.decode("utf-8", "replace")
            tokenizer = cast("TextField", field).tokenizer  # only text fields keep FTS
            for token, score in tokenizer.tokenize(text).items():
                entries.append(("Z", model._make_key(field.name, FTS, token), member, repr(-score)))
    return entries


def row_entries(model: type[Model], raw: Mapping[str, bytes | None], member: bytes) -> set[Entry]:
    """Every index entry of a row whose stored field values are ``raw``. No Redis work."""
    entries: set[Entry] = set()
    for name in model._indexed:
        entries.update(field_entries(model, model._fields[name], raw.get(name), member))
    return entries


Check = tuple[str, list[bytes], bytes, bytes, str]


def unique_checks(model: type[Model], raw: Mapping[str, bytes | None]) -> list[Check]:
    """``(kind, keys, min, max, label)`` for what a write of the stored values ``raw``
    must verify (see ``model_write.lua``): each unique field with a value ("S": its
    equality set, "Z": its range index within min..max), each ``__unique_together__``
    group whose values are all set ("I": the intersection of their equality sets; label
    "a,b"), and each reference field with a value ("E": the referenced row exists). No
    Redis work."""
    checks: list[Check] = []
    for name in model._unique:
        value = raw.get(name)
        if value is None:
            continue
        field = model._fields[name]
        kinds = field.indexes
        if CONTINUOUS in kinds:
            checks.append(("Z", [model._make_key(name, CONTINUOUS)], value, value, name))
        elif ABSOLUTE not in kinds and LEX in kinds:  # __compact_indexes__
            checks.append(
                (
                    "L",
                    [model._make_key(name, LEX)],
                    b"[" + value + b"\x00",
                    b"(" + value + b"\x01",
                    name,
                )
            )
        else:
            checks.append(
                ("S", [model._make_key(name, ABSOLUTE, field.index_value(value))], b"", b"", name)
            )
    for group in model._unique_together:
        values = [raw.get(name) for name in group]
        present = [v for v in values if v is not None]
        if len(present) != len(values):
            continue
        keys = [
            model._make_key(name, ABSOLUTE, model._fields[name].index_value(v))
            for name, v in zip(group, present, strict=True)
        ]
        checks.append(("I", keys, b"", b"", ",".join(group)))
    for name in model._references:
        value = raw.get(name)
        if value is not None:
            target = cast("ForeignKeyField", model._fields[name]).rel_model
            checks.append(("E", [target._make_key("id", value)], b"", b"", name))
    return checks


@dataclass(frozen=True)
class IndexProblem:
    """One inconsistency found by ``Model.check_indexes``.

    ``kind``: ``"orphan"`` (an index entry no row accounts for), ``"missing"`` (a row's
    entry absent from its index), ``"wrong-score"``, ``"unlisted-row"`` (a row hash absent
    from ``P all``), ``"dangling-row"`` (``P all`` lists a row whose hash is gone),
    ``"duplicate"`` (a unique field shared by several rows).
    """

    kind: str
    key: bytes
    member: bytes
    detail: str = ""
    key_type: str = ""  # "set" or "zset" for index entries


def check_indexes(model: type[Model]) -> list[IndexProblem]:
    """Compare every index of ``model`` with its rows (see ``reindex.check_indexes``).
    Cost: O(rows + index entries) reads, 1 round trip per 500 keys plus the SCANs."""
    from .reindex import check_indexes as check

    return check(model)


def rebuild_indexes(model: type[Model]) -> list[IndexProblem]:
    """Repair what ``check_indexes`` finds (see ``reindex.rebuild_indexes``). Cost: the
    check's reads, then 1 round trip per 200 fixes."""
    from .reindex import rebuild_indexes as rebuild

    return rebuild(model)
