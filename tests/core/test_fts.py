"""walrus.fts.Index on real Redis (RESP2/RESP3) and memory://: layout, ranking, queries,
updates without orphan entries, errors, and round trips."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.support.upstream_walrus import compat_db, run_upstream_code
from walrus import Database
from walrus.fts import Index, QueryError
from walrus.roundtrips import RoundTripCounter


def keys(db: Database) -> list[str]:
    """Every key, sorted; a cluster's hash tags ("fts.{app}.x") are dropped so both
    topologies compare with the single-server layout."""
    return sorted(k.decode().replace("{", "").replace("}", "") for k in db.scan_iter())


def zitems(db: Database, key: str) -> list[tuple[bytes, float]]:
    # RESP3 replies pairs as lists, RESP2 as tuples
    return [(m, float(sc)) for m, sc in db.zrange(key, 0, -1, withscores=True)]


def snapshot(db: Database) -> dict[str, object]:
    """Every key with its full value, to prove a refused call wrote nothing."""
    out: dict[str, object] = {}
    for key in keys(db):
        kind = db.type(key).decode()  # type: ignore[union-attr]
        if kind == "hash":
            out[key] = db.hgetall(key)
        elif kind == "set":
            out[key] = db.smembers(key)
        elif kind == "zset":
            out[key] = zitems(db, key)
        else:
            out[key] = kind
    return out


@pytest.fixture
def index(db: Database) -> Index:
    return db.Index("app")


@pytest.mark.single_node(
    "asserts the single-server key layout by raw key names; tests/cluster covers the tagged one"
)
def test_key_layout_and_scores_match_upstream(db: Database, index: Index) -> None:
    index.add("k1", "The running walruses eat fish, and the fish swim.", title="t1", n=3)
    index.add("k2", "A walrus is running")
    assert keys(db) == [
        "doc.app.k1",
        "doc.app.k2",
        "fts.app",
        "fts.app.:tokens",
        "fts.app.eat",
        "fts.app.fish",
        "fts.app.run",
        "fts.app.swim",
        "fts.app.walru",
        "fts.app.walrus",
    ]
    assert db.hgetall("doc.app.k1") == {
        b"content": b"The running walruses eat fish, and the fish swim.",
        b"title": b"t1",
        b"n": b"3",
    }
    assert db.smembers("fts.app") == {b"k1", b"k2"}
    assert zitems(db, "fts.app.fish") == [(b"k1", -2 / 7)]
    assert zitems(db, "fts.app.run") == [(b"k2", -1 / 3), (b"k1", -1 / 7)]


@pytest.mark.single_node(
    "asserts the single-server key layout by raw key names; tests/cluster covers the tagged one"
)
def test_layout_token_lists(db: Database, index: Index, backend: str) -> None:
    # Ours only (upstream ignores it): each document's tokens and a digest of its content.
    content = "The running walruses eat fish, and the fish swim."
    index.add("k1", content)
    assert index.tokens_key == "fts.app.:tokens"
    assert db.hkeys("fts.app.:tokens") == [b"k1"]
    tokens, digest = db.hget("fts.app.:tokens", "k1").split(b"\n", 1)
    assert sorted(tokens.split(b" ")) == [b"eat", b"fish", b"run", b"swim", b"walrus"]
    # SHA-1 on Redis; the embedded engine has no redis.sha1hex and keeps the text itself.
    assert digest == (
        content.encode()
        if backend == "memory"
        else hashlib.sha1(content.encode()).hexdigest().encode()
    )
    index.remove("k1")
    assert keys(db) == []


@pytest.mark.single_node(
    "asserts the single-server key layout by raw key names; tests/cluster covers the tagged one"
)
def test_reads_an_index_written_in_upstream_layout(db: Database, index: Index) -> None:
    db.sadd("fts.app", "u1", "u2")
    db.hset("doc.app.u1", mapping={"content": "redis walrus", "author": "huey"})
    db.hset("doc.app.u2", mapping={"content": "walrus"})
    db.zadd("fts.app.walru", {"u1": -1 / 3, "u2": -1 / 2})
    db.zadd("fts.app.redi", {"u1": -1 / 3})
    assert index.search_items("walrus") == [
        ("u2", {"content": "walrus"}),
        ("u1", {"content": "redis walrus", "author": "huey"}),
    ]
    with RoundTripCounter() as rt:
        index.remove("u1")  # no token list: the script reports the content, then removes
    assert rt.count == 2
    assert keys(db) == ["doc.app.u2", "fts.app", "fts.app.walru"]
    with RoundTripCounter() as rt:
        index.update("u2", "python")
    assert rt.count == 2
    with RoundTripCounter() as rt:
        index.update("u2", "redis")  # it has a token list now
    assert rt.count == 1
    assert keys(db) == ["doc.app.u2", "fts.app", "fts.app.:tokens", "fts.app.redi"]


def test_token_list_out_of_date_is_detected(db: Database, index: Index) -> None:
    index.add("1", "python redis", author="huey")
    index.add("2", "python")
    # Upstream walrus updates the document (remove + add) without touching our token list.
    db.zrem(index.token_key("python"), "1")
    db.zrem(index.token_key("redi"), "1")
    db.hset(index.document_key("1"), "content", "walrus tusks")
    db.zadd(index.token_key("walru"), {"1": -1 / 3})
    db.zadd(index.token_key("tusk"), {"1": -1 / 3})
    with RoundTripCounter() as rt:
        index.update("1", "swimming")
    assert rt.count == 2  # the digest no longer matched: old tokens computed from the content
    assert keys(db) == [
        "doc.app.1",
        "doc.app.2",
        "fts.app",
        "fts.app.:tokens",
        "fts.app.python",
        "fts.app.swim",
    ]
    assert index.get_document("1") == {"content": "swimming", "author": "huey"}
    assert db.zrange(index.token_key("python"), 0, -1) == [b"2"]


def test_ranking_best_first(index: Index) -> None:
    index.add("once", "python is a language with many uses and users")
    index.add("twice", "python python snakes")
    index.add("short", "python")
    index.add("none", "redis only")
    assert [k for k, _ in index.search_items("python")] == ["short", "twice", "once"]
    assert index.search_scores("python") == [
        ("short", 1 / 2),
        ("twice", 2 / 4),
        ("once", 1 / 4),  # "is a with many uses and": stopwords
    ]
    # equal scores (short and twice: 0.5) are ordered by id
    assert index.search("python")[0] == {"content": "python"}


def test_and_or_parentheses(index: Index) -> None:
    index.add("1", "python redis")
    index.add("2", "python walrus")
    index.add("3", "redis walrus")
    index.add("4", "python")
    ids = lambda q: sorted(k for k, _ in index.search_items(q))  # noqa: E731
    assert ids("python AND redis") == ["1"]
    assert ids("python redis") == ["1"]
    assert ids("python OR redis") == ["1", "2", "3", "4"]
    assert ids("python AND (redis OR walrus)") == ["1", "2"]
    assert ids("(python OR redis) AND walrus") == ["2", "3"]
    assert ids("python AND redis OR walrus") == ["1", "2", "3"]
    assert ids("python AND quokka") == []
    assert ids("quokka") == []


def test_default_conjunction(db: Database, index: Index) -> None:
    index.add("1", "python redis")
    index.add("2", "python walrus")
    assert [k for k, _ in index.search_items("redis walrus", default_conjunction="OR")] == [
        "1",
        "2",
    ]
    assert index.search("redis walrus") == []
    either = db.Index("app", default_conjunction="or")
    assert len(either.search("redis walrus")) == 2
    with pytest.raises(ValueError, match="default_conjunction must be 'AND' or 'OR'"):
        db.Index("app", default_conjunction="xor")


def test_phrases_check_adjacency_and_order(index: Index) -> None:
    index.add("a", "The quick brown fox jumps")
    index.add("b", "brown quick fox")
    index.add("c", "a quick and brown dog")  # stopword between: still adjacent after filtering
    index.add("d", "quick brown")
    assert [k for k, _ in index.search_items('"quick brown"')] == ["d", "c", "a"]
    assert [k for k, _ in index.search_items('"brown quick"')] == ["b"]
    assert [k for k, _ in index.search_items('"quick brown" fox')] == ["a"]
    assert [k for k, _ in index.search_items('"fox quick" OR dog')] == ["c"]
    assert index.search('"fox jumps quick"') == []
    # a single-word phrase is a plain word
    assert len(index.search('"fox"')) == 2


def test_hyphenated_word_is_matched_as_a_phrase(index: Index) -> None:
    index.add("1", "send an e-mail today")
    index.add("2", "mail the e form")
    assert [k for k, _ in index.search_items("e-mail")] == ["1"]


def test_stemming_matches_word_forms(index: Index) -> None:
    index.add("1", "She runs every day")
    index.add("2", "Running is healthy")
    index.add("3", "He ran")
    assert sorted(k for k, _ in index.search_items("run")) == ["1", "2"]
    assert sorted(k for k, _ in index.search_items("RUNNING")) == ["1", "2"]


def test_stemmer_options(db: Database) -> None:
    plain = db.Index("plain", stemmer=False)
    plain.add("1", "running")
    assert plain.search("run") == []
    assert len(plain.search("running")) == 1
    english = db.Index("english", stemmer="english")
    english.add("1", "the walruses")
    assert len(english.search("walrus")) == 1
    assert db.exists(english.token_key("walrus")) == 1


def test_phonetic_matches_with_metaphone(db: Database) -> None:
    index = db.Index("people", metaphone=True)
    index.add("1", "John Smith")
    index.add("2", "Katherine Thompson")
    index.add("3", "unrelated words")
    assert [k for k, _ in index.search_items("smyth")] == ["1"]
    assert [k for k, _ in index.search_items("Schmidt")] == ["1"]  # shares the code XMT
    assert [k for k, _ in index.search_items("Catherine")] == ["2"]
    assert [k for k, _ in index.search_items("jonny")] == ["1"]  # JN, like John
    assert index.search("Tomson") == []  # TMSN is not TMPSN


def test_stopwords(db: Database, index: Index, tmp_path: Path) -> None:
    index.add("1", "the walrus and the carpenter")
    assert "fts.app.the" not in keys(db)
    assert index.search("the") == []
    assert index.search("the AND of") == []
    assert [k for k, _ in index.search_items("the walrus")] == ["1"]
    assert [k for k, _ in index.search_items("nothing OR the OR carpenter")] == ["1"]
    path = tmp_path / "stop.txt"
    path.write_text("walrus\n", encoding="utf-8")
    custom = db.Index("custom", stopwords_file=str(path), stemmer=False)
    custom.add("1", "the walrus")
    assert keys(db)[-1] == "fts.custom.the"
    assert "fts.custom.walrus" not in keys(db)
    assert len(custom.search("the")) == 1


def test_min_word_length(db: Database) -> None:
    index = db.Index("short", min_word_length=4, stemmer=False)
    index.add("1", "big cat sits")
    assert [k for k in keys(db) if k.startswith("fts.short.")] == [
        "fts.short.:tokens",
        "fts.short.sits",
    ]
    assert index.search("cat") == []
    assert len(index.search("sits")) == 1


def test_unicode_text(index: Index) -> None:
    index.add("fr", "Café crème brûlée à Paris")
    index.add("jp", "東京 タワー")
    index.add("de", "Die Straße ist lang")
    assert index.search("cafe\u0301")[0]["content"] == "Café crème brûlée à Paris"
    assert [k for k, _ in index.search_items("CRÈME")] == ["fr"]
    assert [k for k, _ in index.search_items("東京")] == ["jp"]
    assert [k for k, _ in index.search_items("STRASSE")] == ["de"]
    assert index.get_document("fr") == {"content": "Café crème brûlée à Paris"}


def test_unicode_document_ids(db: Database, index: Index) -> None:
    index.add("ключ-1", "walrus")
    assert index.search_items("walrus") == [("ключ-1", {"content": "walrus"})]
    assert "doc.app.ключ-1" in keys(db)
    index.remove("ключ-1")
    assert keys(db) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        # "" lists every document and "(walrus" closes the "(" at the end, as upstream
        # (tests/core/test_upstream_api.py).
        ("walrus AND", "AND at offset 7 must be followed by a term"),
        ("walrus )", r"unexpected '\)' at offset 7"),
        ('"walrus', "unterminated quote"),
    ],
)
def test_empty_and_malformed_queries(db: Database, index: Index, query: str, message: str) -> None:
    index.add("1", "walrus")
    before = snapshot(db)
    with pytest.raises(QueryError, match=message):
        index.search(query)
    with pytest.raises(ValueError, match=message):
        index.search_items(query)
    assert snapshot(db) == before


def test_search_leaves_no_temporaries(db: Database, index: Index) -> None:
    index.add("1", "python redis walrus")
    index.add("2", "python walrus")
    before = keys(db)
    assert len(index.search("(python OR redis) AND (walrus OR nothing) AND python")) == 2
    assert keys(db) == before


def test_remove_leaves_no_orphans(db: Database, index: Index) -> None:
    index.add("1", "python redis walrus")
    index.add("2", "python walrus", lang="en")
    index.remove("1")
    assert keys(db) == [
        "doc.app.2",
        "fts.app",
        "fts.app.:tokens",
        "fts.app.python",
        "fts.app.walru",
    ]
    assert db.hkeys(index.tokens_key) == [b"2"]
    assert db.zrange(index.token_key("python"), 0, -1) == [b"2"]
    index.remove("2", preserve_data=True)
    assert keys(db) == ["doc.app.2"]
    assert index.get_document("2") == {"content": "python walrus", "lang": "en"}
    assert index.search("python") == []


def test_remove_missing_document_raises_key_error(db: Database, index: Index) -> None:
    index.add("1", "walrus")
    before = snapshot(db)
    with pytest.raises(KeyError, match="document 'nope' is not in index 'app'"):
        index.remove("nope")
    index.remove("1", preserve_data=True)
    with pytest.raises(KeyError):
        index.remove("1")  # data kept, but no longer indexed
    assert before != snapshot(db)
    assert keys(db) == ["doc.app.1"]


def test_update_keeps_metadata_and_drops_old_tokens(db: Database, index: Index) -> None:
    index.add("1", "python redis", author="huey", year=2020)
    index.update("1", "walrus", year=2024, tag="new")
    assert index.get_document("1") == {
        "content": "walrus",
        "author": "huey",
        "year": "2024",
        "tag": "new",
    }
    assert keys(db) == ["doc.app.1", "fts.app", "fts.app.:tokens", "fts.app.walru"]
    assert index.search("python") == []
    assert [k for k, _ in index.search_items("walrus")] == ["1"]


def test_replace_drops_old_metadata_and_tokens(db: Database, index: Index) -> None:
    index.add("1", "python redis", author="huey")
    index.replace("1", "walrus", {"year": 2024})
    assert index.get_document("1") == {"content": "walrus", "year": "2024"}
    assert keys(db) == ["doc.app.1", "fts.app", "fts.app.:tokens", "fts.app.walru"]


def test_add_over_existing_document_reindexes(db: Database, index: Index) -> None:
    index.add("1", "python redis", author="huey")
    index.add("1", "walrus", year=1)
    assert keys(db) == ["doc.app.1", "fts.app", "fts.app.:tokens", "fts.app.walru"]
    assert index.get_document("1") == {"content": "walrus", "author": "huey", "year": "1"}


@pytest.mark.parametrize("method", ["update", "replace"])
def test_update_or_replace_missing_document(db: Database, index: Index, method: str) -> None:
    index.add("1", "walrus")
    before = snapshot(db)
    with pytest.raises(KeyError, match="document '2' is not in index 'app'"):
        getattr(index, method)("2", "python")
    assert snapshot(db) == before


@pytest.mark.single_node(
    "asserts the single-server key layout by raw key names; tests/cluster covers the tagged one"
)
def test_document_with_lost_hash_can_still_be_removed(db: Database, index: Index) -> None:
    # An index named "app.x" by upstream walrus (refused here): keys under "fts.app." too.
    db.sadd("fts.app.x", "1")
    db.hset("doc.app.x.1", "content", "walrus")
    db.zadd("fts.app.x.walru", {"1": -0.5})
    index.add("1", "walrus")
    index.add("2", "walrus python")
    db.delete("doc.app.1")  # e.g. evicted
    assert index.search_items("walrus") == [("2", {"content": "walrus python"})]
    index.remove("1")  # the tokens are found by SCAN, as the content is gone
    assert keys(db) == [
        "doc.app.2",
        "doc.app.x.1",
        "fts.app",
        "fts.app.:tokens",
        "fts.app.python",
        "fts.app.walru",
        "fts.app.x",
        "fts.app.x.walru",
    ]
    assert db.hkeys("fts.app.:tokens") == [b"2"]
    assert db.zrange("fts.app.walru", 0, -1) == [b"2"]
    assert db.zrange("fts.app.x.walru", 0, -1) == [b"1"]


def test_index_name_with_glob_characters(db: Database) -> None:
    index = db.Index("a*[b]?")
    decoy = db.Index("aXbY")
    decoy.add("1", "walrus")
    index.add("1", "walrus")
    db.delete("doc.a*[b]?.1")
    index.remove("1")
    assert keys(db) == ["doc.aXbY.1", "fts.aXbY", "fts.aXbY.:tokens", "fts.aXbY.walru"]


@pytest.mark.single_node(
    "asserts the single-server key layout by raw key names; tests/cluster covers the tagged one"
)
def test_stale_state_is_refused_by_the_script(db: Database, index: Index) -> None:
    index.add("1", "python")
    before = snapshot(db)
    # the write script refuses a caller whose idea of the stored content is out of date
    result = db.run_script(
        "fts_write",
        keys=["fts.app", "doc.app.1", "fts.app.:tokens", "fts.app.walru", "fts.app.other"],
        args=["1", "1", "walrus", "delete", "1", "fts.app.", 1, 0, 0],
    )
    assert result[0] == 0 and result[1] == 1 and result[2] == b"python"
    assert snapshot(db) == before
    # and so does a trusting call when the token list does not match the stored content
    db.hset("fts.app.:tokens", "1", b"walru\nnot the digest")
    before = snapshot(db)
    result = db.run_script(
        "fts_write",
        keys=["fts.app", "doc.app.1", "fts.app.:tokens"],
        args=["1", "auto", "", "delete", "1", "fts.app.", 0, 0, 0],
    )
    assert result[0] == 0 and result[1] == 1 and result[2] == b"python"
    assert snapshot(db) == before
    index.remove("1")
    assert keys(db) == []


def test_get_document_and_membership(index: Index) -> None:
    assert index.get_document("missing") == {}
    index.add(7, "walrus", n=1.5)
    assert index.get_document(7) == {"content": "walrus", "n": "1.5"}
    assert 7 in index and "7" in index and b"7" in index
    assert "8" not in index
    assert len(index) == 1


def test_bad_input_writes_nothing(db: Database, index: Index) -> None:
    with pytest.raises(TypeError, match="document content must be str or bytes, got int"):
        index.add("1", 42)
    with pytest.raises(ValueError, match="metadata field 'content' is reserved"):
        index.add("1", "walrus", content="x")
    with pytest.raises(
        TypeError, match="metadata field 'when' must be str, bytes, int or float, got NoneType"
    ):
        index.add("1", "walrus", when=None)
    with pytest.raises(TypeError, match="metadata field 'flag' must be .* got bool"):
        index.add("1", "walrus", {"flag": True})
    with pytest.raises(TypeError, match="metadata must be a mapping, got list"):
        index.add("1", "walrus", ["x"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="document key must be str, bytes, int or UUID, got float"):
        index.add(1.5, "walrus")
    with pytest.raises(TypeError, match="Index name must be a non-empty str"):
        Index(db, "")
    with pytest.raises(ValueError, match=r"Index name must not contain '\.', got 'app\.x'"):
        db.Index("app.x")
    with pytest.raises(TypeError, match="unexpected keyword argument 'stemer'"):
        Index(db, "x", stemer=False)  # type: ignore[call-arg]
    assert keys(db) == []


def test_bytes_content_and_keys(index: Index) -> None:
    index.add(b"k", "Walrus café".encode())
    assert index.search_items("cafe") == []  # accents are kept: "café" != "cafe"
    assert index.search_items("café") == [("k", {"content": "Walrus café"})]


def test_ranking_is_stable_beyond_128_documents(index: Index) -> None:
    ids = [f"doc{i:03d}" for i in range(300)]
    for doc_id in reversed(ids):
        index.add(doc_id, "walrus tusk")
    assert [k for k, _ in index.search_items("walrus")] == ids
    assert [k for k, _ in index.search_items("walrus tusk")] == ids
    index.add("doc999", "walrus walrus walrus tusk")
    found = [k for k, _ in index.search_items("walrus OR tusk")]
    assert found == ["doc999", *ids]
    assert [k for k, _ in index.search_items("walrus OR tusk")] == found


def test_round_trips(db: Database, index: Index) -> None:
    index.add("warm", "python redis walrus")  # loads the scripts
    index.search("python AND (redis OR walrus)")
    with RoundTripCounter() as rt:
        index.add("1", "python redis", author="huey")
    assert rt.count == 1
    for i in range(2, 40):
        index.add(str(i), f"python walrus {i}")
    with RoundTripCounter() as rt:
        found = index.search("python AND (redis OR walrus)")
    assert len(found) == 40
    assert rt.count == 2
    with RoundTripCounter() as rt:
        index.search('"python redis" OR walrus')
    assert rt.count == 2
    with RoundTripCounter() as rt:
        assert index.search("the") == []
    assert rt.count == 0
    with RoundTripCounter() as rt:
        index.update("1", "walrus")
    assert rt.count == 1
    with RoundTripCounter() as rt:
        index.add("1", "python")  # existing: its old tokens come from its token list
    assert rt.count == 1
    with RoundTripCounter() as rt:
        index.replace("1", "redis", {"n": 1})
    assert rt.count == 1
    with RoundTripCounter() as rt:
        index.remove("1", preserve_data=True)
    assert rt.count == 1
    with RoundTripCounter() as rt, pytest.raises(KeyError):
        index.update("1", "walrus")  # no longer indexed: refused by the script
    assert rt.count == 1
    with RoundTripCounter() as rt:
        index.remove("2")
    assert rt.count == 1
    with RoundTripCounter() as rt:
        index.get_document("2")
    assert rt.count == 1


def test_search_survives_script_flush(db: Database, index: Index) -> None:
    index.add("1", "walrus")
    db.script_flush()
    assert len(index.search("walrus OR python")) == 1
    index.add("2", "python")
    assert len(index.search("walrus OR python")) == 2


def test_large_or_query(index: Index) -> None:
    for i in range(20):
        index.add(str(i), f"word{i} common")
    query = " OR ".join(f"word{i}" for i in range(900))
    assert len(index.search(query)) == 20


# -- shared with upstream walrus 0.9.8 ----------------------------------------------------

COMPAT_DB = 13
_PRELUDE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import walrus
assert walrus.__file__.startswith(sys.argv[1]), walrus.__file__
db = walrus.Database.from_url(sys.argv[2])
index = db.Index("shared")
ids = lambda query: sorted(d["content"] for d in index.search(query))
out = {}
"""


def run_upstream(body: str, url: str, tmp_path: Path) -> Any:
    """Run ``body`` under upstream walrus (``db``, ``index`` = its Index("shared")) and return
    its ``out``."""
    return run_upstream_code(_PRELUDE + body, url, tmp_path)


@pytest.fixture
def compat(redis_server: Any) -> Any:
    yield from compat_db(redis_server, COMPAT_DB)


# Words both tokenizers (stopwords, stemmer) turn into the same tokens.
TEXTS = {"a": "python redis walrus", "b": "walrus tusks swimming", "c": "slow green turtle"}


def _zsets(client: Any) -> dict[str, list[bytes]]:
    return {
        k.decode(): sorted(client.zrange(k, 0, -1))
        for k in client.scan_iter(match="fts.shared.*", _type="zset")
    }


def _zsets_named(db: Database, name: str) -> dict[str, list[bytes]]:
    return {
        k.decode(): sorted(db.zrange(k, 0, -1))
        for k in db.scan_iter(match=f"fts.{name}.*", _type="zset")
    }


def test_index_written_by_upstream_is_updated_here_without_orphans(
    compat: Any, tmp_path: Path
) -> None:
    url, client = compat
    run_upstream(
        "".join(f"index.add({k!r}, {v!r}, n=1)\n" for k, v in TEXTS.items()), url, tmp_path
    )
    upstream_sets = _zsets(client)
    db = Database.from_url(url)
    index = db.Index("shared")
    probe = db.Index("probe")
    for key, text in TEXTS.items():
        probe.add(key, text)
    ours_sets = {k.replace("probe", "shared"): v for k, v in _zsets_named(db, "probe").items()}
    assert ours_sets == upstream_sets  # same tokens and members: a fair comparison
    assert sorted(k for k, _ in index.search_items("walrus")) == ["a", "b"]
    with RoundTripCounter() as rt:
        index.update("a", "green python")  # no token list yet: content read by the script
    assert rt.count == 2
    index.remove("b")
    assert _zsets(client) == {
        "fts.shared.python": [b"a"],
        "fts.shared.green": [b"a", b"c"],
        "fts.shared.slow": [b"c"],
        "fts.shared.turtl": [b"c"],
    }
    assert index.get_document("a") == {"content": "green python", "n": "1"}
    db.close()
    out = run_upstream(
        "out['green'] = ids('green')\nout['walrus'] = ids('walrus')\n", url, tmp_path
    )
    assert out == {"green": ["green python", "slow green turtle"], "walrus": []}


def test_index_written_here_is_changed_by_upstream_then_here_again(
    compat: Any, tmp_path: Path
) -> None:
    url, client = compat
    db = Database.from_url(url)
    index = db.Index("shared")
    for key, text in TEXTS.items():
        index.add(key, text, n=1)
    db.close()
    out = run_upstream(
        "out['walrus'] = ids('walrus')\n"
        "index.update('a', 'green turtle')\n"  # upstream: our token list of "a" is now stale
        "index.remove('b')\n",
        url,
        tmp_path,
    )
    assert out == {"walrus": ["python redis walrus", "walrus tusks swimming"]}
    db = Database.from_url(url)
    index = db.Index("shared")
    assert sorted(k for k, _ in index.search_items("turtle")) == ["a", "c"]
    with RoundTripCounter() as rt:
        index.update("a", "python")  # stale list detected by its digest: 2 round trips
    assert rt.count == 2
    with RoundTripCounter() as rt:
        index.update("a", "redis")
    assert rt.count == 1
    index.add("b", "swimming")  # upstream left b's old token list behind: replaced
    assert _zsets(client) == {
        "fts.shared.redi": [b"a"],
        "fts.shared.swim": [b"b"],
        "fts.shared.green": [b"c"],
        "fts.shared.slow": [b"c"],
        "fts.shared.turtl": [b"c"],
    }
    index.remove("b")
    index.remove("a")
    assert sorted(client.hkeys("fts.shared.:tokens")) == [b"c"]
    db.close()
