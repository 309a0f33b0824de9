"""Compile a parsed query into index tokens and run it in one Lua script.

Shared by ``walrus.fts.Index`` and the model layer's full-text fields: both keep one sorted
set per token (member = document id, score = minus its term frequency), they only differ in
how a token's key is named.

Phrases: the script matches every word of a phrase (AND); ``TokenQuery.matches(content)``
then checks word adjacency against the document's stored content. Positions are not stored,
so the index keeps upstream walrus's layout.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from ..calls import asend, call, is_async_client, send
from ..steps import adrive, drive
from .query import And, Node, Phrase, QueryError, Term
from .tokenizer import Tokenizer

__all__ = ["TokenQuery", "compile_query", "run_token_query", "token_query_steps"]

TEMP_TTL_MS = 60_000  # temporaries are deleted by the script; the TTL only guards a crash
MAX_KEYS = 2000  # token and temp keys of one script call (Lua unpack() has a stack limit)

# A compiled tree: a token, or ("&" | "|", children).
_TTree = str | tuple[str, tuple[Any, ...]]
# Per query leaf: its word sequence, each word a tuple of alternative tokens.
_Seq = tuple[tuple[str, ...], ...]


def _combine(op: str, children: list[_TTree]) -> _TTree | None:
    flat: list[_TTree] = []
    for child in children:
        parts = child[1] if isinstance(child, tuple) and child[0] == op else (child,)
        for part in parts:
            if part not in flat:
                flat.append(part)
    if not flat:
        return None
    return flat[0] if len(flat) == 1 else (op, tuple(flat))


def _seq_tree(seq: _Seq) -> _TTree | None:
    return _combine("&", [t for t in (_combine("|", list(alts)) for alts in seq) if t is not None])


def _contains_seq(document: list[tuple[str, ...]], seq: _Seq) -> bool:
    width = len(seq)
    wanted = [set(alts) for alts in seq]
    for start in range(len(document) - width + 1):
        if all(wanted[j].intersection(document[start + j]) for j in range(width)):
            return True
    return False


@dataclass(frozen=True, eq=False)
class TokenQuery:
    """A query reduced to index tokens.

    ``tree`` is None when every word was a stopword (the query matches nothing);
    ``needs_verification`` is True when a phrase (or a word that splits into several, such
    as "e-mail") must be checked for adjacency with ``matches``.
    """

    node: Node
    tokenizer: Tokenizer
    tree: _TTree | None
    needs_verification: bool
    sequences: dict[Node, _Seq]

    @property
    def tokens(self) -> list[str]:
        """Distinct tokens of the query, in order of appearance."""
        found: list[str] = []

        def walk(tree: _TTree) -> None:
            if isinstance(tree, str):
                if tree not in found:
                    found.append(tree)
            else:
                for child in tree[1]:
                    walk(child)

        if self.tree is not None:
            walk(self.tree)
        return found

    def matches(self, content: Any) -> bool:
        """Whether a document with this content satisfies the query exactly (phrases
        included). Local: no round trip."""
        document = self.tokenizer.analyze(content)
        present: set[str] = set()
        for alternatives in document:
            present.update(alternatives)

        def evaluate(node: Node) -> bool | None:  # None: the node has no tokens at all
            if isinstance(node, (Term, Phrase)):
                seq = self.sequences[node]
                if not seq:
                    return None
                if len(seq) == 1:
                    return bool(present.intersection(seq[0]))
                return _contains_seq(document, seq)
            results = [r for r in (evaluate(child) for child in node.children) if r is not None]
            if not results:
                return None
            return all(results) if isinstance(node, And) else any(results)

        return bool(evaluate(self.node))


def compile_query(node: Node, tokenizer: Tokenizer) -> TokenQuery:
    """Reduce a parsed query to index tokens with ``tokenizer`` (the one used to index).

    Words that produce no token (stopwords, too short) are dropped from their AND / OR.
    No Redis work.
    """
    sequences: dict[Node, _Seq] = {}
    verify = False

    def build(n: Node) -> _TTree | None:
        nonlocal verify
        if isinstance(n, (Term, Phrase)):
            text = n.word if isinstance(n, Term) else " ".join(n.words)
            seq: _Seq = tuple(tuple(alts) for alts in tokenizer.analyze(text))
            sequences[n] = seq
            if len(seq) > 1:
                verify = True
            return _seq_tree(seq)
        op = "&" if isinstance(n, And) else "|"
        return _combine(op, [t for t in (build(child) for child in n.children) if t is not None])

    tree = build(node)
    return TokenQuery(node, tokenizer, tree, verify and tree is not None, sequences)


def _program(
    tree: _TTree, token_key: Callable[[str], str], temp_prefix: str
) -> tuple[list[str], list[Any]]:
    """KEYS and ARGV of fts_search.lua for ``tree`` (see the script's header)."""
    token_keys: list[str] = []
    index: dict[str, int] = {}
    ops: list[Any] = []
    temps: list[int] = []  # positions in ops to patch with the final KEYS index

    def emit(t: _TTree) -> None:
        if isinstance(t, str):
            if t not in index:
                token_keys.append(token_key(t))
                index[t] = len(token_keys)
            ops.extend(("K", index[t]))
            return
        op, children = t
        for child in children:
            emit(child)
        ops.extend((op, len(children), len(temps)))
        temps.append(len(ops) - 1)

    emit(tree)
    first_temp = len(token_keys) + 1
    for number, position in enumerate(temps):
        ops[position] = first_temp + number
    if len(token_keys) + len(temps) > MAX_KEYS:
        raise QueryError(f"query needs more than {MAX_KEYS} keys; use fewer words")
    nonce = uuid.uuid4().hex
    keys = token_keys + [f"{temp_prefix}{nonce}.{n}" for n in range(len(temps))]
    return keys, [TEMP_TTL_MS, first_temp, *ops]


def run_token_query(
    database: Any,
    query: TokenQuery,
    token_key: Callable[[str], str],
    temp_prefix: str,
) -> list[tuple[str, float]]:
    """Document ids matching ``query`` with their summed scores, best first (lowest score;
    ties by id). Phrases are NOT verified here: see ``TokenQuery.matches``.

    ``token_key(token)`` names a token's sorted set; temporaries are named
    ``temp_prefix + <uuid>.<n>`` (put the index's hash tag in it for Redis Cluster) and
    deleted by the script. On an asyncio client (``AsyncDatabase``) the call returns an
    awaitable of the same list. 1 round trip (none when the query has no token).
    """
    steps = token_query_steps(query, token_key, temp_prefix)
    if is_async_client(database):
        # An awaitable, typed as the sync result (docs/asyncio.md).
        return adrive(steps, lambda step: asend(database, step))  # type: ignore[return-value]
    found: list[tuple[str, float]] = drive(steps, lambda step: send(database, step))
    return found


def token_query_steps(
    query: TokenQuery, token_key: Callable[[str], str], temp_prefix: str
) -> Generator[Any, Any, list[tuple[str, float]]]:
    """``run_token_query`` written as steps (``walrus.calls``), for a caller that runs
    its own steps on either client. 1 round trip (none when the query has no token)."""
    if query.tree is None:
        return []
    keys, args = _program(query.tree, token_key, temp_prefix)
    flat: Sequence[Any] = yield call.run_script("fts_search", keys=keys, args=args)
    pairs = []
    for i in range(0, len(flat), 2):
        member = flat[i]
        pairs.append(
            (member.decode("utf-8") if isinstance(member, bytes) else member, float(flat[i + 1]))
        )
    return pairs
