"""A known rate-limit bug (strict xfail: it turns into a failure the day it is fixed; then make
it a regression test). Kept apart from test_known_bugs.py because the rate limiter is being
rebuilt in its own change."""

from __future__ import annotations

import pytest
from bad_input.harness import RawError, outcome

from walrus import Database

pytestmark = pytest.mark.backends("resp2")


@pytest.mark.xfail(strict=True, raises=RawError, reason="bug: rate_limit.lua passes PEXPIRE "
                   "ceil(per * 1000) as Lua prints it ('1e+14'), so a window of 1e11 s or more on a "
                   "key with history is a raw ResponseError 'value is not an integer' (reported)")
def test_rate_limit_with_a_very_long_window(db: Database) -> None:
    outcome(db, lambda: db.rate_limit("rl", 2, 1e14).limit("k"))
