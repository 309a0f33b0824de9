"""``Autocomplete``: prefix search over short titles, ranked, with boosts by object or type.

Key layout (upstream walrus's, so either library reads the other's index), for namespace N:

- ``N:d``: hash, object id -> data (JSON when ``use_json``)
- ``N:t``: hash, object id -> title
- ``N:b``: hash of saved boosts, ``"<obj_id>\\1<obj_type>"`` -> multiplier (either part may
  be empty: a boost of every object with that id, or of that type)
- ``N:s:<prefix>``: sorted set of the objects having a title word that starts with
  ``<prefix>``; lower scores rank first

On Redis Cluster ``N`` is hash-tagged in every key (``{N}:d``, ``{N}:s:<prefix>``, ...; a
namespace that already holds a ``{tag}`` is used as is) so each script touches one slot; the
whole index then lives on one shard.

An object id is ``"<obj_id>\\1<obj_type>"`` (type empty when not given). Scores follow
upstream's scheme: each word scores its first 10 letters in base 27 plus the same score of
the whole cleaned title, plus a large offset per word position, so a match on an earlier
word ranks first, then titles in alphabetical order. A multi-word search sums the words'
scores; boosts divide the score.

Differences from upstream: ``search`` is one Lua script (intersection, boosts, ordering and
data fetch: 1 round trip, upstream made about 7 and wrote cache keys); ``store`` is one
script (1 round trip; 2 when the object's title changes); a title made only of stopwords is
indexed with its stopwords instead of not at all; accented letters are folded to ASCII
("café" indexes "cafe", upstream dropped the letter); a prefix shared by two words of a
title keeps the better (earlier) word's score.
"""

from __future__ import annotations

import json
import math
import os
import re
import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .calls import call, is_async_client
from .cluster import tag_name
from .containers.running import Returns, command
from .exceptions import WalrusError
from .keyspace import ScanPages
from .search import load_stopwords
from .utils import decode

if TYPE_CHECKING:  # pragma: no cover
    from .database import Database

__all__ = ["Autocomplete", "AutocompleteConflictError"]

_SEP = "\x01"
_CLEAN_RE = re.compile(r"[^a-z0-9_\-\s]")
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")
MAX_TITLE = 10
MAX_ATTEMPTS = 10
# Bound once: json.loads re-detects the encoding of bytes on every call.
_json_decode = json.JSONDecoder().decode


class AutocompleteConflictError(WalrusError):
    """An object's title kept changing under a write: retried ``MAX_ATTEMPTS`` times."""


def score_token(token: str) -> int:
    """Base-27 score of the first 10 characters: a-z count 2..27, anything else (and
    padding) 1. Lower sorts first."""
    score = 0
    for i in range(MAX_TITLE):
        c = ord(token[i]) - (ord("a") - 2) if i < len(token) else 1
        if c < 2 or c > 27:
            c = 1
        score += c * 27 ** (MAX_TITLE - i - 1)
    return score


_OFFSET = score_token("z" * MAX_TITLE) + 1


def _text(value: Any, what: str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str or bytes, got {type(value).__name__}")
    return value


def _part(value: Any, what: str, allow_empty: bool = False) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, bytes, int)):
        raise TypeError(f"{what} must be str, bytes or int, got {type(value).__name__}")
    text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
    if not text and not allow_empty:
        raise ValueError(f"{what} must not be empty")
    if _SEP in text:
        raise ValueError(f"{what} must not contain the \\x01 character: {text!r}")
    return text


def _multiplier(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive finite number, got {value!r}")
    return float(value)


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{what} must be positive, got {value!r}")
    return value


class Autocomplete:
    """Autocompletion over titles; each object carries data returned by ``search``.

    ``stopwords_file``: the shipped English list by default, a path for your own, or
    None/False for none. ``cache_timeout`` is accepted for compatibility: searches run in
    one script and write no cache keys.

    On an ``AsyncDatabase`` each method that talks to Redis returns an awaitable of its
    result (the same steps, the same round trips).
    """

    _explain_error = None  # server errors are raised as they come

    def __init__(
        self,
        database: Database,
        namespace: str = "walrus",
        cache_timeout: int = 600,
        stopwords_file: str | os.PathLike[str] | None | bool = "stopwords.txt",
        use_json: bool = True,
    ) -> None:
        if not isinstance(namespace, str):
            raise TypeError(f"namespace must be str, got {type(namespace).__name__}")
        if not namespace:
            raise ValueError("namespace must not be empty")
        if isinstance(cache_timeout, bool) or not isinstance(cache_timeout, (int, float)):
            raise TypeError(f"cache_timeout must be a number, got {type(cache_timeout).__name__}")
        if not isinstance(use_json, bool):
            raise TypeError(f"use_json must be True or False, got {type(use_json).__name__}")
        if stopwords_file is None or stopwords_file is False:
            self._stopwords: frozenset[str] = frozenset()
        elif stopwords_file is True:
            self._stopwords = load_stopwords(None)
        else:
            self._stopwords = load_stopwords(stopwords_file)
        self.database = database
        self._async = is_async_client(database)
        self.namespace = namespace
        self._cache_timeout = cache_timeout
        self._use_json = use_json
        # The namespace as it appears in keys: hash-tagged on a cluster, unchanged otherwise.
        self.key_namespace: str = tag_name(database, namespace)
        self.data_key = f"{self.key_namespace}:d"
        self.title_key = f"{self.key_namespace}:t"
        self.boost_key = f"{self.key_namespace}:b"

    def __repr__(self) -> str:
        return f"<Autocomplete {self.namespace!r}>"

    # -- text ------------------------------------------------------------------------------

    def tokenize_title(self, phrase: str | bytes, stopwords: bool = True) -> list[str]:
        """Lower-case ASCII words of ``phrase`` (letters, digits, ``_`` and ``-``), minus
        stopwords when ``stopwords`` (all words when every one is a stopword). No Redis work."""
        text = unicodedata.normalize("NFKD", _text(phrase, "phrase"))
        text = text.encode("ascii", "ignore").decode("ascii").lower()
        words = _CLEAN_RE.sub("", text).split()
        if stopwords and self._stopwords:
            kept = [word for word in words if word not in self._stopwords]
            return kept or words
        return words

    def word_key(self, word: str) -> str:
        """The sorted set of objects with a title word starting with ``word``. No Redis work."""
        return f"{self.key_namespace}:s:{word}"

    def object_key(self, obj_id: Any, obj_type: Any = None) -> str:
        """The id an object is stored under: ``"<obj_id>\\1<obj_type>"``. No Redis work."""
        type_part = "" if obj_type is None else _part(obj_type, "obj_type", allow_empty=True)
        return f"{_part(obj_id, 'obj_id')}{_SEP}{type_part}"

    def _prefix_scores(self, title: str) -> dict[str, int]:
        words = self.tokenize_title(title)
        title_score = score_token(" ".join(words))
        scores: dict[str, int] = {}
        for position, word in enumerate(words):
            score = score_token(word) + _OFFSET * position + title_score
            for end in range(1, len(word) + 1):
                key = self.word_key(word[:end])
                if key not in scores or score < scores[key]:
                    scores[key] = score
        return scores

    # -- writes ------------------------------------------------------------------------------

    @command
    def store(
        self,
        obj_id: Any,
        title: str | bytes | None = None,
        data: Any = None,
        obj_type: Any = None,
        check_exist: bool = True,
    ) -> Returns[bool]:
        """Index ``title`` (default: ``obj_id``) for the object; ``search`` returns ``data``
        (default: the title). Re-storing an object replaces its title, data and prefixes.
        ``check_exist`` is accepted for compatibility (the check is always made, atomically).

        Raises TypeError/ValueError for bad arguments or a title with no word, before
        anything is written. Cost: 1 round trip (one script); 2 when the title changed.
        """
        combined = self.object_key(obj_id, obj_type)
        title_text = combined.split(_SEP, 1)[0] if title is None else _text(title, "title")
        scores = self._prefix_scores(title_text)
        if not scores:
            raise ValueError(f"title {title_text!r} has no word to index")
        payload = self._dump(title_text if data is None else data)
        new_keys = list(scores)
        expected = ""
        for _ in range(MAX_ATTEMPTS):
            old_keys = list(self._prefix_scores(expected)) if expected else []
            reply = yield call.run_script(
                "autocomplete_store",
                keys=[self.data_key, self.title_key, *old_keys, *new_keys],
                args=[
                    combined,
                    title_text,
                    payload,
                    expected,
                    len(old_keys),
                    *(scores[key] for key in new_keys),
                ],
            )
            if int(reply[0]) == 1:
                return True
            expected = decode(reply[1]) if reply[1] is not None else ""
        raise AutocompleteConflictError(
            f"object {combined!r} kept changing; not stored after {MAX_ATTEMPTS} attempts"
        )

    @command
    def remove(self, obj_id: Any, obj_type: Any = None) -> Returns[bool]:
        """Remove the object, its data and its saved boost; True. ``KeyError`` (as upstream)
        when no such object is stored.

        Cost: 2 round trips (read the title, then one script removing it everywhere).
        """
        combined = self.object_key(obj_id, obj_type)
        for _ in range(MAX_ATTEMPTS):
            title = yield call.hget(self.title_key, combined)
            keys = [self.data_key, self.title_key, self.boost_key]
            args: list[Any]
            if title is None:
                args = [combined, "0"]
            else:
                keys.extend(self._prefix_scores(decode(title)))
                args = [combined, "1", title]
            reply = yield call.run_script("autocomplete_remove", keys=keys, args=args)
            if int(reply[0]) == 1:
                if not int(reply[1]):
                    raise KeyError(f"no autocomplete object {decode(combined)!r} is stored")
                return True
        raise AutocompleteConflictError(
            f"object {combined!r} kept changing; not removed after {MAX_ATTEMPTS} attempts"
        )

    @command
    def boost_object(
        self,
        obj_id: Any = None,
        obj_type: Any = None,
        multiplier: float = 1.1,
        relative: bool = True,
    ) -> Returns[float]:
        """Save a boost for an object (id, or id and type) or for a whole type: its search
        score is divided by ``multiplier`` (> 1 ranks higher, between 0 and 1 lower).
        ``relative``: multiply any saved boost instead of replacing it. Returns the boost
        now saved. Cost: 1 round trip (one script).
        """
        if obj_id is None and obj_type is None:
            raise ValueError("boost_object needs obj_id, obj_type or both")
        id_part = "" if obj_id is None else _part(obj_id, "obj_id")
        type_part = "" if obj_type is None else _part(obj_type, "obj_type")
        factor = _multiplier(multiplier, "multiplier")
        if not isinstance(relative, bool):
            raise TypeError(f"relative must be True or False, got {type(relative).__name__}")
        saved = yield call.run_script(
            "autocomplete_boost",
            keys=[self.boost_key],
            args=[f"{id_part}{_SEP}{type_part}", repr(factor), "1" if relative else "0"],
        )
        return float(saved)

    @command
    def flush(self, batch_size: int = 1000) -> Returns[int]:
        """Delete the whole index (prefix sets, data, titles, boosts); returns the number of
        keys deleted. Cost: one SCAN page plus one UNLINK per ``batch_size`` keys."""
        batch_size = _positive_int(batch_size, "batch_size")
        pattern = _GLOB_SPECIAL.sub(r"\\\1", self.key_namespace) + ":s:*"
        deleted = 0
        batch: list[Any] = [self.data_key, self.title_key, self.boost_key]
        # Each page's keys are unlinked as the batch fills, before the next page is read.
        pages = ScanPages(self.database, pattern, batch_size)
        while (keys := (yield from pages.next())) is not None:
            for key in keys:
                batch.append(key)
                if len(batch) >= batch_size:
                    deleted += int((yield call.unlink(*batch)))
                    batch = []
        if batch:
            deleted += int((yield call.unlink(*batch)))
        return deleted

    # -- reads -------------------------------------------------------------------------------

    @command
    def search(
        self,
        phrase: str | bytes,
        limit: int | None = None,
        boosts: Mapping[Any, float] | None = None,
        chunk_size: int = 1000,
    ) -> Returns[list[Any]]:
        """Data of the objects whose title has, for each word of ``phrase``, a word starting
        with it; best first. Stopwords are ignored except in the last (maybe partly typed)
        word, which narrows the results only when some title matches it.

        ``boosts``: ``{obj_id or obj_type: multiplier}`` for this search, over the saved
        ones. Cost: 1 round trip (one script), none for a phrase without words.
        """
        words = self.tokenize_title(phrase, stopwords=False)
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int):
                raise TypeError(f"limit must be an int or None, got {type(limit).__name__}")
            if limit < 0:
                raise ValueError(f"limit must not be negative, got {limit!r}")
        chunk_size = _positive_int(chunk_size, "chunk_size")
        boost_args: list[Any] = []
        if boosts is not None:
            if not isinstance(boosts, Mapping):
                raise TypeError(f"boosts must be a mapping, got {type(boosts).__name__}")
            for key, value in boosts.items():
                boost_args.extend(
                    (_part(key, "boosts key"), repr(_multiplier(value, f"boosts[{key!r}]")))
                )
        words = [word for word in words[:-1] if word not in self._stopwords] + words[-1:]
        if not words or limit == 0:
            return []
        word_keys = list(dict.fromkeys(self.word_key(word) for word in words))
        # A trailing stopword may be a word still being typed ("the" -> "theater"), or a
        # stopword the titles do not index ("theater of"): it narrows the results only
        # when something matches it.
        optional = len(word_keys) > 1 and words[-1] in self._stopwords
        reply = yield call.run_script(
            "autocomplete_search",
            keys=[self.data_key, self.boost_key, *word_keys],
            args=[
                -1 if limit is None else limit,
                chunk_size,
                "1" if optional else "0",
                len(boost_args) // 2,
                *boost_args,
            ],
        )
        return [self._load(value) for value in reply]

    @command
    def exists(self, obj_id: Any, obj_type: Any = None) -> Returns[bool]:
        """Whether the object is in the index. Cost: 1 round trip (HEXISTS)."""
        return bool((yield call.hexists(self.data_key, self.object_key(obj_id, obj_type))))

    @command
    def list_data(self) -> Returns[list[Any]]:
        """Data of every object (decoded from JSON when ``use_json``). Cost: 1 round trip."""
        return [self._load(value) for value in (yield call.hvals(self.data_key))]

    @command
    def list_titles(self) -> Returns[list[str]]:
        """Title of every object. Cost: 1 round trip (HVALS)."""
        return [decode(value) for value in (yield call.hvals(self.title_key))]

    # -- data ----------------------------------------------------------------------------------

    def _dump(self, data: Any) -> str | bytes | int | float:
        if self._use_json:
            try:
                return json.dumps(data)
            except (TypeError, ValueError) as exc:
                raise TypeError(f"data is not JSON serializable: {exc}") from None
        if isinstance(data, bool) or not isinstance(data, (str, bytes, int, float)):
            raise TypeError(
                "data must be str, bytes, int or float when use_json=False, "
                f"got {type(data).__name__}"
            )
        return data

    def _load(self, value: Any) -> Any:
        if self._use_json:
            return _json_decode(value.decode("utf-8") if isinstance(value, bytes) else value)
        return decode(value)
