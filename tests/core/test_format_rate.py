"""walrus.rate_limit.format_rate: the shortest rate text parse_rate reads back (front ends put
it in key names)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from walrus.rate_limit import MAX_WINDOW, format_rate, parse_rate


@pytest.mark.parametrize(
    ("limit", "per", "text"),
    [(20000, 86400, "20000/1d"), (5, 60, "5/1m"), (100, 7200, "100/2h"), (3, 90, "3/90s"),
     (10, 0.5, "10/0.5s"), (1, 1, "1/1s"), (7, 30, "7/30s"), (2, 172800, "2/2d")],
)  # fmt: skip
def test_shortest_forms(limit: int, per: float, text: str) -> None:
    assert format_rate(limit, per) == text
    assert parse_rate(text) == (limit, per)


@given(
    st.integers(min_value=1, max_value=10**12),
    st.floats(min_value=0.001, max_value=MAX_WINDOW, allow_nan=False, allow_infinity=False),
)
def test_parse_rate_reads_every_form_back(limit: int, per: float) -> None:
    assert parse_rate(format_rate(limit, per)) == (limit, per)
