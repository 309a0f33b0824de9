"""Bad input the suite found: each fixed case is a regression test; each case not fixed yet
(in a file another engineer is changing, or a policy to decide) is a strict xfail, so the
bug stays visible and the xfail turns into a failure the day it is fixed.

"Refused before anything is sent" is tested on a Database whose port nothing listens on:
a call that reaches the network raises ConnectionError instead of the clear error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.bad_input.harness import outcome
from tests.support.redis_server import free_port
from walrus import Database
from walrus.containers.errors import ContainerValueError

pytestmark = pytest.mark.backends("resp2")


@pytest.fixture
def offline() -> Iterator[Database]:
    database = Database(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    yield database
    database.close()


# -- containers: fixed (regression tests) -------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda db: db.Hash("h")["\ud800"],
        lambda db: "\ud800" in db.Hash("h"),
        lambda db: db.Hash("h").__delitem__("\ud800"),
        lambda db: "\ud800" in db.ZSet("z"),
        lambda db: db.ZSet("\ud800").add({"m": 1}),
        lambda db: db.ZSet("z").add({"m": b"\x80"}),
        lambda db: db.ZSet("z").count(b"\x80"),
        lambda db: db.ZSet("z").range_by_score(b"\x80", 1),
        lambda db: db.ZSet("z").remove_by_score(0, b"\x80"),
        lambda db: db.Stream("st").trim(count=2**63),
        lambda db: db.Set("s").random(2**63),
    ],
    ids=[
        "hash-get-surrogate",
        "hash-contains-surrogate",
        "hash-del-surrogate",
        "zset-contains-surrogate",
        "zset-key-surrogate",
        "zset-score-non-utf8",
        "zset-count-non-utf8",
        "zset-range-non-utf8",
        "zset-remove-non-utf8",
        "stream-trim-2**63",
        "set-random-2**63",
    ],
)
def test_container_refusals_are_clear_and_change_nothing(db: Database, call: Any) -> None:
    db.Hash("h")["f"] = "v"
    db.ZSet("z").add({"a": 1})
    db.Stream("st").add({"k": "v"})
    db.Set("s").add("a")
    result = outcome(db, lambda: call(db))
    assert isinstance(result.error, ContainerValueError), result


def test_huge_indexes_lie_past_the_ends(db: Database) -> None:
    db.List("l").extend(["a", "b"])
    db.ZSet("z").add({"a": 1, "b": 2})
    db.bit_field("bits").set_bit(0, 1)
    assert db.List("l")[2**63] is db.List("l")[5] is None  # LINDEX past the end, as upstream
    assert db.List("l")[-(2**70) : 2**70] == [b"a", b"b"]
    assert db.ZSet("z").remove_by_rank(2**63) == 0
    assert db.ZSet("z").popmax_compat(2**63 + 1) == [(b"b", 2.0), (b"a", 1.0)]
    assert db.bit_field("bits").bit_count(None, 2**63) == 1
    assert db.Hash("h")[[]] == []


def test_expiry_out_of_range_is_a_clear_error(db: Database) -> None:
    db.Hash("h")["f"] = "v"
    for call in (lambda: db.Hash("h").expire(2**62), lambda: db.Hash("h").pexpire(2**63 - 2)):
        result = outcome(db, call)
        assert isinstance(result.error, ContainerValueError) and "ttl" in str(result.error)


def test_set_random_refuses_a_count_no_set_can_answer(offline: Database) -> None:
    # Was: SRANDMEMBER sent with any negative n, and the server built |n| draws in one reply
    # (n=-2**40: a hang and unbounded memory). At most MAX_DRAWS draws, checked before sending.
    from walrus.containers.set import MAX_DRAWS

    for n in (-(2**40), -MAX_DRAWS - 1):
        with pytest.raises(ContainerValueError, match="n must be"):
            offline.Set("s").random(n)


def test_set_random_draws_up_to_the_limit(db: Database) -> None:
    from walrus.containers.set import MAX_DRAWS

    db.Set("s").add("a")
    assert db.Set("s").random(-MAX_DRAWS) == [b"a"] * MAX_DRAWS
    assert db.Set("s").random(2**63 - 1) == [b"a"]


# -- cache and rate limits --------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda db: db.cache("c", serializer="json").get(b"\x80"),
        lambda db: db.cache("c", serializer="json").set(b"\x80", 1),
        lambda db: db.cache("c", serializer="json").set("k", 1, float("nan")),
        lambda db: db.cache("c", serializer="json").set("k", 1, float("inf")),
        lambda db: db.cache("c", serializer="json").set("k", 1, 1e16),
        lambda db: db.cache("c", serializer="json").set("k", b"bytes"),
        lambda db: db.cache("c", serializer="json").get_many(None),
        lambda db: db.cache("c", serializer="json").delete_many(None),
        lambda db: db.rate_limit("rl", 2, 60).limit(b"\x80"),
        lambda db: db.rate_limit("rl", 2, 60).reset(b"\x80"),
        lambda db: db.cache("c", serializer="json").set("\ud800", 1),
        lambda db: db.rate_limit("rl", 2, 60).remaining("a\ud800"),
    ],
    ids=[
        "cache-get-non-utf8-key",
        "cache-set-non-utf8-key",
        "cache-timeout-nan",
        "cache-timeout-inf",
        "cache-timeout-1e16",
        "cache-json-bytes-value",
        "cache-get-many-none",
        "cache-delete-many-none",
        "rate-limit-non-utf8-key",
        "rate-reset-non-utf8-key",
        "cache-surrogate-key",
        "rate-surrogate-key",
    ],
)
def test_cache_and_rate_limit_refusals_are_clear(db: Database, call: Any) -> None:
    db.cache("c", serializer="json").set("k", {"v": 1})
    db.rate_limit("rl", 2, 60).limit("k")
    result = outcome(db, lambda: call(db))
    assert isinstance(result.error, (TypeError, ValueError)) and not isinstance(
        result.error, UnicodeError
    )


def test_refused_get_or_set_leaves_nothing(db: Database) -> None:
    # Found here (the fill lock left its wake-up list behind); fixed since: the stampede lock
    # pushes no wake-up token.
    cache = db.cache("c", serializer="json")
    result = outcome(db, lambda: cache.get_or_set("k", lambda: object()))
    assert isinstance(result.error, TypeError) and "'c'" in str(result.error)


@pytest.mark.parametrize(
    "argument", [{"": 1, 0: 2}, "\ud800"], ids=["mixed-dict-keys", "surrogate"]
)
def test_cached_with_arguments_call_key_cannot_encode(db: Database, argument: Any) -> None:
    cached = db.cache("c", serializer="json").cached()(lambda arg: "r")
    outcome(db, lambda: cached(argument))


# -- full-text index ------------------------------------------------------------------------


def test_query_strings_that_are_not_utf8_are_query_errors(db: Database) -> None:
    from walrus.search.errors import QueryError

    db.Index("docs").add("d1", "quick fox")
    for call in (
        lambda: db.Index("docs").search(b"\x80"),
        lambda: db.Index("docs").search(b"\x80", lenient=True),
    ):
        result = outcome(db, call)
        assert isinstance(result.error, QueryError) and "UTF-8" in str(result.error)


@pytest.mark.parametrize(
    "call",
    [
        lambda db: db.Index("docs").add(b"\x80", "text"),
        lambda db: db.Index("docs").add("d2", b"\x80"),
        lambda db: db.Index("docs").remove(b"\x80"),
        lambda db: db.Index(b"\x80").search("fox"),
        lambda db: db.Index("\ud800").search("fox"),
    ],
    ids=["add-key", "add-content", "remove-key", "index-name-bytes", "index-name-surrogate"],
)
def test_index_refuses_text_that_is_not_utf8(db: Database, call: Any) -> None:
    # Was: a raw UnicodeError (fts.py decoded and encoded ids, contents and names unchecked).
    db.Index("docs").add("d1", "quick fox")
    result = outcome(db, lambda: call(db))
    assert isinstance(result.error, ValueError) and "UTF-8" in str(result.error), result


# -- Django settings and Flask config ------------------------------------------------------------


def test_django_checks_report_an_unsplittable_url(settings: Any) -> None:
    from django_walrus.checks import check_caches, check_settings

    settings.WALRUS = {"default": {"URL": "redis://[::1"}}
    settings.CACHES = {
        "default": {"BACKEND": "django_walrus.cache.WalrusCache", "LOCATION": "redis://[::1"}
    }
    assert check_settings() and check_caches()


def test_django_get_database_with_a_non_str_alias(settings: Any) -> None:
    from django_walrus import get_database

    settings.WALRUS = {False: "memory://bad-input"}
    outcome(None, get_database)


def _flask_init(**config: Any) -> Any:
    import os

    from flask import Flask

    from flask_walrus import Walrus

    app = Flask("walrus_bad_input", root_path=os.path.dirname(__file__))
    app.config.update({"TESTING": True, "WALRUS_URL": "memory://bad-input-flask", **config})
    return Walrus().init_app(app)


@pytest.mark.parametrize(
    "config",
    [
        {"WALRUS_CACHE_SERIALIZER": "nope"},
        {"WALRUS_CACHE_SERIALIZER": object()},
        {"WALRUS_CACHE_SERIALIZER": "PICKLE"},  # any case of "pickle" needs a signing key
        {"SECRET_KEY": 1},
        {"SECRET_KEY": "\ud800"},
        {"WALRUS_CACHE_SIGNING_KEY": b"", "SECRET_KEY": 1},
        {"WALRUS_URL": "redis://127.0.0.1:99999/0"},
        {"WALRUS_URL": "redis://127.0.0.1:1/0?socket_timeout=abc"},
        {"WALRUS_PREFIXES": 1},
        {"WALRUS_CACHE_DEFAULT_TIMEOUT": 1e16},
    ],
    ids=[
        "serializer",
        "serializer-object",
        "serializer-pickle-unsigned",
        "secret-key",
        "secret-key-surrogate",
        "empty-signing-key",
        "url-port",
        "url-query",
        "prefixes",
        "cache-timeout",
    ],
)
def test_flask_init_app_refusals_name_the_key(config: dict[str, Any]) -> None:
    result = outcome(None, lambda: _flask_init(**config))
    assert result.refused and any(key in str(result.error) for key in config), result
