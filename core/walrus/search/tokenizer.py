"""Turn text into index tokens: normalise, split, drop stopwords, stem, optionally metaphone.

The same ``Tokenizer`` settings must be used to index documents and to search them: a query
word is looked up under exactly the tokens its document counterpart produced.
"""

from __future__ import annotations

import os
import re
import threading
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..utils import decode
from .errors import MissingDependencyError
from .phonetic import double_metaphone, load_double_metaphone

__all__ = ["DEFAULT_STOPWORDS_FILE", "Tokenizer", "load_stopwords"]

DEFAULT_STOPWORDS_FILE = "stopwords.txt"
"""The stopword list shipped in the package (one word a line), used when a tokenizer is given
none."""
# Anything that is not a letter or digit separates words; "_" too (\w would keep it).
_SPLIT_RE = re.compile(r"[\W_]+")


def _normalize(text: str) -> str:
    # NFKC so composed and decomposed accents ("é" vs "e\u0301") give one token; casefold
    # is the Unicode-aware lower() ("Straße" and "STRASSE" both give "strasse").
    return unicodedata.normalize("NFKC", text).casefold()


def _split(text: str) -> list[str]:
    return [word for word in _SPLIT_RE.split(_normalize(text)) if word]


def _parse_stopwords(text: str) -> frozenset[str]:
    words: set[str] = set()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.update(_split(line))
    return frozenset(words)


@lru_cache(maxsize=32)
def _read_stopwords(path: str, mtime_ns: int) -> frozenset[str]:
    # mtime_ns is part of the cache key so an edited file is read again.
    with open(path, encoding="utf-8") as handle:
        return _parse_stopwords(handle.read())


@lru_cache(maxsize=4)
def _packaged_stopwords(name: str) -> frozenset[str] | None:
    # Read through importlib.resources, not a filesystem path: the package may be a zip.
    packaged = resources.files(__package__ or "walrus.search").joinpath(name)
    if not packaged.is_file():
        return None
    return _parse_stopwords(packaged.read_text(encoding="utf-8"))


def load_stopwords(stopwords_file: str | os.PathLike[str] | None = None) -> frozenset[str]:
    """Read a stopword file: one word per line, ``#`` comments and blank lines ignored.

    ``None`` (or the bare name ``"stopwords.txt"`` when no such file exists in the working
    directory) means the list shipped with walrus. Raises ValueError for a missing file.
    No Redis work.
    """
    if stopwords_file is None:
        stopwords_file = DEFAULT_STOPWORDS_FILE
    if not isinstance(stopwords_file, (str, os.PathLike)):
        raise TypeError(
            "stopwords_file must be a path (str or os.PathLike), None or False, "
            f"got {type(stopwords_file).__name__}"
        )
    path = Path(stopwords_file)
    if not path.is_file() and path.name == str(stopwords_file):
        packaged = _packaged_stopwords(path.name)
        if packaged is not None:
            return packaged
    if not path.is_file():
        raise ValueError(f"stopwords_file {os.fspath(stopwords_file)!r} is not a readable file")
    return _read_stopwords(str(path), path.stat().st_mtime_ns)


def _make_stemmer(stemmer: bool | str) -> Callable[[list[str]], list[str]] | None:
    if stemmer is False or stemmer is None:
        return None
    if stemmer is True:
        # Porter's original algorithm: the stems upstream walrus writes, so indexes built by
        # either library share token keys. Pass stemmer="english" for Snowball's Porter2.
        algorithm = "porter"
    elif isinstance(stemmer, str):
        algorithm = stemmer.lower()
    else:
        raise TypeError(
            "stemmer must be True, False or a Snowball algorithm name, "
            f"got {type(stemmer).__name__}"
        )
    try:
        import snowballstemmer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "stemming needs the 'snowballstemmer' package: pip install snowballstemmer "
            "(or pass stemmer=False)"
        ) from exc
    algorithms = snowballstemmer.algorithms()
    if algorithm not in algorithms:
        raise ValueError(
            f"stemmer {stemmer!r} is not a Snowball algorithm; expected True, False or one of "
            f"{', '.join(sorted(algorithms))}"
        )
    instance = snowballstemmer.stemmer(algorithm)
    # Snowball stemmer objects keep per-call state: serialise calls across threads.
    lock = threading.Lock()

    def stem(words: list[str]) -> list[str]:
        with lock:
            return list(instance.stemWords(words))

    return stem


class Tokenizer:
    """Text -> index tokens with a term-frequency score each.

    Steps: NFKC + casefold, split on anything but letters and digits, drop stopwords and words
    shorter than ``min_word_length``, stem (Snowball; ``stemmer=True`` is Porter's algorithm,
    a string names another Snowball algorithm such as ``"english"`` or ``"french"``), then
    optionally replace each word by its double metaphone codes.

    ``stopwords_file``: None for the shipped English list, a path for your own, False for none.
    Runs locally: no Redis round trip.
    """

    def __init__(
        self,
        stemmer: bool | str = True,
        metaphone: bool = False,
        stopwords_file: str | os.PathLike[str] | None | bool = None,
        min_word_length: int | None = None,
    ) -> None:
        if not isinstance(metaphone, bool):
            raise TypeError(f"metaphone must be True or False, got {type(metaphone).__name__}")
        if min_word_length is not None and (
            isinstance(min_word_length, bool)
            or not isinstance(min_word_length, int)
            or min_word_length < 1
        ):
            raise ValueError(
                f"min_word_length must be a positive int or None, got {min_word_length!r}"
            )
        if stopwords_file is True:
            stopwords_file = None
        self.stopwords: frozenset[str] = (
            frozenset() if stopwords_file is False else load_stopwords(stopwords_file)
        )
        self.use_stemmer = stemmer
        self.use_metaphone = metaphone
        self.min_word_length = min_word_length
        self._stem = _make_stemmer(stemmer)
        if metaphone:
            load_double_metaphone()  # fail now, not at the first document

    def __repr__(self) -> str:
        return (
            f"Tokenizer(stemmer={self.use_stemmer!r}, metaphone={self.use_metaphone!r}, "
            f"stopwords={len(self.stopwords)}, min_word_length={self.min_word_length!r})"
        )

    def words(self, text: Any) -> list[str]:
        """Normalised words of ``text`` in order, stopwords and short words removed
        (not yet stemmed). No Redis work."""
        words = _split(_as_text(text))
        if self.stopwords:
            words = [word for word in words if word not in self.stopwords]
        if self.min_word_length:
            words = [word for word in words if len(word) >= self.min_word_length]
        return words

    def analyze(self, text: Any) -> list[tuple[str, ...]]:
        """The tokens of each kept word of ``text``, in order.

        Each item is usually a 1-tuple; with metaphone it holds the word's distinct codes
        (a match on any of them is a match on the word).
        No Redis work.
        """
        words = self.words(text)
        if self._stem is not None and words:
            # Porter strips a lone "s" (from "it's") to nothing: keep the word instead of
            # writing an empty token (upstream indexes "s" too).
            words = [stem or word for stem, word in zip(self._stem(words), words, strict=True)]
        if self.use_metaphone:
            return [double_metaphone(word) for word in words]
        return [(word,) for word in words]

    def tokenize(self, text: Any) -> dict[str, float]:
        """Token -> score: occurrences / (kept words + 1), so repeated words weigh more and
        long documents do not dominate (upstream walrus's weighting). No Redis work."""
        analyzed = self.analyze(text)
        fraction = 1.0 / (len(analyzed) + 1)
        scores: dict[str, float] = {}
        for alternatives in analyzed:
            for token in alternatives:
                scores[token] = scores.get(token, 0.0) + fraction
        return scores


def _as_text(text: Any) -> str:
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            return str(decode(bytes(text)))
        except UnicodeDecodeError:
            raise ValueError(f"text to tokenize must be UTF-8, got {bytes(text)[:50]!r}") from None
    if not isinstance(text, str):
        raise TypeError(f"text to tokenize must be str or bytes, got {type(text).__name__}")
    return text
