"""The index checker and rebuilder behind ``Model.check_indexes`` / ``rebuild_indexes``.

The check reads the rows first (``P all``, a SCAN of the row hashes, pipelined HGETALL),
then the index keys (SCAN, pipelined SMEMBERS / ZRANGE), and compares. Rows written while
it reads can make it report entries that were right by the time they were read
(an entry of a row created after the row read looks orphaned). So every repair is
re-checked in Redis at repair time (``model_reindex.lua``): an index entry depends on one
field of one row, and the fix carries the value of that field it was computed from; it is
applied only if the row still holds that value, atomically with the check. A concurrent
write therefore never loses an index entry; a fix skipped that way belongs to a write that
maintained its own entries.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from ..calls import Batch, call
from ..keyspace import ScanPages
from .fields import ABSOLUTE, CONTINUOUS, FTS, LEX, Field
from .indexes import IndexProblem, field_entries
from .writer import Nested, run_model

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model

__all__ = [
    "Fix",
    "check_indexes",
    "check_indexes_steps",
    "inspect",
    "inspect_steps",
    "rebuild_indexes",
    "rebuild_indexes_steps",
]

READ_BATCH = 500  # keys per pipelined read
FIX_BATCH = 200  # fixes per repair script call (each call is atomic and short)
_TYPES = {"S": "set", "Z": "zset"}

Slot = tuple[str, bytes, bytes]  # (type, index key, member)
Steps = Generator[Any, Any, Any]  # a call written as steps (walrus.steps)


@dataclass(frozen=True)
class Fix:
    """One guarded repair (see ``model_reindex.lua``).

    ``action``: "+S"/"-S"/"+Z"/"-Z" add or remove an index entry, "+A"/"-A" list or unlist
    a row in ``P all``. ``row``/``field``/``raw``: the row whose current value decides,
    the field, and its stored value when the decision was made (None: absent); ``row``
    None when the member names no row of the model (the fix then always applies).
    """

    action: str
    key: bytes
    member: bytes
    score: str = ""
    row: bytes | None = None
    field: str = ""
    raw: bytes | None = None


def _glob_escape(data: bytes) -> bytes:
    return re.sub(rb"([*?\[\]\\])", rb"\\\1", data)


def _scan_steps(model: type[Model], pattern: bytes) -> Steps:
    """The keys matching ``pattern``: SCAN pages of 1000 (1 round trip each; on Redis Cluster
    every primary's cursor is followed, as redis-py's ``scan_iter``: ``ScanPages``)."""
    found: list[Any] = []
    pages = ScanPages(model._db(), pattern, 1000)
    while (page := (yield from pages.next())) is not None:
        found.extend(page)
    return [bytes(k) for k in found]


def _score(text: str) -> str:
    # Scores are compared as Redis returns them (a double); a stored value that is not a
    # number keeps its text, so it shows up as a problem rather than crashing the check.
    try:
        return repr(float(text))
    except ValueError:
        return text


def _rows_steps(model: type[Model]) -> Steps:
    """The row hashes (key -> fields) and the problems of ``P all``, as steps."""
    all_key = model._make_key("all")
    listed = {bytes(m) for m in (yield call.smembers(all_key))}
    row_prefix = model._make_key("id", b"")
    hashes = set((yield from _scan_steps(model, _glob_escape(row_prefix) + b"*")))
    found: list[tuple[IndexProblem, Fix | None]] = []
    candidates = sorted(listed | hashes)
    data: dict[bytes, dict[str, bytes]] = {}
    for start in range(0, len(candidates), READ_BATCH):
        chunk = candidates[start : start + READ_BATCH]
        reads = [read for key in chunk for read in (call.type(key), call.hgetall(key))]
        replies = yield Batch(reads, transaction=False)
        for i, key in enumerate(chunk):
            key_type = replies[2 * i]
            key_type = key_type.decode() if isinstance(key_type, bytes) else str(key_type)
            if key_type != "hash":
                if key in listed:
                    # A member outside the row prefix cannot become a row: unlist it unguarded.
                    row = key if key.startswith(row_prefix) else None
                    found.append(
                        (
                            IndexProblem("dangling-row", all_key, key, "row hash is missing"),
                            Fix("-A", all_key, key, row=row),
                        )
                    )
                continue
            data[key] = {
                (k.decode() if isinstance(k, bytes) else k): v
                for k, v in replies[2 * i + 1].items()
            }
            if key not in listed:
                found.append(
                    (
                        IndexProblem(
                            "unlisted-row", all_key, key, "row hash is not in the all set"
                        ),
                        Fix("+A", all_key, key, row=key),
                    )
                )
    return data, found


def _index_slot(field: Field, rest: bytes, sep: bytes) -> tuple[str, str] | None:
    """(entry type, index kind) of the key ``<field base><rest>`` among ``field``'s
    indexes, or None when it is none of them."""
    # Equality sets a __compact_indexes__ model does not keep are still read, so the check
    # reports them and rebuild_indexes removes them (switching to compact).
    if ABSOLUTE in field.index_kinds + field.indexes and rest.startswith(ABSOLUTE.encode() + sep):
        return "S", ABSOLUTE
    if CONTINUOUS in field.indexes and rest == CONTINUOUS.encode():
        return "Z", CONTINUOUS
    if LEX in field.indexes and rest == LEX.encode():
        return "Z", LEX
    if FTS in field.indexes and rest.startswith(FTS.encode() + sep):
        return "Z", FTS
    return None


def _index_keys_steps(model: type[Model]) -> Steps:
    """Every index key present: (entry type, key, field name, index kind). One SCAN per
    indexed field."""
    sep = model.index_separator.encode()
    found: list[tuple[str, bytes, str, str]] = []
    for name in model._indexed:
        field = model._fields[name]
        base = model._make_key(name) + sep
        for key in (yield from _scan_steps(model, _glob_escape(base) + b"*")):
            slot = _index_slot(field, key[len(base) :], sep)
            if slot is not None:
                found.append((slot[0], key, name, slot[1]))
    return found


def _actual_entries(model: type[Model]) -> dict[Slot, tuple[str, str, str]]:
    """Every index entry present: slot -> (score, field name, index kind). The SCANs of
    ``_index_keys_steps``, then 1 round trip per 500 index keys."""
    return cast("dict[Slot, tuple[str, str, str]]", run_model(model, _actual_entries_steps(model)))


def _actual_entries_steps(model: type[Model]) -> Steps:
    """``_actual_entries`` as steps, for either client."""
    found = yield from _index_keys_steps(model)
    entries: dict[Slot, tuple[str, str, str]] = {}
    for start in range(0, len(found), READ_BATCH):
        chunk = found[start : start + READ_BATCH]
        reads = [
            call.smembers(key) if kind == "S" else call.zrange(key, 0, -1, withscores=True)
            for kind, key, _name, _index in chunk
        ]
        replies = yield Batch(reads, transaction=False)
        for (kind, key, name, index), reply in zip(chunk, replies, strict=True):
            if kind == "S":
                for member in reply:
                    entries[("S", key, bytes(member))] = ("", name, index)
            else:
                for member, score in reply:
                    entries[("Z", key, bytes(member))] = (repr(float(score)), name, index)
    return entries


def _owner(model: type[Model], member: bytes, index: str) -> bytes | None:
    """The row key an index member stands for, or None when it names no row of the model."""
    if index == LEX:
        if b"\x00" not in member:
            return None
        member = member.split(b"\x00", 1)[1]
    return member if member.startswith(model._make_key("id", b"")) else None


# slot -> (score, row key, field name, the field's stored value it was computed from)
_Expected = dict[Slot, tuple[str, bytes, str, "bytes | None"]]
_Found = list[tuple[IndexProblem, "Fix | None"]]


def inspect(model: type[Model]) -> list[tuple[IndexProblem, Fix | None]]:
    """Every problem with the guarded fix that repairs it (None: reported only).
    Reads everything, O(rows + index entries): a SCAN for the rows and one per indexed
    field (1 round trip per 1000 keys of the database each), plus 1 round trip per 500
    keys read (pipelined)."""
    return cast("list[tuple[IndexProblem, Fix | None]]", run_model(model, inspect_steps(model)))


def inspect_steps(model: type[Model]) -> Steps:
    """``inspect`` as steps, for either client (on a sync one, ``_actual_entries`` is called
    as such, looked up when it runs). Cost: that of ``inspect``."""
    data, found = yield from _rows_steps(model)
    expected = _expected_entries(model, data)
    actual = yield Nested(lambda: _actual_entries(model), lambda: _actual_entries_steps(model))
    found.extend(_unexpected(model, data, expected, actual))
    found.extend(_missing(expected, actual))
    found.extend(_duplicates(model, data))
    return found


def _expected_entries(model: type[Model], data: dict[bytes, dict[str, bytes]]) -> _Expected:
    """The index entries the rows ``data`` call for."""
    expected: _Expected = {}
    for key, stored in data.items():
        for name in model._indexed:
            value = stored.get(name)
            for kind, ekey, member, score in field_entries(model, model._fields[name], value, key):
                expected[(kind, ekey, member)] = (
                    _score(score) if kind == "Z" else "",
                    key,
                    name,
                    value,
                )
    return expected


def _unexpected(
    model: type[Model],
    data: dict[bytes, dict[str, bytes]],
    expected: _Expected,
    actual: dict[Slot, tuple[str, str, str]],
) -> _Found:
    """Entries present that no row calls for (orphans), or with the wrong score."""
    found: _Found = []
    for slot, (score, name, index) in sorted(actual.items()):
        kind, key, member = slot
        if slot not in expected:
            owner = _owner(model, member, index)
            seen = data.get(owner, {}).get(name) if owner is not None else None
            fix = Fix("-" + kind, key, member, row=owner, field=name, raw=seen)
            found.append(
                (IndexProblem("orphan", key, member, "no row has this entry", _TYPES[kind]), fix)
            )
        elif expected[slot][0] != score:
            want, row, field_name, value = expected[slot]
            problem = IndexProblem(
                "wrong-score", key, member, f"score {score}, expected {want}", "zset"
            )
            found.append((problem, _add(slot, want, row, field_name, value)))
    return found


def _missing(expected: _Expected, actual: dict[Slot, tuple[str, str, str]]) -> _Found:
    """Entries the rows call for that are absent."""
    found: _Found = []
    for slot, (want, row, field_name, value) in sorted(expected.items()):
        if slot not in actual:
            kind, key, member = slot
            problem = IndexProblem(
                "missing", key, member, f"expected score {want}" if want else "", _TYPES[kind]
            )
            found.append((problem, _add(slot, want, row, field_name, value)))
    return found


def _duplicates(model: type[Model], data: dict[bytes, dict[str, bytes]]) -> _Found:
    """Values of a unique field (or group) shared by several rows (reported, not fixed)."""
    found: _Found = []
    groups = [(name,) for name in model._unique] + list(model._unique_together)
    for group in groups:
        combos: dict[tuple[bytes, ...], list[bytes]] = {}
        for key, raw in data.items():
            values = [raw.get(name) for name in group]
            present = [v for v in values if v is not None]
            if len(present) == len(values):
                combos.setdefault(tuple(present), []).append(key)
        for combo, keys in sorted(combos.items()):
            if len(keys) > 1:
                label = model._make_key(",".join(group))
                found.append(
                    (
                        IndexProblem(
                            "duplicate", label, b"\x00".join(combo), f"rows {sorted(keys)!r}"
                        ),
                        None,
                    )
                )
    return found


def _add(slot: Slot, score: str, row: bytes, name: str, raw: bytes | None) -> Fix | None:
    kind, key, member = slot
    if kind == "Z":
        try:
            float(score)
        except ValueError:
            return None  # the stored value is not a number: no score to write
    return Fix("+" + kind, key, member, score, row, name, raw)


def check_indexes(model: type[Model]) -> list[IndexProblem]:
    """Compare every index of ``model`` with its rows; the problems found ([] when
    consistent). Cost: the reads of ``inspect``, O(rows + index entries). While rows are
    being written, a row written during the check may be reported."""
    return cast("list[IndexProblem]", run_model(model, check_indexes_steps(model)))


def check_indexes_steps(model: type[Model]) -> Steps:
    """``check_indexes`` as steps, for either client. Cost: that of ``check_indexes``."""
    found = yield Nested(lambda: inspect(model), lambda: inspect_steps(model))
    return [problem for problem, _fix in found]


def rebuild_indexes(model: type[Model]) -> list[IndexProblem]:
    """Repair what ``check_indexes`` finds: drop orphaned entries, add missing ones, fix
    scores, list unlisted rows, unlist vanished ones (duplicates are reported, not
    changed). Safe while rows are written: each fix is re-checked against the row's
    current value in the same script that applies it, and skipped when the row changed.
    Returns the problems repaired. Cost: the reads of ``inspect``, then 1 round trip per
    200 fixes (one guarded script each)."""
    return cast("list[IndexProblem]", run_model(model, rebuild_indexes_steps(model)))


def rebuild_indexes_steps(model: type[Model]) -> Steps:
    """``rebuild_indexes`` as steps, for either client (on a sync one, ``inspect`` is called
    as such, looked up when it runs). Cost: that of ``rebuild_indexes``."""
    inspected = yield Nested(lambda: inspect(model), lambda: inspect_steps(model))
    found: list[tuple[IndexProblem, Fix]] = [
        (problem, fix) for problem, fix in inspected if fix is not None
    ]
    repaired: list[IndexProblem] = []
    for start in range(0, len(found), FIX_BATCH):
        chunk = found[start : start + FIX_BATCH]
        applied = yield from _apply_steps(model, [fix for _problem, fix in chunk])
        repaired.extend(
            problem for (problem, _fix), done in zip(chunk, applied, strict=True) if done
        )
    return repaired


def _apply_steps(model: type[Model], fixes: list[Fix]) -> Steps:
    """One ``model_reindex.lua`` call; which fixes were applied. 1 round trip."""
    keys: list[bytes] = []
    positions: dict[bytes, int] = {}

    def pos(key: bytes) -> int:
        if key not in positions:
            keys.append(key)
            positions[key] = len(keys)
        return positions[key]

    args: list[Any] = [len(fixes)]
    for fix in fixes:
        row = 0 if fix.row is None else pos(fix.row)
        present = "0" if fix.raw is None else "1"
        args.extend(
            (
                fix.action,
                pos(fix.key),
                fix.member,
                fix.score,
                row,
                fix.field,
                present,
                fix.raw or b"",
            )
        )
    reply = yield call.run_script("model_reindex", keys=keys, args=args)
    return [bool(int(done)) for done in reply]
