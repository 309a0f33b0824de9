"""walrus.Graph: hexastore in one sorted set, lexicographic range queries, variable joins."""

from __future__ import annotations

import itertools

import pytest

from walrus import Database
from walrus.graph import Graph, Variable
from walrus.roundtrips import RoundTripCounter

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


def test_layout_six_members_per_triple(db: Database) -> None:
    g = db.graph("g")
    assert isinstance(g, Graph)
    g.store("a", "b", "c")
    members = sorted(db.zrange("g", 0, -1))
    assert members == sorted(
        m.encode()
        for m in ("spo\0a\0b\0c", "sop\0a\0c\0b", "ops\0c\0b\0a", "osp\0c\0a\0b", "pso\0b\0a\0c", "pos\0b\0c\0a")
    )
    assert db.zscore("g", "spo\0a\0b\0c") == 0
    assert g.keys_for_values("a", "b", "c")[0] == "spo\x00a\x00b\x00c"


def test_every_query_combination(graph: Graph) -> None:
    everything = set(TRIPLES)
    for given in itertools.product([False, True], repeat=3):
        for triple in TRIPLES:
            kwargs = {part: value for part, value, on in zip("spo", triple, given, strict=True) if on}
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
    assert db.zcard("g") == 6 * 2500
    assert len(g.query(p="p")) == 2500


def test_delete(graph: Graph, db: Database) -> None:
    assert graph.delete("huey", "lives", "Kansas") is True
    assert graph.delete("huey", "lives", "Kansas") is False
    assert graph.query(s="huey", p="lives") == []
    assert db.zcard("people") == 6 * (len(TRIPLES) - 1)


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
    with pytest.raises(ValueError, match="NUL"):
        g.store("a\x00b", "b", "c")
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
    assert db.zcard("g") == 6


def _brute_force(triples: list[tuple[str, str, str]], clauses: list[tuple[object, ...]]) -> dict[str, set[str]]:
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
