"""walrus.models against upstream walrus 0.9.8: rows written by either library load and
query in the other, and both write the same keys for the same models and data.

Upstream walrus is installed once per machine (``pip install --no-deps --target``) into the
git-ignored ``.cache/upstream-walrus`` and run in a subprocess (its import name is ours too),
against the session's real server on a logical DB of its own.
"""

from __future__ import annotations

import datetime
import json
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.upstream_walrus import compat_db, ensure_upstream, run_upstream_code
from walrus import Database

pytestmark = pytest.mark.redis_only

COMPAT_DB = 11

# Model definitions shared verbatim by both libraries (same names, same API).
MODELS = """
class UserNote(Model):
    __database__ = db
    __namespace__ = "ns"
    name = TextField(index=True)
    n = IntegerField(index=True)
    score = FloatField(index=True)
    when = DateTimeField(index=True)
    day = DateField(index=True)
    flag = BooleanField(index=True)
    token = UUIDField(index=True)


class Plain(Model):
    __database__ = db
    title = TextField(fts=True)


class Keyed(Model):
    __database__ = db
    key = UUIDField(primary_key=True)
    label = TextField(index=True)
    rank = IntegerField(index=True)
"""

NOTES = [
    {
        "name": "ada",
        "n": 3,
        "score": 2.5,
        "when": datetime.datetime(2020, 1, 2, 3, 4, 5, 123456),
        "day": datetime.date(2020, 1, 2),
        "flag": True,
        "token": uuid.UUID(int=1),
    },
    {
        "name": "bob",
        "n": -4,
        "score": 0.1,
        "when": datetime.datetime(1969, 12, 31, 23, 59, 59, 500000),
        "day": datetime.date(1900, 5, 1),
        "flag": False,
        "token": uuid.UUID(int=2),
    },
    {
        "name": "cy",
        "n": 10,
        "score": 1e16,
        "when": datetime.datetime(2021, 6, 1),
        "day": datetime.date(1970, 1, 1),
        "flag": True,
        "token": uuid.UUID(int=3),
    },
]
TITLES = ["walrus tusks", "quick brown foxes jumped", "walrus swims north"]
KEYED = [
    {"key": uuid.UUID(int=7), "label": "seven", "rank": 7},
    {"key": uuid.UUID(int=8), "label": "eight", "rank": 8},
]

WRITE = """
for row in NOTES:
    UserNote.create(**row)
for title in TITLES:
    Plain.create(title=title)
for row in KEYED:
    Keyed.create(**row)
"""

# Reads both libraries run on the same data; every result is a sorted list of names.
READ = """
def names(rows):
    return sorted(r.name for r in rows)

def loaded(model, pk):
    row = model.load(pk)
    return {k: repr(v) for k, v in sorted(row._data.items())}

out["load"] = [loaded(UserNote, i) for i in (1, 2, 3)]
out["load_keyed"] = [loaded(Keyed, row["key"]) for row in KEYED]
out["eq_int"] = names(UserNote.query(UserNote.n == 3))
out["eq_int_neg"] = names(UserNote.query(UserNote.n == -4))
out["eq_text"] = names(UserNote.query(UserNote.name == "bob"))
out["eq_float"] = names(UserNote.query(UserNote.score == 0.1))
out["eq_bool"] = names(UserNote.query(UserNote.flag == True))  # noqa: E712
out["eq_uuid"] = names(UserNote.query(UserNote.token == uuid.UUID(int=3)))
out["eq_day"] = names(UserNote.query(UserNote.day == datetime.date(1900, 5, 1)))
when = datetime.datetime(2020, 1, 2, 3, 4, 5, 123456)
out["eq_when"] = names(UserNote.query(UserNote.when == when))
out["range_int"] = names(UserNote.query((UserNote.n >= 0) & (UserNote.n < 10)))
out["range_float"] = names(UserNote.query(UserNote.score > 1))
out["range_when"] = names(UserNote.query(UserNote.when < datetime.datetime(2020, 6, 1)))
out["range_day"] = names(UserNote.query(UserNote.day >= datetime.date(1970, 1, 1)))
either = (UserNote.n == 3) | (UserNote.n == 10)
out["and_or"] = names(UserNote.query((UserNote.flag == True) & either))  # noqa: E712
out["fts"] = sorted(p.title for p in Plain.query(Plain.title.search("walrus")))
out["fts_stem"] = sorted(p.title for p in Plain.query(Plain.title.search("jumping AND fox")))
out["pk_eq"] = sorted(k.label for k in Keyed.query(Keyed.rank == 8))
out["pk_uuid_eq"] = sorted(k.label for k in Keyed.query(Keyed.key == uuid.UUID(int=7)))
out["count"] = [UserNote.count(), Plain.count(), Keyed.count()]
"""

EXPECTED_READ = {
    "eq_int": ["ada"],
    "eq_int_neg": ["bob"],
    "eq_text": ["bob"],
    "eq_float": ["bob"],
    "eq_bool": ["ada", "cy"],
    "eq_uuid": ["cy"],
    "eq_day": ["bob"],
    "eq_when": ["ada"],
    "range_int": ["ada"],
    "range_float": ["ada", "cy"],
    "range_when": ["ada", "bob"],
    "range_day": ["ada", "cy"],
    "and_or": ["ada", "cy"],
    "fts": ["walrus swims north", "walrus tusks"],
    "fts_stem": ["quick brown foxes jumped"],
    "pk_eq": ["eight"],
    "pk_uuid_eq": ["seven"],
    "count": [3, 3, 2],
}

_PRELUDE = """
import datetime, json, sys, uuid
from uuid import UUID
import redis
import walrus
assert walrus.__file__.startswith(sys.argv[1]), walrus.__file__
from walrus import *
db = Database.from_url(sys.argv[2])
out = {}
"""


@pytest.fixture(scope="module")
def upstream() -> Path:
    return ensure_upstream()


@pytest.fixture
def compat(redis_server: Any) -> Iterator[tuple[str, redis.Redis]]:
    """URL and raw client of a flushed logical DB used by both libraries."""
    yield from compat_db(redis_server, COMPAT_DB)


def run_upstream(upstream: Path, url: str, body: str, tmp_path: Path) -> dict[str, Any]:
    """Run ``body`` under upstream walrus (models defined, data constants available) and
    return its ``out`` dict."""
    data = f"NOTES = {NOTES!r}\nTITLES = {TITLES!r}\nKEYED = {KEYED!r}\n"
    code = _PRELUDE + data + MODELS + textwrap.dedent(body)
    return run_upstream_code(code, url, tmp_path, TZ="UTC")  # type: ignore[no-any-return]


def run_ours(url: str, body: str) -> dict[str, Any]:
    import walrus

    db = Database.from_url(url)
    namespace: dict[str, Any] = {"db": db, "out": {}, "datetime": datetime, "uuid": uuid}
    namespace.update({name: getattr(walrus, name) for name in walrus.__all__})
    namespace.update({"NOTES": NOTES, "TITLES": TITLES, "KEYED": KEYED})
    exec(MODELS + textwrap.dedent(body), namespace)
    db.close()
    return json.loads(json.dumps(namespace["out"]))  # type: ignore[no-any-return]


def dump(client: redis.Redis) -> dict[bytes, Any]:
    """Every key with its type and index content (hashes: field names only, since the
    stored text of dates differs: "1577923200" vs "1577923200.0")."""
    state: dict[bytes, Any] = {}
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"set":
            state[key] = ("set", sorted(client.smembers(key)))
        elif kind == b"zset":
            state[key] = (
                "zset",
                [(m, round(s, 6)) for m, s in client.zrange(key, 0, -1, withscores=True)],
            )
        elif kind == b"hash":
            state[key] = ("hash", sorted(client.hkeys(key)))
        else:
            state[key] = (kind.decode(), client.get(key))
    return state


def _expected_loads() -> dict[str, Any]:
    notes = []
    for i, row in enumerate(NOTES, start=1):
        notes.append({k: repr(v) for k, v in sorted({**row, "_id": i}.items())})
    keyed = [{k: repr(v) for k, v in sorted(row.items())} for row in KEYED]
    return {"load": notes, "load_keyed": keyed}


def test_rows_written_by_upstream_read_in_ours(
    upstream: Path, compat: tuple[str, redis.Redis], tmp_path: Path
) -> None:
    url, client = compat
    run_upstream(upstream, url, WRITE, tmp_path)
    got = run_ours(url, READ)
    assert got == {**EXPECTED_READ, **_expected_loads()}
    # Only our lexicographic text index is absent from upstream's data; rebuild adds it.
    import walrus

    db = Database.from_url(url)
    namespace: dict[str, Any] = {"db": db, **{n: getattr(walrus, n) for n in walrus.__all__}}
    exec(MODELS, namespace)
    for name in ("UserNote", "Plain", "Keyed"):
        model = namespace[name]
        problems = model.check_indexes()
        assert {(p.kind, p.key.rsplit(b".", 1)[-1]) for p in problems} <= {("missing", b"lex")}, (
            problems
        )
        model.rebuild_indexes()
        assert model.check_indexes() == []
    assert [
        n.name for n in namespace["UserNote"].query(namespace["UserNote"].name.startswith("b"))
    ] == ["bob"]
    db.close()


def test_rows_written_by_ours_read_in_upstream(
    upstream: Path, compat: tuple[str, redis.Redis], tmp_path: Path
) -> None:
    url, client = compat
    run_ours(url, WRITE)
    got = run_upstream(upstream, url, READ, tmp_path)
    assert got == {**EXPECTED_READ, **_expected_loads()}


def test_updates_and_deletes_by_either_library_leave_the_other_consistent(
    upstream: Path, compat: tuple[str, redis.Redis], tmp_path: Path
) -> None:
    url, client = compat
    run_ours(url, WRITE)
    change = """
    row = UserNote.load(1)
    row.n = 11
    row.score = 0.25
    row.save()
    UserNote.load(2).delete()
    """
    # Upstream updates/deletes rows we wrote: our checker finds nothing left behind
    # (besides the .lex entries upstream does not maintain).
    run_upstream(upstream, url, change, tmp_path)
    after_upstream = dump(client)
    client.flushdb()
    run_ours(url, WRITE + textwrap.dedent(change))
    after_ours = dump(client)
    assert _without_lex(after_ours).keys() == _without_lex(after_upstream).keys()
    assert {k: v for k, v in _without_lex(after_ours).items() if v[0] != "hash"} == {
        k: v for k, v in _without_lex(after_upstream).items() if v[0] != "hash"
    }
    got = run_upstream(
        upstream,
        url,
        "out['n11'] = [r.name for r in UserNote.query(UserNote.n == 11)]\n"
        "out['gone'] = [r.name for r in UserNote.query(UserNote.n == -4)]\n",
        tmp_path,
    )
    assert got == {"n11": ["ada"], "gone": []}


def _without_lex(state: dict[bytes, Any]) -> dict[bytes, Any]:
    return {k: v for k, v in state.items() if not k.endswith(b".lex")}


def test_both_libraries_write_the_same_keys(
    upstream: Path, compat: tuple[str, redis.Redis], tmp_path: Path
) -> None:
    url, client = compat
    run_upstream(upstream, url, WRITE, tmp_path)
    theirs = dump(client)
    client.flushdb()
    run_ours(url, WRITE)
    ours = dump(client)
    assert b"ns|usernote:n.absolute.3" in ours and b"ns|usernote:_id.absolute.1" in ours
    assert b"ns|usernote:when.absolute.1577934245.123456" in ours
    assert b"ns|usernote:day.absolute.-2198620800.0" in ours
    assert b"ns|usernote:score.absolute.1e+16" in ours
    lex = {k for k in ours if k.endswith(b".lex")}
    assert lex == {b"ns|usernote:name.lex", b"keyed:label.lex"}
    assert sorted(_without_lex(ours)) == sorted(theirs)
    # Same members in every index (and the same scores in sorted sets).
    assert {k: v for k, v in ours.items() if k not in lex} == theirs
