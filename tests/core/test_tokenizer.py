"""Tokenizer: normalisation, splitting, stopwords, word length, stemming, metaphone, scores."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from walrus.search import MissingDependencyError, Tokenizer, load_stopwords
from walrus.search.phonetic import double_metaphone

PLAIN = {"stemmer": False, "stopwords_file": False}


def test_lowercases_and_splits_on_punctuation() -> None:
    tokenizer = Tokenizer(**PLAIN)
    assert tokenizer.words("Hello, World! it's_a-test (v2.0); x/y") == [
        "hello",
        "world",
        "it",
        "s",
        "a",
        "test",
        "v2",
        "0",
        "x",
        "y",
    ]


def test_empty_and_punctuation_only_text() -> None:
    tokenizer = Tokenizer()
    assert tokenizer.tokenize("") == {}
    assert tokenizer.tokenize("  ,.;!?  --- ") == {}
    assert tokenizer.analyze("") == []


def test_scores_are_term_frequency_over_word_count_plus_one() -> None:
    assert Tokenizer(**PLAIN).tokenize("aa aa bb") == {"aa": 2 / 4, "bb": 1 / 4}
    # stopwords do not count as words
    assert Tokenizer(stemmer=False).tokenize("the cat and the hat") == {"cat": 1 / 3, "hat": 1 / 3}


def test_default_stopwords_are_dropped() -> None:
    tokenizer = Tokenizer(stemmer=False)
    assert tokenizer.words("The walrus and THE carpenter were walking") == [
        "walrus",
        "carpenter",
        "walking",
    ]
    assert {"the", "and", "a", "of", "is"} <= tokenizer.stopwords


def test_stopwords_file_overrides_default(tmp_path: Path) -> None:
    path = tmp_path / "mine.txt"
    path.write_text("# my list\nwalrus\n\nCarpenter\n", encoding="utf-8")
    tokenizer = Tokenizer(stemmer=False, stopwords_file=str(path))
    assert tokenizer.stopwords == frozenset({"walrus", "carpenter"})
    assert tokenizer.words("The walrus and the Carpenter") == ["the", "and", "the"]
    # a pathlib.Path works too
    assert Tokenizer(stemmer=False, stopwords_file=path).stopwords == tokenizer.stopwords


def test_stopwords_file_edits_are_seen(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("one\n", encoding="utf-8")
    assert load_stopwords(path) == frozenset({"one"})
    path.write_text("one\ntwo\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert load_stopwords(path) == frozenset({"one", "two"})


def test_stopwords_disabled_and_bare_default_name() -> None:
    assert Tokenizer(stopwords_file=False).stopwords == frozenset()
    # upstream's default value "stopwords.txt" means the shipped list
    assert Tokenizer(stopwords_file="stopwords.txt").stopwords == Tokenizer().stopwords


def test_missing_stopwords_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(ValueError, match=r"stopwords_file .*nope\.txt.* not a readable file"):
        Tokenizer(stopwords_file=str(missing))
    with pytest.raises(TypeError, match="stopwords_file must be a path"):
        Tokenizer(stopwords_file=42)  # type: ignore[arg-type]


def test_min_word_length_is_inclusive() -> None:
    tokenizer = Tokenizer(stemmer=False, stopwords_file=False, min_word_length=4)
    assert tokenizer.words("a ox cat fish walrus") == ["fish", "walrus"]


@pytest.mark.parametrize("bad", [0, -2, "3", True, 2.5])
def test_bad_min_word_length(bad: object) -> None:
    with pytest.raises(ValueError, match="min_word_length must be a positive int"):
        Tokenizer(min_word_length=bad)  # type: ignore[arg-type]


def test_porter_stemming_by_default() -> None:
    tokenizer = Tokenizer(stopwords_file=False)
    assert [t for (t,) in tokenizer.analyze("running runs caresses ponies generously")] == [
        "run",
        "run",
        "caress",
        "poni",
        "gener",
    ]
    assert tokenizer.tokenize("run running runs") == {"run": 3 / 4}


def test_snowball_algorithm_by_name() -> None:
    english = Tokenizer(stemmer="english", stopwords_file=False)
    assert [t for (t,) in english.analyze("generously walrus walruses")] == [
        "generous",
        "walrus",
        "walrus",
    ]
    french = Tokenizer(stemmer="French", stopwords_file=False)
    assert french.analyze("continuellement") == [("continuel",)]


def test_bad_stemmer_option() -> None:
    with pytest.raises(ValueError, match="stemmer 'klingon' is not a Snowball algorithm.*english"):
        Tokenizer(stemmer="klingon")
    with pytest.raises(TypeError, match="stemmer must be True, False or a Snowball"):
        Tokenizer(stemmer=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="metaphone must be True or False"):
        Tokenizer(metaphone="yes")  # type: ignore[arg-type]


def test_metaphone_codes_replace_words() -> None:
    tokenizer = Tokenizer(metaphone=True, stemmer=False)
    assert tokenizer.analyze("Smith Schmidt knight night") == [
        ("SM0", "XMT"),
        ("XMT", "SMT"),
        ("NT",),
        ("NT",),
    ]
    # each word contributes 1/(n+1) to each of its codes
    assert tokenizer.tokenize("Smith knight night") == {
        "SM0": 1 / 4,
        "XMT": 1 / 4,
        "NT": 2 / 4,
    }


def test_metaphone_after_stemming_and_for_unencodable_words() -> None:
    tokenizer = Tokenizer(metaphone=True)
    assert tokenizer.analyze("walruses running") == [("ALRS", "FLRS"), ("RN",)]
    # accents are folded before encoding; digits and non-Latin words stay as they are
    assert tokenizer.analyze("über") == tokenizer.analyze("uber") == [("APR",)]
    assert tokenizer.analyze("2024 東京") == [("2024",), ("東京",)]
    assert double_metaphone("phone") == double_metaphone("fone") == ("FN",)


def test_metaphone_missing_package_is_a_clear_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from walrus.search import phonetic

    # Make the optional package unimportable for this test only.
    monkeypatch.setitem(sys.modules, "doublemetaphone", None)
    monkeypatch.setattr(phonetic, "_encoder", None)
    with pytest.raises(MissingDependencyError, match="metaphone=True needs the 'doublemetaphone'"):
        Tokenizer(metaphone=True)
    assert issubclass(MissingDependencyError, ImportError)
    # without metaphone nothing needs it
    assert Tokenizer().tokenize("walrus") == {"walru": 0.5}


def test_unicode_normalisation() -> None:
    tokenizer = Tokenizer(stemmer=False, stopwords_file=False)
    composed, decomposed = "Caf\u00e9", "cafe\u0301"
    assert tokenizer.words(composed) == tokenizer.words(decomposed) == ["caf\u00e9"]
    assert tokenizer.words("Straße STRASSE") == ["strasse", "strasse"]
    assert tokenizer.words("日本語のテキスト、東京") == ["日本語のテキスト", "東京"]
    assert tokenizer.words("Ünïcödé ＦＵＬＬＷＩＤＴＨ") == ["ünïcödé", "fullwidth"]


def test_bytes_input_and_bad_types() -> None:
    tokenizer = Tokenizer(stemmer=False)
    assert tokenizer.tokenize("Café walrus".encode()) == {"café": 1 / 3, "walrus": 1 / 3}
    with pytest.raises(TypeError, match="text to tokenize must be str or bytes, got int"):
        tokenizer.tokenize(42)
    with pytest.raises(TypeError, match="got NoneType"):
        tokenizer.words(None)


def test_stemmer_is_thread_safe() -> None:
    tokenizer = Tokenizer(stopwords_file=False)
    text = " ".join(["running", "caresses", "ponies", "generously"] * 50)
    expected = tokenizer.tokenize(text)
    results: list[dict[str, float]] = []

    def work() -> None:
        for _ in range(50):
            results.append(tokenizer.tokenize(text))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 200
    assert all(result == expected for result in results)


def test_stemming_never_yields_an_empty_token() -> None:
    tokens = Tokenizer().tokenize("it's the world's end")
    assert "" not in tokens
    assert "s" in tokens and "world" in tokens
