"""Search query parser: precedence, implicit conjunction, phrases, and clear errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walrus import WalrusError
from walrus.search.query import (
    MAX_DEPTH,
    MAX_TERMS,
    And,
    Or,
    Phrase,
    QueryError,
    Term,
    iter_leaves,
    parse,
)

a, b, c, d = Term("a"), Term("b"), Term("c"), Term("d")


def test_single_word_keeps_its_spelling() -> None:
    assert parse("Python") == Term("Python")
    assert parse("  e-mail's  ") == Term("e-mail's")


def test_implicit_conjunction_defaults_to_and() -> None:
    assert parse("a b c") == And((a, b, c))
    assert parse("a b", default_conjunction="or") == Or((a, b))
    assert parse("a b", default_conjunction="OR") == Or((a, b))


def test_and_binds_tighter_than_or() -> None:
    assert parse("a AND b OR c") == Or((And((a, b)), c))
    assert parse("a OR b AND c") == Or((a, And((b, c))))
    assert parse("a OR b c") == Or((a, And((b, c))))
    assert parse("a b AND c d", default_conjunction="OR") == Or((a, And((b, c)), d))


def test_parentheses_group() -> None:
    assert parse("python AND (redis OR walrus)") == And(
        (Term("python"), Or((Term("redis"), Term("walrus"))))
    )
    assert parse("(a OR b) (c OR d)") == And((Or((a, b)), Or((c, d))))
    assert parse("((a))") == a


def test_nested_operators_are_flattened_and_deduplicated() -> None:
    assert parse("a AND (b AND (c d))") == And((a, b, c, d))
    assert parse("a OR (b OR c)") == Or((a, b, c))
    assert parse("a OR a") == a
    assert parse("a b a") == And((a, b))


def test_phrases() -> None:
    assert parse('"quick  brown fox" dog') == And((Phrase(("quick", "brown", "fox")), Term("dog")))
    assert parse('"walrus"') == Phrase(("walrus",))
    assert parse("\u201csmart quotes\u201d OR x") == Or((Phrase(("smart", "quotes")), Term("x")))
    assert parse('a"b c"d') == And((a, Phrase(("b", "c")), d))


def test_lower_case_and_or_are_plain_words() -> None:
    assert parse("cats and dogs or mice") == And(
        (Term("cats"), Term("and"), Term("dogs"), Term("or"), Term("mice"))
    )


def test_str_renders_the_tree() -> None:
    assert str(parse('a OR (b "c d")')) == '(a OR (b AND "c d"))'


def test_iter_leaves() -> None:
    node = parse('x OR (y "p q")')
    assert list(iter_leaves(node)) == [Term("x"), Term("y"), Phrase(("p", "q"))]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "empty search query"),
        ("   \t\n", "empty search query"),
        ("(", "query ends where a term is expected"),
        (")", r"unexpected '\)' at offset 0"),
        ("a)", r"unexpected '\)' at offset 1 \(no matching '\('\)"),
        ("a () b", r"empty parentheses at offset 2"),
        ("AND", "AND at offset 0 must be preceded by a term"),
        ("OR b", "OR at offset 0 must be preceded by a term"),
        ("a AND", "AND at offset 2 must be followed by a term"),
        ("a AND OR b", "AND at offset 2 must be followed by a term"),
        ("(a OR) b", "OR at offset 3 must be followed by a term"),
        ('"abc', "unterminated quote at offset 0"),
        ('a "b c', "unterminated quote at offset 2"),
        ('""', "empty phrase at offset 0"),
        ('a "   "', "empty phrase at offset 2"),
    ],
)
def test_malformed_queries_raise_query_error(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=message) as info:
        parse(query)
    if query.strip():
        assert repr(query) in str(info.value)  # the message quotes the query


def test_query_error_is_a_value_error_and_walrus_error() -> None:
    assert issubclass(QueryError, ValueError)
    assert issubclass(QueryError, WalrusError)


def test_depth_and_size_limits() -> None:
    assert parse("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH) == a
    deep = "(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1)
    with pytest.raises(QueryError, match=f"nested deeper than {MAX_DEPTH} levels"):
        parse(deep)
    words = " OR ".join(f"w{i}" for i in range(MAX_TERMS))
    assert len(parse(words).children) == MAX_TERMS  # type: ignore[union-attr]
    with pytest.raises(QueryError, match=f"more than {MAX_TERMS} terms"):
        parse(words + " OR extra")


def test_bad_arguments() -> None:
    with pytest.raises(QueryError, match="default_conjunction must be 'AND' or 'OR', got 'XOR'"):
        parse("a b", default_conjunction="XOR")
    with pytest.raises(TypeError, match="query must be str, got int"):
        parse(42)  # type: ignore[arg-type]
    assert parse(b"caf\xc3\xa9") == Term("café")  # type: ignore[arg-type]


_ALPHABET = st.sampled_from(list('ab ()"\u201c\u201d') + ["AND", "OR", " AND ", " OR ", "x"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=25).map("".join))
def test_any_input_parses_or_raises_query_error(text: str) -> None:
    try:
        node = parse(text)
    except QueryError:
        return
    # A parsed query re-parses to the same tree from its rendering.
    assert parse(str(node)) == node


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_text_never_crashes(text: str) -> None:
    try:
        parse(text)
    except QueryError:
        pass
