"""walrus.Graph: hexastore in one sorted set (upstream's layout), lexicographic range
queries, variable joins, and graphs shared with upstream walrus 0.9.8."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

import pytest

from tests.support.upstream_walrus import compat_db, run_upstream_code
from walrus import Database
from walrus.graph import Graph, Variable
from walrus.roundtrips import RoundTripCounter

ROOT = Path(__file__).resolve().parents[2]
UPSTREAM_SPEC = os.environ.get("WALRUS_UPSTREAM_SPEC", "walrus==0.9.8")
UPSTREAM_DIR = ROOT / ".cache" / "upstream-walrus"  # shared with test_models_upstream.py
COMPAT_DB = 12

TRIPLES = [
    ("charlie", "friends", "huey"),
    ("charlie", "friends", "zaizee"),
    ("charlie", "friends", "nuggie"),
    ("charlie", "lives", "Kansas"),
    ("huey", "lives", "Kansas"),
    ("zaizee", "lives", "Missouri"),
    ("nuggie", "lives", "Kansas"),
    ("mickey", "lives", "Kansas"),
    ("huey", "friends", "charlie"),
    ("huey", "likes", "huey"),
]


@pytest.fixture
def graph(db: Database) -> Graph:
    g = db.graph("people")
    g.store_many(TRIPLES)
    return g


def _as_set(rows: list[dict[str, str]]) -> set[tuple[str, str, str]]:
    return {(r["s"], r["p"], r["o"]) for r in rows}


def test_layout_three_rotations_joined_like_upstream(db: Database) -> None:
    g = db.graph("g")
    assert isinstance(g, Graph)
    g.store("a", "b", "c")
    assert sorted(db.zrange("g", 0, -1)) == [b"osp::c::a::b", b"pos::b::c::a", b"spo::a::b::c"]
    assert db.zscore("g", "spo::a::b::c") == 0
    assert g.keys_for_values("a", "b", "c") == ["spo::a::b::c", "pos::b::c::a", "osp::c::a::b"]
    assert list(db.scan_iter()) == [b"g"]


def test_layout_query_prefixes(db: Database) -> None:
    g = db.graph("g")
    assert g.keys_for_query("a", "b", "c") == (b"spo::a::b::c", None)
    assert g.keys_for_query(s="a", o="c") == (b"[osp::c::a::", b"(osp::c::a::\xff")
    assert g.keys_for_query(p="b") == (b"[pos::b::", b"(pos::b::\xff")
    assert g.keys_for_query() == (b"[spo::", b"(spo::\xff")


def test_layout_reads_members_written_by_upstream(db: Database) -> None:
    # What upstream's store("huey", "lives", "Kansas") writes, plus a member only upstream
    # could write (a value holding the separator): unreadable, so skipped, not misread.
    db.zadd(
        "g",
        {
            "spo::huey::lives::Kansas": 0,
            "pos::lives::Kansas::huey": 0,
            "osp::Kansas::huey::lives": 0,
        },
    )
    db.zadd("g", {"spo::a::b::c::d": 0})
    g = db.graph("g")
    row = {"s": "huey", "p": "lives", "o": "Kansas"}
    for kwargs in (
        {"s": "huey"},
        {"p": "lives"},
        {"o": "Kansas"},
        {"s": "huey", "o": "Kansas"},
        {"p": "lives", "o": "Kansas"},
        {"s": "huey", "p": "lives"},
        row,
    ):
        assert g.query(**kwargs) == [row], kwargs
    assert g.query() == [row]
    assert g.delete("huey", "lives", "Kansas") is True
    assert db.zrange("g", 0, -1) == [b"spo::a::b::c::d"]


@pytest.mark.parametrize("value", ["a::b", "::", ":a", "a:", ":", "x:::y"])
@pytest.mark.parametrize("part", [0, 1, 2])
def test_values_holding_the_separator_are_refused_before_writing(
    db: Database, value: str, part: int
) -> None:
    g = db.graph("g")
    triple = ["s", "p", "o"]
    triple[part] = value
    name = ("subject", "predicate", "object")[part]
    with pytest.raises(ValueError, match=f"graph {name} must not contain '::'"):
        g.store(*triple)
    with pytest.raises(ValueError, match=name):
        g.store_many([("ok", "ok", "ok"), tuple(triple)])
    with pytest.raises(ValueError, match=name):
        g.query(**{"spo"[part]: value})
    assert db.exists("g") == 0


def test_single_colons_inside_values_are_fine(db: Database) -> None:
    g = db.graph("g")
    g.store("urn:a", "rel:knows", "http://b/c")
    assert g.query(s="urn:a", o="http://b/c") == [
        {"s": "urn:a", "p": "rel:knows", "o": "http://b/c"}
    ]
    assert g.query(p="rel:knows") == [{"s": "urn:a", "p": "rel:knows", "o": "http://b/c"}]


def test_every_query_combination(graph: Graph) -> None:
    everything = set(TRIPLES)
    for given in itertools.product([False, True], repeat=3):
        for triple in TRIPLES:
            kwargs = {
                part: value for part, value, on in zip("spo", triple, given, strict=True) if on
            }
            expected = {
                t for t in everything if all(t["spo".index(k)] == v for k, v in kwargs.items())
            }
            rows = graph.query(**kwargs)
            assert _as_set(rows) == expected, kwargs
            assert len(rows) == len(expected), kwargs
            assert all(list(r) == ["s", "p", "o"] for r in rows)


def test_subject_and_object_query_is_not_reversed(graph: Graph) -> None:
    # Upstream looked up the wrong prefix for s+o and returned other triples.
    assert graph.query(s="charlie", o="huey") == [{"s": "charlie", "p": "friends", "o": "huey"}]
    assert graph.query(s="huey", o="charlie") == [{"s": "huey", "p": "friends", "o": "charlie"}]
    assert graph.query(s="charlie", o="Kansas") == [{"s": "charlie", "p": "lives", "o": "Kansas"}]
    assert graph.query(s="huey", o="zaizee") == []


def test_query_all_and_exact(graph: Graph) -> None:
    assert _as_set(graph.query()) == set(TRIPLES)
    assert graph.query("huey", "lives", "Kansas") == [{"s": "huey", "p": "lives", "o": "Kansas"}]
    assert graph.query("huey", "lives", "Missouri") == []


def test_prefix_values_do_not_leak(db: Database) -> None:
    g = db.graph("g")
    g.store_many([("ab", "p", "x"), ("abc", "p", "y"), ("a", "p", "z")])
    assert _as_set(g.query(s="ab")) == {("ab", "p", "x")}
    assert _as_set(g.query(s="a")) == {("a", "p", "z")}


def test_non_latin_values(db: Database) -> None:
    # Upstream ended its ranges at the character U+00FF and missed anything above it.
    g = db.graph("g")
    g.store("東京", "是", "首都")
    g.store("東京", "有", "ÿÿ")
    assert _as_set(g.query(s="東京")) == {("東京", "是", "首都"), ("東京", "有", "ÿÿ")}
    assert _as_set(g.query(o="首都")) == {("東京", "是", "首都")}


def test_store_many_forms_and_atomic_validation(db: Database) -> None:
    g = db.graph("g")
    g.store_many(("a", "b", "c"), ("d", "e", "f"))
    g.store_many(("x", "y", "z"))  # one triple
    g.store_many(iter([("1", "2", "3")]))
    assert len(g.query()) == 4
    before = db.zcard("g")
    with pytest.raises(TypeError, match="item 1"):
        g.store_many([("ok", "ok", "ok"), ("bad", "triple")])
    with pytest.raises(TypeError, match="item 0"):
        g.store_many([("s", "p", 3)])
    with pytest.raises(TypeError, match="iterable"):
        g.store_many("abc")
    with pytest.raises(ValueError, match="subject"):
        g.store_many([("ok", "ok", "ok"), ("", "p", "o")])
    assert db.zcard("g") == before


def test_store_many_large_batch_is_one_round_trip(db: Database) -> None:
    g = db.graph("g")
    items = [(f"s{i}", "p", f"o{i}") for i in range(2500)]
    with RoundTripCounter() as rt:
        g.store_many(items)
    assert rt.count == 1
    assert db.zcard("g") == 3 * 2500
    assert len(g.query(p="p")) == 2500


def test_delete(graph: Graph, db: Database) -> None:
    assert graph.delete("huey", "lives", "Kansas") is True
    assert graph.delete("huey", "lives", "Kansas") is False
    assert graph.query(s="huey", p="lives") == []
    assert db.zcard("people") == 3 * (len(TRIPLES) - 1)


def test_round_trips(db: Database) -> None:
    g = db.graph("g")
    for call in (
        lambda: g.store("a", "b", "c"),
        lambda: g.store_many([("a", "b", "d"), ("e", "b", "c")]),
        lambda: g.query(s="a"),
        lambda: g.query("a", "b", "c"),
        lambda: g.search({"s": g.v.X, "p": "b", "o": "c"}, {"s": g.v.X, "p": "b", "o": "d"}),
        lambda: g.delete("a", "b", "c"),
    ):
        with RoundTripCounter() as rt:
            call()
        assert rt.count == 1


def test_search_with_a_variable(graph: Graph) -> None:
    X = graph.v.X
    assert graph.search(
        {"s": "charlie", "p": "friends", "o": X},
        {"s": X, "p": "lives", "o": "Kansas"},
    ) == {"X": {"huey", "nuggie"}}
    assert graph.search({"s": X, "p": "lives", "o": "Kansas"}) == {
        "X": {"charlie", "huey", "nuggie", "mickey"}
    }
    assert graph.v("X") == X and graph.v.X == X and isinstance(X, Variable)


def test_search_joins_several_variables(graph: Graph) -> None:
    X, Y = graph.v.X, graph.v.Y
    # friends X of charlie and the place Y where each lives: consistent pairs only.
    result = graph.search(("charlie", "friends", X), (X, "lives", Y))
    assert result == {"X": {"huey", "zaizee", "nuggie"}, "Y": {"Kansas", "Missouri"}}
    # who (X) is a friend of someone (Y) who is also their friend back
    assert graph.search({"s": X, "p": "friends", "o": Y}, {"s": Y, "p": "friends", "o": X}) == {
        "X": {"charlie", "huey"},
        "Y": {"charlie", "huey"},
    }
    # a binding must satisfy all clauses together: only Missouri-dwellers among friends
    assert graph.search(("charlie", "friends", X), (X, "lives", Y), (Y, None, None)) == {
        "X": set(),
        "Y": set(),
    }
    assert graph.search(("charlie", "friends", X), {"s": X, "o": "Missouri"}) == {"X": {"zaizee"}}


def test_search_same_variable_twice_in_a_clause(graph: Graph) -> None:
    X = graph.v.X
    assert graph.search({"s": X, "p": "likes", "o": X}) == {"X": {"huey"}}


def test_search_without_matches_and_without_clauses(graph: Graph) -> None:
    X = graph.v.X
    assert graph.search({"s": "nobody", "p": "friends", "o": X}) == {"X": set()}
    assert graph.search(("huey", "lives", "Kansas"), (X, "lives", "Missouri")) == {"X": {"zaizee"}}
    assert graph.search(("huey", "lives", "Mars"), (X, "lives", "Missouri")) == {"X": set()}
    assert graph.search() == {}


def test_bad_input(db: Database) -> None:
    g = db.graph("g")
    g.store("a", "b", "c")
    with pytest.raises(TypeError, match="object"):
        g.store("a", "b", 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="predicate"):
        g.store("a", "", "c")
    with pytest.raises(ValueError, match="'::'"):
        g.store("a::b", "b", "c")
    with pytest.raises(TypeError, match="subject"):
        g.query(s=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="keys must be"):
        g.search({"x": "a"})
    with pytest.raises(TypeError, match="clause"):
        g.search("abc")
    with pytest.raises(ValueError, match=r"\(s, p, o\)"):
        g.search(("a", "b"))
    with pytest.raises(TypeError, match="namespace"):
        db.graph(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="namespace"):
        db.graph("")
    with pytest.raises(ValueError, match="variable"):
        g.v("")
    assert db.zcard("g") == 3


def _brute_force(
    triples: list[tuple[str, str, str]], clauses: list[tuple[object, ...]]
) -> dict[str, set[str]]:
    names = sorted({v.name for c in clauses for v in c if isinstance(v, Variable)})
    found: dict[str, set[str]] = {name: set() for name in names}

    def solve(i: int, binding: dict[str, str]) -> None:
        if i == len(clauses):
            for name, value in binding.items():
                found[name].add(value)
            return
        for triple in triples:
            new = dict(binding)
            ok = True
            for want, got in zip(clauses[i], triple, strict=True):
                if want is None:
                    continue
                if isinstance(want, Variable):
                    if new.setdefault(want.name, got) != got:
                        ok = False
                        break
                elif want != got:
                    ok = False
                    break
            if ok:
                solve(i + 1, new)

    solve(0, {})
    return found


def test_search_matches_a_brute_force_solver(db: Database) -> None:
    import random

    rng = random.Random(7)
    nodes = [f"n{i}" for i in range(6)]
    preds = ["a", "b"]
    triples = sorted({(rng.choice(nodes), rng.choice(preds), rng.choice(nodes)) for _ in range(25)})
    g = db.graph("bf")
    g.store_many(triples)
    X, Y, Z = g.v.X, g.v.Y, g.v.Z
    pool: list[object] = [X, Y, Z, None, *nodes[:3], *preds]
    for _ in range(40):
        clauses = [tuple(rng.choice(pool) for _ in range(3)) for _ in range(rng.randint(1, 3))]
        expected = _brute_force(triples, clauses)
        assert g.search(*clauses) == expected, clauses


# -- shared with upstream walrus 0.9.8 ----------------------------------------------------


_PRELUDE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import walrus
assert walrus.__file__.startswith(sys.argv[1]), walrus.__file__
db = walrus.Database.from_url(sys.argv[2])
out = {}
"""


def run_upstream(body: str, url: str, tmp_path: Path) -> Any:
    """Run ``body`` under upstream walrus (``db`` bound) and return its ``out``."""
    return run_upstream_code(_PRELUDE + body, url, tmp_path)


@pytest.fixture
def compat(redis_server: Any) -> Any:
    """URL and raw client of a flushed logical DB both libraries use."""
    yield from compat_db(redis_server, COMPAT_DB)


UPSTREAM_TRIPLES = [list(t) for t in TRIPLES] + [
    ["東京", "是", "首都"],
    ["urn:x", "rel:y", "http://z"],
]


def _rows(triples: Any) -> list[tuple[str, str, str]]:
    return sorted((t["s"], t["p"], t["o"]) for t in triples)


def test_graph_written_by_upstream_reads_back_here(compat: Any, tmp_path: Path) -> None:
    url, client = compat
    run_upstream(f"g = db.graph('shared')\ng.store_many({UPSTREAM_TRIPLES!r})\n", url, tmp_path)
    db = Database.from_url(url)
    g = db.graph("shared")
    stored = {tuple(t) for t in UPSTREAM_TRIPLES}
    assert set(_rows(g.query())) == stored
    for triple in stored:
        for given in itertools.product([False, True], repeat=3):
            kwargs = {k: v for k, v, on in zip("spo", triple, given, strict=True) if on}
            expected = {t for t in stored if all(t["spo".index(k)] == v for k, v in kwargs.items())}
            assert set(_rows(g.query(**kwargs))) == expected, kwargs
    X = g.v.X
    assert g.search(("charlie", "friends", X), (X, "lives", "Kansas")) == {"X": {"huey", "nuggie"}}
    assert g.delete("charlie", "friends", "huey") is True
    db.close()
    out = run_upstream(
        "out['rows'] = sorted([t['s'], t['p'], t['o']]"
        " for t in db.graph('shared').query(s='charlie'))",
        url,
        tmp_path,
    )
    assert out["rows"] == [
        ["charlie", "friends", "nuggie"],
        ["charlie", "friends", "zaizee"],
        ["charlie", "lives", "Kansas"],
    ]


def test_graph_written_here_reads_back_in_upstream(compat: Any, tmp_path: Path) -> None:
    url, client = compat
    db = Database.from_url(url)
    db.graph("shared").store_many([tuple(t) for t in UPSTREAM_TRIPLES])
    db.close()
    members_here = sorted(client.zrange("shared", 0, -1))
    body = (
        """
g = db.graph('shared')
rows = lambda it: sorted([t['s'], t['p'], t['o']] for t in it)
out['all'] = rows(g.query())
out['s'] = rows(g.query(s='huey'))
out['p'] = rows(g.query(p='lives'))
out['o'] = rows(g.query(o='Kansas'))
out['sp'] = rows(g.query(s='charlie', p='friends'))
out['po'] = rows(g.query(p='lives', o='Kansas'))
out['spo'] = rows(g.query('huey', 'lives', 'Kansas'))
X = g.v.X
found = g.search({'s': 'charlie', 'p': 'friends', 'o': X}, {'s': X, 'p': 'lives', 'o': 'Kansas'})
out['search'] = sorted(found['X'])
g.delete('huey', 'lives', 'Kansas')
g2 = db.graph('again')
"""
        + f"g2.store_many({UPSTREAM_TRIPLES!r})\n"
    )
    out = run_upstream(body, url, tmp_path)
    stored = sorted(tuple(t) for t in UPSTREAM_TRIPLES)

    def rows(**kw: str) -> list[list[str]]:
        return [list(t) for t in stored if all(t["spo".index(k)] == v for k, v in kw.items())]

    # Upstream ends its ranges at the character U+00FF, so its unfiltered query misses the
    # triple whose subject lies above it (its bug, fixed here); everything else matches.
    assert out["all"] == [list(t) for t in stored if t[0] != "東京"]
    assert (
        out["s"] == rows(s="huey") and out["p"] == rows(p="lives") and out["o"] == rows(o="Kansas")
    )
    assert out["sp"] == rows(s="charlie", p="friends") and out["po"] == rows(p="lives", o="Kansas")
    assert out["spo"] == [["huey", "lives", "Kansas"]]
    assert out["search"] == ["huey", "nuggie"]
    # Upstream's delete removed exactly our three members; its own store wrote what ours does.
    db = Database.from_url(url)
    assert ("huey", "lives", "Kansas") not in set(_rows(db.graph("shared").query()))
    assert sorted(client.zrange("again", 0, -1)) == members_here
    db.close()
