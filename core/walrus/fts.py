"""``Index``: a full-text search index of documents with metadata, stored in plain Redis types.

Key layout (the one upstream walrus uses, so either library reads the other's index):

- ``fts.<name>``: set of indexed document ids
- ``doc.<name>.<id>``: hash of the document: ``content`` plus metadata fields
- ``fts.<name>.<token>``: sorted set, member = document id, score = minus the token's term
  frequency in that document (lower is better)
- ``temp.fts.<name>.<uuid>.<n>``: query temporaries, created and deleted inside one script

and one key of ours, which upstream ignores: ``fts.<name>.:tokens``, a hash of each
document's tokens and a digest of the content they came from, so that re-indexing or
removing a document is one script call with no read first. A document without a matching
entry (written or changed by upstream) costs one round trip more, once.

Index names cannot contain ``.``: ``Index("app.x")``'s document set would be the token set
of "x" in ``Index("app")`` (tokens never contain ``.``, so names without it cannot clash).

On Redis Cluster ``<name>`` is hash-tagged in every key (``fts.{<name>}``,
``doc.{<name>}.<id>``, ...; a name that already holds a ``{tag}`` is used as is), so a write
or a query script touches one slot. The trade-off: a whole index lives on one shard.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .calls import Batch, call, is_async_client
from .cluster import tag_name
from .containers import Set
from .containers.running import Returns, command, sync_only
from .exceptions import WalrusError
from .keyspace import ScanPages
from .search.plan import TokenQuery, compile_query, token_query_steps
from .search.query import QueryError, parse
from .search.tokenizer import Tokenizer
from .utils import decode, decode_dict

if TYPE_CHECKING:  # pragma: no cover
    from .database import Database

__all__ = ["Index", "IndexConflictError", "QueryError"]

MAX_ATTEMPTS = 10


class IndexConflictError(WalrusError):
    """A document kept changing under a write: it was retried ``MAX_ATTEMPTS`` times."""


def _utf8(value: str | bytes, what: str) -> str:
    """``value`` as str, checked both ways: bytes must decode as UTF-8 and a str must encode
    (no lone surrogate), else ValueError naming ``what`` (before anything is sent)."""
    try:
        if isinstance(value, bytes):
            return value.decode("utf-8")
        value.encode("utf-8")
    except (UnicodeDecodeError, UnicodeEncodeError) as exc:
        raise ValueError(
            f"{what} must be UTF-8 text, got {value[:50]!r} ({exc.reason} at position {exc.start})"
        ) from None
    return value


def _doc_id(key: Any) -> str:
    if isinstance(key, (str, bytes)):
        return _utf8(key, "document key")
    if isinstance(key, (int, uuid.UUID)) and not isinstance(key, bool):
        return str(key)
    raise TypeError(f"document key must be str, bytes, int or UUID, got {type(key).__name__}")


def _content(content: Any) -> str:
    if not isinstance(content, (str, bytes)):
        raise TypeError(f"document content must be str or bytes, got {type(content).__name__}")
    return _utf8(content, "document content")


def _metadata(positional: Mapping[Any, Any] | None, extra: dict[str, Any]) -> dict[str, Any]:
    if positional is not None and not isinstance(positional, Mapping):
        raise TypeError(f"metadata must be a mapping, got {type(positional).__name__}")
    merged: dict[str, Any] = {}
    for field, value in [*(positional or {}).items(), *extra.items()]:
        if not isinstance(field, (str, bytes)) or not field:
            raise TypeError(f"metadata field names must be non-empty str, got {field!r}")
        field = _utf8(field, "metadata field name")
        if field == "content":
            raise ValueError("metadata field 'content' is reserved for the document's text")
        if isinstance(value, bool) or not isinstance(value, (str, bytes, int, float)):
            raise TypeError(
                f"metadata field {field!r} must be str, bytes, int or float, "
                f"got {type(value).__name__}"
            )
        # Documents are read back as str: text that is not UTF-8 could be stored, not read.
        merged[field] = (
            _utf8(value, f"metadata field {field!r}") if isinstance(value, (str, bytes)) else value
        )
    return merged


class Index:
    """Full-text index named ``name`` on ``database``.

    Options (the tokenizer's): ``stemmer`` (True = Porter, False, or a Snowball algorithm
    name), ``metaphone`` (double metaphone phonetic tokens), ``stopwords_file`` (None = the
    shipped English list, a path, or False), ``min_word_length``; and
    ``default_conjunction`` ("AND" or "OR") for words written side by side in a query.
    Documents must be indexed and searched with the same options.

    ``token_lists`` (default True) keeps each document's tokens in ``fts.<name>.:tokens``,
    so that re-indexing or removing it is 1 round trip. False stores upstream walrus's
    layout only (about 20% less memory per document, measured in benchmarks/RESULTS.md):
    adding a new document is still 1 round trip, re-indexing or removing one costs 2 (its
    stored content is read back and tokenized here). Indexes of either setting read each
    other's documents.

    On an asyncio client (``AsyncDatabase``) every method that talks to Redis returns an
    awaitable of its result; ``contains`` and ``length`` are the awaitable forms of ``in``
    and ``len()``.
    """

    _explain_error = None  # server errors are raised as they come

    def __init__(
        self,
        database: Database,
        name: str,
        *,
        stemmer: bool | str = True,
        metaphone: bool = False,
        stopwords_file: str | os.PathLike[str] | None | bool = None,
        min_word_length: int | None = None,
        default_conjunction: str = "AND",
        token_lists: bool = True,
    ) -> None:
        if not isinstance(name, (str, bytes)) or not name:
            raise TypeError(f"Index name must be a non-empty str, got {name!r}")
        name = _utf8(name, "Index name")
        if "." in name:
            raise ValueError(
                f"Index name must not contain '.', got {name!r}: '.' separates the parts of the "
                "index's keys, so the document set of Index('app.x') would be the token set of "
                "'x' in Index('app')"
            )
        if not isinstance(default_conjunction, str) or default_conjunction.upper() not in (
            "AND",
            "OR",
        ):
            raise ValueError(
                f"default_conjunction must be 'AND' or 'OR', got {default_conjunction!r}"
            )
        if not isinstance(token_lists, bool):
            raise TypeError(f"token_lists must be True or False, got {token_lists!r}")
        self.database = database
        self.db = database  # upstream attribute name
        # False: upstream walrus's layout only (no ``fts.<name>.:tokens`` entry per document):
        # less memory, and re-indexing or removing a document costs 2 round trips.
        self.token_lists = token_lists
        # On an AsyncDatabase each method below that talks to Redis returns an awaitable.
        self._async = is_async_client(database)
        self.name = name
        self.default_conjunction = default_conjunction.upper()
        self.tokenizer = Tokenizer(
            stemmer=stemmer,
            metaphone=metaphone,
            stopwords_file=stopwords_file,
            min_word_length=min_word_length,
        )
        # The name as it appears in keys: hash-tagged on a cluster, unchanged otherwise.
        self.key_name: str = tag_name(database, name)
        self.members_key = f"fts.{self.key_name}"
        self.members = Set(database, self.members_key)
        # ".:" cannot appear in a token (letters and digits only) nor in a name (no "."),
        # so this key is no index's document set and no token's set.
        self.tokens_key = f"fts.{self.key_name}.:tokens"

    def __repr__(self) -> str:
        return f"<Index {self.name!r}>"

    # -- keys ------------------------------------------------------------------------------

    def document_key(self, key: Any) -> str:
        """Name of the hash holding document ``key``. No Redis work."""
        return f"doc.{self.key_name}.{_doc_id(key)}"

    def token_key(self, token: str) -> str:
        """Name of the sorted set of documents containing ``token``. No Redis work."""
        return f"fts.{self.key_name}.{token}"

    @property
    def _temp_prefix(self) -> str:
        # Contains the index name, so a {hash tag} in it puts temporaries in the same slot.
        return f"temp.fts.{self.key_name}."

    # -- writes ----------------------------------------------------------------------------

    def add(
        self, key: Any, content: Any, metadata: Mapping[Any, Any] | None = None, /, **extra: Any
    ) -> None:
        """Index a document with optional metadata (a mapping and/or keyword arguments).

        Adding an id that is already indexed re-indexes it like ``update``: old tokens are
        removed, metadata merged. 1 round trip (an EVALSHA; see ``_write`` for the one
        exception).
        """
        return self._write(
            _doc_id(key), "merge", _content(content), _metadata(metadata, extra), False
        )

    def update(
        self, key: Any, content: Any, metadata: Mapping[Any, Any] | None = None, /, **extra: Any
    ) -> None:
        """Replace the content of an indexed document; existing metadata is kept and the
        given fields are merged over it. KeyError when ``key`` is not indexed. 1 round trip."""
        return self._write(
            _doc_id(key), "merge", _content(content), _metadata(metadata, extra), True
        )

    def replace(
        self, key: Any, content: Any, metadata: Mapping[Any, Any] | None = None, /, **extra: Any
    ) -> None:
        """Replace an indexed document entirely: content and metadata (old metadata fields
        are dropped). KeyError when ``key`` is not indexed. 1 round trip."""
        return self._write(
            _doc_id(key), "replace", _content(content), _metadata(metadata, extra), True
        )

    def remove(self, key: Any, preserve_data: bool = False) -> None:
        """Remove a document from the index, and its hash unless ``preserve_data``.

        Every token entry of the document goes; a token set left empty disappears.
        KeyError when ``key`` is not indexed. 1 round trip.
        """
        return self._write(_doc_id(key), "unindex" if preserve_data else "delete", None, {}, True)

    def _token_keys_holding(self, doc_id: str) -> Returns[list[str]]:
        """Token sets that list ``doc_id``, found by SCAN: only for an indexed document whose
        hash (and so its content) was deleted behind the index's back. Many round trips.
        Steps."""
        prefix = self.token_key("")
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"
        found: list[Any] = []
        pages = ScanPages(self.database, pattern, 1000, _type="zset")  # every primary
        while (page := (yield from pages.next())) is not None:
            found.extend(page)
        candidates = [key.decode("utf-8") if isinstance(key, bytes) else key for key in found]
        # Tokens never contain ".": a longer key belongs to another index ("<name>.x", which
        # upstream walrus allowed as a name).
        candidates = [key for key in candidates if "." not in key[len(prefix) :]]
        if not candidates:
            return []
        scores = yield Batch([call.zscore(key, doc_id) for key in candidates], transaction=False)
        return [key for key, score in zip(candidates, scores, strict=True) if score is not None]

    @command
    def _write(
        self,
        doc_id: str,
        action: str,
        content: str | None,
        metadata: dict[str, Any],
        must_exist: bool,
    ) -> Returns[None]:
        """Run ``fts_write``: first trusting the document's stored token list (1 round trip);
        when it has none that matches its content (indexed by upstream walrus, or changed
        behind our back), the script says what is stored and the call is repeated with the
        old tokens computed here, guarded by that state (2 round trips, and the document has
        a token list from then on). An indexed document whose hash was deleted has its
        token sets found by SCAN."""
        new_scores: dict[str, float] = {}
        fields: list[Any] = []
        if content is not None:
            new_scores = self.tokenizer.tokenize(content)
            fields = ["content", content]
            for field, value in metadata.items():
                fields.extend((field, value))
        new_tokens = list(new_scores)
        new_keys = [self.token_key(t) for t in new_tokens]
        scores = [repr(-new_scores[t]) for t in new_tokens]
        # None: let the script use its token list; without token lists, first expect a new
        # document (1 round trip), and an indexed one is reported with its stored content.
        state: tuple[bool, bytes | None] | None = None if self.token_lists else (False, None)
        mode = action if self.token_lists else action + ":bare"
        for _ in range(MAX_ATTEMPTS):
            old_keys: list[str] = []
            if state is None:
                guard: list[Any] = ["auto", ""]
            elif not state[0]:
                guard = ["0", ""]
            elif state[1] is None:
                guard = ["2", ""]
                old_keys = yield from self._token_keys_holding(doc_id)
            else:
                guard = ["1", state[1]]
                old_text = state[1].decode("utf-8", "replace")
                old_keys = [self.token_key(t) for t in self.tokenizer.tokenize(old_text)]
            keys = [
                self.members_key,
                self.document_key(doc_id),
                self.tokens_key,
                *old_keys,
                *new_keys,
            ]
            args = [
                doc_id,
                *guard,
                mode,
                "1" if must_exist else "0",
                self.token_key(""),
                len(old_keys),
                len(new_tokens),
                len(fields) // 2,
                *fields,
                *scores,
            ]
            result = yield call.run_script("fts_write", keys=keys, args=args)
            code = int(result[0])
            if code == 1:
                return
            if code == 2:
                raise KeyError(f"document {doc_id!r} is not in index {self.name!r}")
            state = (bool(int(result[1])), result[2] if len(result) > 2 else None)
        raise IndexConflictError(
            f"document {doc_id!r} of index {self.name!r} changed during {MAX_ATTEMPTS} attempts"
        )

    # -- reads -----------------------------------------------------------------------------

    @command
    def get_document(self, key: Any) -> Returns[dict[str, str]]:
        """The document's hash: ``content`` plus metadata, as str; {} when missing.
        1 round trip."""
        document_key = self.document_key(key)
        return decode_dict((yield call.hgetall(document_key)))

    def __contains__(self, key: Any) -> bool:
        """Whether ``key`` is indexed (1 round trip)."""
        sync_only(self, "in", "await index.contains(key)")
        return self.contains(key)

    @command
    def contains(self, key: Any) -> Returns[bool]:
        """Whether ``key`` is indexed (``key in index``). 1 round trip (SISMEMBER)."""
        doc_id = _doc_id(key)
        return bool((yield call.sismember(self.members_key, doc_id)))

    def __len__(self) -> int:
        """Number of indexed documents (1 round trip)."""
        sync_only(self, "len()", "await index.length()")
        return self.length()

    @command
    def length(self) -> Returns[int]:
        """Number of indexed documents (``len(index)``). 1 round trip (SCARD)."""
        return int((yield call.scard(self.members_key)))

    def compile(
        self, query: str, default_conjunction: str | None = None, lenient: bool = False
    ) -> TokenQuery:
        """Parse ``query`` and reduce it to this index's tokens (no round trip).
        Raises QueryError for an empty or malformed query (see ``search`` for ``lenient``)."""
        node = parse(query, default_conjunction or self.default_conjunction, lenient)
        return compile_query(node, self.tokenizer)

    def _search(
        self, query: str, default_conjunction: str | None, lenient: bool = False
    ) -> Returns[list[tuple[str, float, dict[str, str]]]]:
        """The documents of ``query`` with their scores. Steps: 2 round trips."""
        ranked: list[tuple[str, float]]
        if isinstance(query, str) and not query.strip():
            # Upstream: an empty query lists every document (score 0), here in id order.
            members = yield call.smembers(self.members_key)
            ranked = [(decode(m), 0.0) for m in sorted(members)]
            compiled = None
        else:
            compiled = self.compile(query, default_conjunction, lenient)
            ranked = yield from token_query_steps(compiled, self.token_key, self._temp_prefix)
        if not ranked:
            return []
        documents = yield Batch(
            [call.hgetall(self.document_key(doc_id)) for doc_id, _ in ranked], transaction=False
        )
        found = []
        for (doc_id, score), data in zip(ranked, documents, strict=True):
            if not data:  # removed between the two round trips
                continue
            document = decode_dict(data)
            if (
                compiled is not None
                and compiled.needs_verification
                and not compiled.matches(document.get("content", ""))
            ):
                continue
            found.append((doc_id, -score, document))
        return found

    @command
    def search(
        self, query: str, default_conjunction: str | None = None, lenient: bool = False
    ) -> Returns[list[dict[str, str]]]:
        """Documents matching ``query``, best first (highest summed term frequency; ties in
        id order). Each is a dict with ``content`` and the metadata.

        Query syntax: words, "quoted phrases", AND, OR, parentheses; side-by-side words are
        joined with ``default_conjunction`` (the index's, "AND" unless set). Words are
        tokenized like documents (stopwords dropped, stemmed). An empty query lists every
        document (as upstream); a ``(`` left open is closed at the end. A malformed query
        (unterminated quote, stray ``)``, dangling AND/OR) raises ``QueryError`` (a
        ValueError), or with ``lenient=True`` (for a search box) is read as its plain words.
        2 round trips: one script evaluating the whole query, one pipelined HGETALL batch.
        """
        found = yield from self._search(query, default_conjunction, lenient)
        return [document for _, _, document in found]

    @command
    def search_items(
        self, query: str, default_conjunction: str | None = None, lenient: bool = False
    ) -> Returns[list[tuple[str, dict[str, str]]]]:
        """Like ``search`` but ``(document id, document)`` pairs. 2 round trips."""
        found = yield from self._search(query, default_conjunction, lenient)
        return [(doc_id, doc) for doc_id, _, doc in found]

    @command
    def search_scores(
        self, query: str, default_conjunction: str | None = None, lenient: bool = False
    ) -> Returns[list[tuple[str, float]]]:
        """``(document id, score)`` pairs, best first; score = summed term frequencies of the
        query's tokens (0 for every document of an empty query). 2 round trips."""
        found = yield from self._search(query, default_conjunction, lenient)
        return [(doc_id, score) for doc_id, score, _ in found]
