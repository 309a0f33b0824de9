"""Secondary index entries of a row, unique checks, and the index checker / rebuilder.

Every index entry is a tuple ``(type, key, member, score)``: type ``"S"`` is a set member
(score ``""``), ``"Z"`` a sorted-set member with its score as text. Entries are computed
from the row's stored bytes, so the same function describes what a write adds and what a
later write or delete must remove.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .fields import ABSOLUTE, CONTINUOUS, FTS, LEX, Field

if TYPE_CHECKING:  # pragma: no cover
    from .model import Model

__all__ = ["Entry", "IndexProblem", "check_indexes", "rebuild_indexes", "row_entries", "unique_checks"]

Entry = tuple[str, bytes, bytes, str]
_TYPES = {"S": "set", "Z": "zset"}
BATCH = 500  # rows per pipelined HGETALL batch in the checker


def field_entries(model: type[Model], field: Field, raw: bytes | None, member: bytes) -> list[Entry]:
    """Index entries of one field's stored value (none for None)."""
    if raw is None:
        return []
    entries: list[Entry] = []
    for kind in field.indexes:
        if kind == ABSOLUTE:
            entries.append(("S", model._make_key(field.name, ABSOLUTE, field.index_value(raw)), member, ""))
        elif kind == CONTINUOUS:
            entries.append(("Z", model._make_key(field.name, CONTINUOUS), member, raw.decode("ascii", "replace")))
        elif kind == LEX:
            entries.append(("Z", model._make_key(field.name, LEX), raw + b"\x00" + member, "0"))
        elif kind == FTS:
            text = raw.decode("utf-8", "replace")
            for token, score in field.tokenizer.tokenize(text).items():  # type: ignore[attr-defined]
                entries.append(("Z", model._make_key(field.name, FTS, token), member, repr(-score)))
    return entries


def row_entries(model: type[Model], raw: Mapping[str, bytes | None], member: bytes) -> set[Entry]:
    """Every index entry of a row whose stored field values are ``raw``."""
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
    "a,b"), and each reference field with a value ("E": the referenced row exists)."""
    checks: list[Check] = []
    for name in model._unique:
        value = raw.get(name)
        if value is None:
            continue
        field = model._fields[name]
        if CONTINUOUS in field.indexes:
            checks.append(("Z", [model._make_key(name, CONTINUOUS)], value, value, name))
        else:
            checks.append(("S", [model._make_key(name, ABSOLUTE, field.index_value(value))], b"", b"", name))
    for group in model._unique_together:
        values = [raw.get(name) for name in group]
        if any(v is None for v in values):
            continue
        keys = [
            model._make_key(name, ABSOLUTE, model._fields[name].index_value(v))  # type: ignore[arg-type]
            for name, v in zip(group, values, strict=True)
        ]
        checks.append(("I", keys, b"", b"", ",".join(group)))
    for name in model._references:
        value = raw.get(name)
        if value is not None:
            target = model._fields[name].rel_model  # type: ignore[attr-defined]
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


def _glob_escape(data: bytes) -> bytes:
    return re.sub(rb"([*?\[\]\\])", rb"\\\1", data)


def _scan(db: Any, pattern: bytes) -> list[bytes]:
    return [bytes(k) if not isinstance(k, bytes) else k for k in db.scan_iter(match=pattern, count=1000)]


def _rows(model: type[Model]) -> tuple[set[bytes], dict[bytes, dict[str, bytes]], list[IndexProblem]]:
    db = model.__database__
    all_key = model._make_key("all")
    listed = {bytes(m) for m in db.smembers(all_key)}
    row_prefix = model._make_key("id", b"")
    hashes = set(_scan(db, _glob_escape(row_prefix) + b"*"))
    problems: list[IndexProblem] = []
    candidates = sorted(listed | hashes)
    data: dict[bytes, dict[str, bytes]] = {}
    for start in range(0, len(candidates), BATCH):
        chunk = candidates[start : start + BATCH]
        pipe = db.pipeline(transaction=False)
        for key in chunk:
            pipe.type(key)
            pipe.hgetall(key)
        replies = pipe.execute()
        for i, key in enumerate(chunk):
            key_type = replies[2 * i]
            key_type = key_type.decode() if isinstance(key_type, bytes) else str(key_type)
            if key_type != "hash":
                if key in listed:
                    problems.append(IndexProblem("dangling-row", all_key, key, "row hash is missing"))
                continue
            data[key] = {(k.decode() if isinstance(k, bytes) else k): v for k, v in replies[2 * i + 1].items()}
            if key not in listed:
                problems.append(IndexProblem("unlisted-row", all_key, key, "row hash is not in the all set"))
    return listed, data, problems


def _actual_entries(model: type[Model]) -> set[Entry]:
    db = model.__database__
    sep = model.index_separator.encode()
    found: list[tuple[str, bytes]] = []
    for name in model._indexed:
        field = model._fields[name]
        base = model._make_key(name) + sep
        for key in _scan(db, _glob_escape(base) + b"*"):
            rest = key[len(base) :]
            if ABSOLUTE in field.indexes and rest.startswith(ABSOLUTE.encode() + sep):
                found.append(("S", key))
            elif CONTINUOUS in field.indexes and rest == CONTINUOUS.encode():
                found.append(("Z", key))
            elif LEX in field.indexes and rest == LEX.encode():
                found.append(("Z", key))
            elif FTS in field.indexes and rest.startswith(FTS.encode() + sep):
                found.append(("Z", key))
    entries: set[Entry] = set()
    for start in range(0, len(found), BATCH):
        chunk = found[start : start + BATCH]
        pipe = db.pipeline(transaction=False)
        for kind, key in chunk:
            if kind == "S":
                pipe.smembers(key)
            else:
                pipe.zrange(key, 0, -1, withscores=True)
        for (kind, key), reply in zip(chunk, pipe.execute(), strict=True):
            if kind == "S":
                entries.update(("S", key, bytes(m), "") for m in reply)
            else:
                entries.update(("Z", key, bytes(m), repr(float(s))) for m, s in reply)
    return entries


def _normalise(entries: Iterable[Entry]) -> set[Entry]:
    return {(t, k, m, repr(float(s)) if t == "Z" else s) for t, k, m, s in entries}


def check_indexes(model: type[Model]) -> list[IndexProblem]:
    """Compare every index of ``model`` with its rows; return the problems found ([] when
    consistent). Reads everything: SCAN plus pipelined batches, O(rows + index entries)."""
    _listed, data, problems = _rows(model)
    expected: set[Entry] = set()
    for key, raw in data.items():
        expected |= row_entries(model, raw, key)
    expected = _normalise(expected)
    actual = _actual_entries(model)
    by_slot_actual = {(t, k, m): s for t, k, m, s in actual}
    by_slot_expected = {(t, k, m): s for t, k, m, s in expected}
    for slot, score in sorted(by_slot_actual.items()):
        if slot not in by_slot_expected:
            problems.append(IndexProblem("orphan", slot[1], slot[2], "no row has this entry", _TYPES[slot[0]]))
        elif by_slot_expected[slot] != score:
            problems.append(
                IndexProblem(
                    "wrong-score", slot[1], slot[2], f"score {score}, expected {by_slot_expected[slot]}", "zset"
                )
            )
    for slot, score in sorted(by_slot_expected.items()):
        if slot not in by_slot_actual:
            detail = f"expected score {score}" if score else ""
            problems.append(IndexProblem("missing", slot[1], slot[2], detail, _TYPES[slot[0]]))
    groups = [(name,) for name in model._unique] + list(model._unique_together)
    for group in groups:
        combos: dict[tuple[bytes, ...], list[bytes]] = {}
        for key, raw in data.items():
            values = tuple(raw.get(name) for name in group)
            if all(v is not None for v in values):
                combos.setdefault(values, []).append(key)  # type: ignore[arg-type]
        for combo, keys in sorted(combos.items()):
            if len(keys) > 1:
                label = model._make_key(",".join(group))
                problems.append(IndexProblem("duplicate", label, b"\x00".join(combo), f"rows {sorted(keys)!r}"))
    return problems


def rebuild_indexes(model: type[Model]) -> list[IndexProblem]:
    """Repair what ``check_indexes`` finds: drop orphaned entries, add missing ones, fix
    scores, list unlisted rows, unlist vanished ones (duplicates are reported, not changed).
    One MULTI/EXEC for the repairs after the read. Returns the problems it repaired."""
    problems = check_indexes(model)
    if not problems:
        return []
    db = model.__database__
    _listed, data, _ = _rows(model)
    expected = _normalise(set().union(*(row_entries(model, raw, key) for key, raw in data.items())) if data else set())
    wanted = {(t, k, m): s for t, k, m, s in expected}
    pipe = db.pipeline(transaction=True)
    repaired = []
    for problem in problems:
        slot_s = ("S", problem.key, problem.member)
        slot_z = ("Z", problem.key, problem.member)
        if problem.kind == "orphan":
            if problem.key_type == "set":
                pipe.srem(problem.key, problem.member)
            else:
                pipe.zrem(problem.key, problem.member)
        elif problem.kind in ("missing", "wrong-score"):
            if slot_s in wanted:
                pipe.sadd(problem.key, problem.member)
            elif slot_z in wanted:
                pipe.zadd(problem.key, {problem.member: float(wanted[slot_z])})
        elif problem.kind == "unlisted-row":
            pipe.sadd(problem.key, problem.member)
        elif problem.kind == "dangling-row":
            pipe.srem(problem.key, problem.member)
        else:
            continue
        repaired.append(problem)
    pipe.execute()
    return repaired
