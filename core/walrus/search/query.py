"""Search query parser: words, "quoted phrases", AND, OR and parentheses -> a node tree.

Grammar (operators are the upper-case words ``AND`` and ``OR``; ``AND`` binds tighter)::

    query   := operand ((AND | OR | <nothing>) operand)*
    operand := WORD | "PHRASE" | ( query )

Two operands side by side are joined with ``default_conjunction``. Words are kept as typed:
the caller runs them through its ``Tokenizer`` (which lower-cases, stems, drops stopwords).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import QueryError

__all__ = [
    "MAX_DEPTH",
    "MAX_TERMS",
    "And",
    "Node",
    "Or",
    "Phrase",
    "QueryError",
    "Term",
    "iter_leaves",
    "parse",
]

MAX_DEPTH = 64  # nesting of parentheses
"""The deepest nesting of parentheses a query may have; deeper ones raise `QueryError`."""
MAX_TERMS = 1000  # words and phrases in one query
"""The most words and phrases one query may hold; more raise `QueryError`."""
_OPEN_QUOTES = '"\u201c'
_CLOSE_QUOTES = '"\u201d'
_SPECIAL = "()" + _OPEN_QUOTES + _CLOSE_QUOTES


@dataclass(frozen=True)
class Term:
    """One word as typed in the query."""

    word: str

    def __str__(self) -> str:
        return self.word


@dataclass(frozen=True)
class Phrase:
    """Words that must appear next to each other, in this order."""

    words: tuple[str, ...]

    def __str__(self) -> str:
        return '"' + " ".join(self.words) + '"'


@dataclass(frozen=True)
class And:
    """Every child must match."""

    children: tuple[Node, ...]

    def __str__(self) -> str:
        return "(" + " AND ".join(map(str, self.children)) + ")"


@dataclass(frozen=True)
class Or:
    """At least one child must match."""

    children: tuple[Node, ...]

    def __str__(self) -> str:
        return "(" + " OR ".join(map(str, self.children)) + ")"


Node = Term | Phrase | And | Or
"""A parsed query: a term, a phrase, or an AND / OR of nodes (what `parse` returns)."""


def iter_leaves(node: Node) -> Iterator[Term | Phrase]:
    """Every Term and Phrase of ``node``, left to right. No Redis work."""
    if isinstance(node, (Term, Phrase)):
        yield node
    else:
        for child in node.children:
            yield from iter_leaves(child)


def _combine(kind: type[And] | type[Or], children: list[Node]) -> Node:
    flat: list[Node] = []
    for child in children:
        parts = child.children if isinstance(child, kind) else (child,)
        for part in parts:
            if part not in flat:  # "a OR a" is just "a"
                flat.append(part)
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


# Lexer tokens: (kind, text, offset); kind is one of WORD PHRASE AND OR ( )
_Token = tuple[str, str, int]


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append((ch, ch, i))
            i += 1
        elif ch in _OPEN_QUOTES or ch in _CLOSE_QUOTES:
            end = next((j for j in range(i + 1, n) if text[j] in _CLOSE_QUOTES), -1)
            if end < 0:
                raise QueryError(f"unterminated quote at offset {i} in query {text!r}")
            tokens.append(("PHRASE", text[i + 1 : end], i))
            i = end + 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in _SPECIAL:
                i += 1
            word = text[start:i]
            kind = word if word in ("AND", "OR") else "WORD"
            tokens.append((kind, word, start))
    return tokens


class _Parser:
    def __init__(self, text: str, conjunction: str) -> None:
        self.text = text
        self.conjunction = conjunction
        self.tokens = _lex(text)
        self.pos = 0
        self.leaves = 0

    def error(self, message: str) -> QueryError:
        return QueryError(f"{message} in query {self.text!r}")

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> Node:
        if not self.tokens:
            raise QueryError("empty search query: expected at least one word or phrase")
        node = self.expression(0)
        extra = self.peek()
        if extra is not None:  # only a ")" can stop an expression early
            raise self.error(f"unexpected ')' at offset {extra[2]} (no matching '(')")
        return node

    def expression(self, depth: int) -> Node:
        operands = [self.operand(depth)]
        operators: list[str] = []
        while True:
            token = self.peek()
            if token is None or token[0] == ")":
                break
            if token[0] in ("AND", "OR"):
                self.pos += 1
                following = self.peek()
                if following is None or following[0] in ("AND", "OR", ")"):
                    raise self.error(f"{token[0]} at offset {token[2]} must be followed by a term")
                operators.append(token[0])
            else:
                operators.append(self.conjunction)
            operands.append(self.operand(depth))
        # AND binds tighter than OR: split the chain at each OR.
        groups: list[list[Node]] = [[operands[0]]]
        for operator, operand in zip(operators, operands[1:], strict=True):
            if operator == "OR":
                groups.append([operand])
            else:
                groups[-1].append(operand)
        return _combine(Or, [_combine(And, group) for group in groups])

    def operand(self, depth: int) -> Node:
        token = self.peek()
        if token is None:
            raise self.error("query ends where a term is expected")
        kind, value, offset = token
        if kind in ("AND", "OR"):
            raise self.error(f"{kind} at offset {offset} must be preceded by a term")
        if kind == ")":
            raise self.error(f"unexpected ')' at offset {offset} (no term before it)")
        self.pos += 1
        if kind == "(":
            if depth + 1 > MAX_DEPTH:
                raise self.error(f"parentheses nested deeper than {MAX_DEPTH} levels")
            following = self.peek()
            if following is not None and following[0] == ")":
                raise self.error(f"empty parentheses at offset {offset}")
            node = self.expression(depth + 1)
            if self.peek() is not None:  # the ")" that stopped the expression
                self.pos += 1
            # else: a "(" never closed is closed at the end of the query, as upstream does.
            return node
        self.leaves += 1
        if self.leaves > MAX_TERMS:
            raise self.error(f"more than {MAX_TERMS} terms")
        if kind == "PHRASE":
            words = tuple(value.split())
            if not words:
                raise self.error(f"empty phrase at offset {offset}")
            return Phrase(words)
        return Term(value)


def _plain_words(text: str, conjunction: str) -> Node:
    """The lenient reading of a query that does not parse: its words, operators, quotes and
    parentheses dropped, joined with ``conjunction``."""
    words = [w for w in _WORD_RE.findall(text) if w not in ("AND", "OR")][:MAX_TERMS]
    if not words:
        raise QueryError(f"search query {text!r} has no word to search for")
    return _combine(And if conjunction == "AND" else Or, [Term(w) for w in words])


_WORD_RE = re.compile(r"[^\s()\"\u201c\u201d]+")


def parse(text: str, default_conjunction: str = "AND", lenient: bool = False) -> Node:
    """Parse a search query into a tree of Term / Phrase / And / Or nodes.

    ``default_conjunction`` ("AND" or "OR", any case) joins operands written side by side.
    A ``(`` never closed is closed at the end (as upstream walrus reads it). Raises
    QueryError (a ValueError) naming the offset of the problem for an empty query, an
    unterminated quote, a ``)`` with no ``(``, a dangling AND/OR, empty ``()`` or ``""``.
    With ``lenient=True`` (for search boxes) such a query is read as its plain words joined
    by ``default_conjunction`` instead; only a query with no word at all still raises.
    No Redis work.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise QueryError(f"query must be UTF-8 text, got {text[:50]!r}") from None
    if not isinstance(text, str):
        raise TypeError(f"query must be str, got {type(text).__name__}")
    if not isinstance(default_conjunction, str) or default_conjunction.upper() not in ("AND", "OR"):
        raise QueryError(f"default_conjunction must be 'AND' or 'OR', got {default_conjunction!r}")
    conjunction = default_conjunction.upper()
    try:
        return _Parser(text, conjunction).parse()
    except QueryError:
        if not lenient:
            raise
        return _plain_words(text, conjunction)
