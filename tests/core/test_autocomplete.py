"""walrus.Autocomplete: prefix sets per word, one-script search with boosts, atomic store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from walrus import Database
from walrus.autocomplete import Autocomplete, score_token
from walrus.roundtrips import RoundTripCounter

TITLES = {
    "1": "python",
    "2": "pyramid",
    "3": "happy python",
    "4": "the matrix",
    "5": "theater of war",
}


@pytest.fixture
def ac(db: Database) -> Autocomplete:
    index = db.autocomplete()
    for obj_id, title in TITLES.items():
        index.store(obj_id, title, {"id": obj_id, "title": title})
    return index


def _titles(results: list[dict[str, str]]) -> list[str]:
    return [r["title"] for r in results]


def test_key_layout(ac: Autocomplete, db: Database) -> None:
    assert json.loads(db.hget("walrus:d", "1\x01")) == {"id": "1", "title": "python"}
    assert db.hget("walrus:t", "1\x01") == b"python"
    assert db.zscore("walrus:s:pyt", "1\x01") is not None
    assert db.zscore("walrus:s:python", "3\x01") is not None
    assert db.exists("walrus:s:happy")
    assert db.zscore("walrus:s:the", "4\x01") is None  # stopword of "the matrix"
    assert db.zscore("walrus:s:the", "5\x01") is not None  # prefix of "theater"


def test_ranking_earlier_word_then_alphabetical(ac: Autocomplete) -> None:
    assert _titles(ac.search("py")) == ["pyramid", "python", "happy python"]
    assert _titles(ac.search("pyt")) == ["python", "happy python"]
    assert _titles(ac.search("PYTHON")) == ["python", "happy python"]
    assert ac.search("zzz") == []
    assert score_token("a") < score_token("b") < score_token("ba")


def test_multi_word_search_intersects(ac: Autocomplete) -> None:
    assert _titles(ac.search("py hap")) == ["happy python"]
    assert _titles(ac.search("happy py")) == ["happy python"]
    assert ac.search("pyramid happy") == []


def test_stopwords(ac: Autocomplete) -> None:
    # stopwords are dropped except the last word, which may be a partly typed word
    assert _titles(ac.search("the mat")) == ["the matrix"]
    assert _titles(ac.search("the")) == ["theater of war"]
    assert _titles(ac.search("theater of")) == ["theater of war"]  # "of" is not indexed
    assert _titles(ac.search("matrix the")) == ["the matrix"]
    ac.store("6", "matrix theory", {"id": "6", "title": "matrix theory"})
    assert _titles(ac.search("matrix the")) == ["matrix theory"]  # matches narrow it
    assert ac.search("war py") == []  # only a trailing stopword is optional


def test_title_of_only_stopwords_is_still_indexed(db: Database) -> None:
    ac = db.autocomplete()
    ac.store("band", "The Who")
    assert ac.search("who") == ["The Who"]


def test_non_ascii_is_folded(db: Database) -> None:
    ac = db.autocomplete()
    ac.store("c", "Café Society")
    assert ac.search("cafe") == ["Café Society"]
    assert ac.search("café so") == ["Café Society"]


def test_limit(ac: Autocomplete) -> None:
    assert _titles(ac.search("py", limit=2)) == ["pyramid", "python"]
    assert ac.search("py", limit=0) == []
    assert len(ac.search("py", limit=100)) == 3
    ac.store("7", "happy pyramid", {"id": "7", "title": "happy pyramid"})
    assert _titles(ac.search("hap py", limit=1)) == ["happy pyramid"]
    assert _titles(ac.search("hap py")) == ["happy pyramid", "happy python"]


def test_defaults_and_json(db: Database) -> None:
    ac = db.autocomplete("ns")
    ac.store("hello world")
    assert ac.search("wor") == ["hello world"]
    assert ac.exists("hello world")
    ac.store(7, "seven", [1, 2, {"x": None}])
    assert ac.search("sev") == [[1, 2, {"x": None}]]
    raw = db.autocomplete("raw", use_json=False)
    raw.store("k", "kiwi", "plain text")
    assert raw.search("ki") == ["plain text"]
    assert db.hget("raw:d", "k\x01") == b"plain text"


def test_obj_type_separates_objects(db: Database) -> None:
    ac = db.autocomplete()
    ac.store(1, "walrus", "the animal", obj_type="animal")
    ac.store(1, "walrus library", "the library", obj_type="code")
    assert ac.exists(1, "animal") and ac.exists(1, "code") and not ac.exists(1)
    assert ac.search("walrus") == ["the animal", "the library"]
    assert ac.remove(1, "animal")
    assert ac.search("walrus") == ["the library"]


def test_boosts_by_object_type_and_per_search(ac: Autocomplete, db: Database) -> None:
    assert ac.boost_object("3", multiplier=5.0) == 5.0
    assert _titles(ac.search("py")) == ["happy python", "pyramid", "python"]
    # per-search boost of an id overrides the saved one
    assert _titles(ac.search("py", boosts={"3": 1.0, "1": 100})) == [
        "python",
        "pyramid",
        "happy python",
    ]
    # below 1 pushes down
    assert ac.boost_object("3", multiplier=0.01, relative=False) == 0.01
    assert _titles(ac.search("py")) == ["pyramid", "python", "happy python"]
    # relative multiplies the saved value
    assert ac.boost_object("3", multiplier=1000) == pytest.approx(10.0)
    assert _titles(ac.search("py")) == ["happy python", "pyramid", "python"]
    assert db.hget("walrus:b", "3\x01") is not None


def test_boost_by_type(db: Database) -> None:
    ac = db.autocomplete()
    ac.store("a", "apple pie", obj_type="recipe")
    ac.store("b", "apricot", obj_type="fruit")
    assert ac.search("ap") == ["apple pie", "apricot"]
    ac.boost_object(obj_type="fruit", multiplier=3.0)
    assert ac.search("ap") == ["apricot", "apple pie"]
    assert ac.search("ap", boosts={"fruit": 1.0}) == ["apple pie", "apricot"]
    ac.boost_object("a", "recipe", multiplier=10.0)
    assert ac.search("ap") == ["apple pie", "apricot"]


def test_restore_changes_title_and_data(ac: Autocomplete, db: Database) -> None:
    with RoundTripCounter() as rt:
        ac.store("2", "pyramid", {"id": "2", "title": "pyramid", "v": 2})
    assert rt.count == 1
    assert ac.search("pyr") == [{"id": "2", "title": "pyramid", "v": 2}]
    with RoundTripCounter() as rt:
        ac.store("2", "sphinx", {"id": "2", "title": "sphinx"})
    assert rt.count == 2  # the old title's prefixes are looked up, then removed atomically
    assert ac.search("pyr") == []
    assert _titles(ac.search("py")) == ["python", "happy python"]
    assert _titles(ac.search("sph")) == ["sphinx"]
    assert not db.exists("walrus:s:pyr")


def test_remove(ac: Autocomplete, db: Database) -> None:
    ac.boost_object("1", multiplier=2.0)
    assert ac.remove("1") is True
    with pytest.raises(KeyError, match="no autocomplete object"):  # upstream raises KeyError
        ac.remove("1")
    assert not ac.exists("1")
    assert _titles(ac.search("py")) == ["pyramid", "happy python"]
    assert db.hget("walrus:b", "1\x01") is None
    assert db.zscore("walrus:s:p", "1\x01") is None
    ac.remove("3")
    assert not db.exists("walrus:s:pyt")  # emptied prefix sets are gone


def test_list_data_titles_and_flush(ac: Autocomplete, db: Database) -> None:
    assert sorted(ac.list_titles()) == sorted(TITLES.values())
    assert sorted(d["id"] for d in ac.list_data()) == sorted(TITLES)
    db.set("walrusX:keep", 1)
    other = db.autocomplete("other")
    other.store("x", "python")
    assert ac.flush(batch_size=3) > 10
    assert ac.search("py") == [] and ac.list_titles() == [] and ac.list_data() == []
    # The other index's keys ("other:..." on one server, "{other}:..." on a cluster) remain.
    others = [*db.keys("other:*"), *db.keys("{other}:*")]
    assert others and sorted(db.keys()) == sorted([b"walrusX:keep", *others])
    assert other.search("py") == ["python"]


def test_flush_escapes_glob_characters(db: Database) -> None:
    star = db.autocomplete("a*")
    plain = db.autocomplete("ab")
    star.store("x", "xylophone")
    plain.store("x", "xylophone")
    star.flush()
    assert plain.search("xy") == ["xylophone"]
    assert star.search("xy") == []


def test_round_trips(ac: Autocomplete) -> None:
    with RoundTripCounter() as rt:
        ac.store("9", "pyjamas party", {"id": "9"})
    assert rt.count == 1
    for phrase, boosts in (("py", None), ("py hap", None), ("py", {"1": 2.0})):
        with RoundTripCounter() as rt:
            ac.search(phrase, boosts=boosts)
        assert rt.count <= 2
        assert rt.count == 1
    ac.boost_object("9", multiplier=3.0)
    with RoundTripCounter() as rt:
        ac.search("pyj par", limit=1)
    assert rt.count == 1
    with RoundTripCounter() as rt:
        ac.search("!!!")
    assert rt.count == 0


def test_custom_and_disabled_stopwords(db: Database, tmp_path: Path) -> None:
    words = tmp_path / "stop.txt"
    words.write_text("python\n")
    ac = db.autocomplete("custom", stopwords_file=str(words))
    ac.store("1", "python snake")
    assert not db.exists("custom:s:pyt")
    assert ac.search("sna") == ["python snake"]
    none = db.autocomplete("none", stopwords_file=None)
    none.store("1", "the end")
    assert db.exists("none:s:the")
    with pytest.raises(ValueError, match="stopwords_file"):
        db.autocomplete("x", stopwords_file=str(tmp_path / "missing.txt"))


def test_bad_input_is_rejected_before_writing(db: Database) -> None:
    ac = db.autocomplete()
    ac.store("1", "python")
    before = sorted(db.keys())
    snapshot = {k: db.dump(k) for k in before}
    with pytest.raises(TypeError, match="obj_id"):
        ac.store(None)
    with pytest.raises(TypeError, match="obj_id"):
        ac.store(True, "x")
    with pytest.raises(ValueError, match="obj_id"):
        ac.store("", "title")
    with pytest.raises(ValueError, match="x01"):
        ac.store("a\x01b", "title")
    with pytest.raises(ValueError, match="no word"):
        ac.store("2", "!!! ...")
    with pytest.raises(TypeError, match="title"):
        ac.store("2", 12)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="JSON"):
        ac.store("2", "title", object())
    with pytest.raises(TypeError, match="use_json=False"):
        db.autocomplete("raw", use_json=False).store("2", "title", {"a": 1})
    with pytest.raises(ValueError, match="obj_id, obj_type"):
        ac.boost_object()
    with pytest.raises(ValueError, match="multiplier"):
        ac.boost_object("1", multiplier=0)
    with pytest.raises(TypeError, match="multiplier"):
        ac.boost_object("1", multiplier="2")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="limit"):
        ac.search("py", limit=-1)
    with pytest.raises(TypeError, match="limit"):
        ac.search("py", limit="3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="boosts"):
        ac.search("py", boosts={"1": -1})
    with pytest.raises(TypeError, match="boosts"):
        ac.search("py", boosts=[("1", 2)])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="phrase"):
        ac.search(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        ac.flush(batch_size=0)
    with pytest.raises(ValueError, match="namespace"):
        db.autocomplete("")
    with pytest.raises(TypeError, match="use_json"):
        db.autocomplete("x", use_json="yes")  # type: ignore[arg-type]
    assert sorted(db.keys()) == before
    assert {k: db.dump(k) for k in before} == snapshot
