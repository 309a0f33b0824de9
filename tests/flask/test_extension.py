"""Walrus(app) / init_app, per-app state, db, cache, lock, config validation."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from flask_walrus import Walrus, WalrusState
from walrus import Database
from walrus.cache import Cache
from walrus.lock import Lock


def test_constructor_with_app(walrus_url: str, connection_options: dict[str, Any]) -> None:
    app = Flask("direct")
    app.config.update(WALRUS_URL=walrus_url, WALRUS_CONNECTION_OPTIONS=connection_options)
    w = Walrus(app)
    state = app.extensions["walrus"]
    assert isinstance(state, WalrusState) and state.extension is w
    assert not hasattr(w, "app")
    with app.app_context():
        assert isinstance(w.db, Database) and w.db is w.database is state.database
        assert w.db.ping()


def test_application_factory_and_two_apps_share_one_extension(
    redis_url: str, memory_url: str
) -> None:
    w = Walrus()

    def create_app(url: str, prefix: str) -> Flask:
        app = Flask(prefix)
        app.config.update(WALRUS_URL=url, WALRUS_KEY_PREFIX=prefix)
        w.init_app(app)
        return app

    one, two = create_app(redis_url, "one"), create_app(memory_url, "two")
    with one.app_context():
        w.db.set("k", "from one")
        w.cache.set("c", 1)
        assert w.cache.name == "one:cache"
    with two.app_context():
        assert w.db.get("k") is None
        assert w.db.is_embedded
        w.db.set("k", "from two")
        assert w.cache.get("c") is None
    with one.app_context():
        assert w.db.get("k") == b"from one"
        assert w.cache.get("c") == 1
    assert one.extensions["walrus"].database is not two.extensions["walrus"].database


def test_outside_app_context_and_uninitialised_app(walrus_url: str) -> None:
    w = Walrus()
    with pytest.raises(RuntimeError, match="application context"):
        _ = w.db
    app = Flask("bare")
    with app.app_context(), pytest.raises(RuntimeError, match="not initialised on app 'bare'"):
        _ = w.db
    other = Walrus()
    app.config["WALRUS_URL"] = walrus_url
    other.init_app(app)
    with app.app_context(), pytest.raises(RuntimeError, match="init_app"):
        _ = w.cache  # the app belongs to another Walrus object


def test_memory_url_works_end_to_end(memory_url: str) -> None:
    app = Flask("mem")
    app.config.update(WALRUS_URL=memory_url, WALRUS_RATELIMIT_DEFAULT="2/minute")
    w = Walrus(app)

    @app.get("/")
    def index() -> str:
        return str(w.db.incr("hits"))

    client = app.test_client()
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]
    with app.app_context():
        assert w.db.get("hits") == b"2"
        assert w.db.is_embedded


def test_cache_property(make_app: Any, raw_client: Any) -> None:
    app, w = make_app(WALRUS_CACHE_DEFAULT_TIMEOUT=30, SECRET_KEY="s3cret")
    with app.app_context():
        cache = w.cache
        assert isinstance(cache, Cache)
        cache.set("answer", {"n": 42})
        assert cache.get("answer") == {"n": 42}
        assert cache.get_many(["answer", "nope"]) == {"answer": {"n": 42}}
    assert 0 < raw_client.pttl("flask_walrus:cache:answer") <= 30000
    raw_client.set("flask_walrus:cache:forged", b"\x80\x04K\x01.")  # unsigned pickle: a miss
    with app.app_context():
        assert w.cache.get("forged", "miss") == "miss"


def test_lock_is_a_context_manager(make_app: Any, raw_client: Any) -> None:
    app, w = make_app()
    with app.app_context():
        lock = w.lock("job", ttl=5000)
        assert isinstance(lock, Lock)
        with lock:
            assert raw_client.exists("lock:job") == 1
            assert not w.lock("job").acquire(block=False)
        assert raw_client.exists("lock:job") == 0
        assert w.lock("job").acquire(block=False)


def test_lock_in_a_view(make_app: Any) -> None:
    app, w = make_app()

    @app.post("/job")
    def job() -> Any:
        with w.lock("report", ttl=2000):
            return {"ran": True}

    assert app.test_client().post("/job").json == {"ran": True}


@pytest.mark.redis_only(reason="socket timeouts: memory:// ignores them")
def test_socket_timeouts_default_short(make_app: Any) -> None:
    app, _ = make_app()
    kwargs = app.extensions["walrus"].database.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 0.5 and kwargs["socket_connect_timeout"] == 0.5
    app2, _ = make_app(
        WALRUS_SOCKET_TIMEOUT=2,
        WALRUS_SOCKET_CONNECT_TIMEOUT=1,
        WALRUS_CONNECTION_OPTIONS={"client_name": "x"},
    )
    kwargs = app2.extensions["walrus"].database.connection_pool.connection_kwargs
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"], kwargs["client_name"]) == (
        2.0,
        1.0,
        "x",
    )


@pytest.mark.parametrize(
    ("config", "error", "message"),
    [
        (
            {"WALRUS_RATELIMIT_ON_ERROR": "ignore"},
            ValueError,
            "WALRUS_RATELIMIT_ON_ERROR must be one of 'allow', 'deny'",
        ),
        (
            {"WALRUS_RATELIMIT_DEFAULT": "100/fortnight"},
            ValueError,
            "WALRUS_RATELIMIT_DEFAULT: cannot read rate",
        ),
        (
            {"WALRUS_RATELIMIT_DEFAULT": 100},
            TypeError,
            "WALRUS_RATELIMIT_DEFAULT must be a rate string",
        ),
        (
            {"WALRUS_RATELIMIT_HEADERS": "rfc"},
            ValueError,
            "WALRUS_RATELIMIT_HEADERS must be one of",
        ),
        ({"WALRUS_RATELIMIT_TRUSTED_PROXIES": -1}, ValueError, "WALRUS_RATELIMIT_TRUSTED_PROXIES"),
        ({"WALRUS_RATELIMIT_TRUSTED_PROXIES": "1"}, ValueError, "WALRUS_RATELIMIT_TRUSTED_PROXIES"),
        ({"WALRUS_URL": "http://localhost"}, ValueError, "WALRUS_URL must be"),
        ({"WALRUS_SOCKET_TIMEOUT": "fast"}, ValueError, "WALRUS_SOCKET_TIMEOUT"),
        ({"WALRUS_KEY_PREFIX": ""}, ValueError, "WALRUS_KEY_PREFIX"),
        ({"WALRUS_PREFIXES": "app:"}, ValueError, "WALRUS_PREFIXES"),
        (
            {"WALRUS_RATELIMIT_HEADER_LIMIT": "Bad Name"},
            ValueError,
            "WALRUS_RATELIMIT_HEADER_LIMIT",
        ),
        ({"WALRUS_CONNECTION_OPTIONS": ["x"]}, TypeError, "WALRUS_CONNECTION_OPTIONS"),
        ({"WALRUS_RATELIMIT_ENABLED": "yes"}, TypeError, "WALRUS_RATELIMIT_ENABLED"),
        (
            {"WALRUS_RATELIMT_DEFAULT": "1/minute"},
            ValueError,
            "unknown flask_walrus config key.*WALRUS_RATELIMT_DEFAULT",
        ),
    ],
)
def test_bad_config_fails_at_init_app(
    redis_url: str, config: dict[str, Any], error: type, message: str
) -> None:
    app = Flask("bad")
    app.config["WALRUS_URL"] = redis_url
    app.config.update(config)
    with pytest.raises(error, match=message):
        Walrus(app)
    assert "walrus" not in app.extensions
    assert app.before_request_funcs == {}


def test_walrus_constructor_validates_callables() -> None:
    with pytest.raises(TypeError, match="key_func"):
        Walrus(key_func="ip")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="default_exempt_when"):
        Walrus(default_exempt_when=True)  # type: ignore[arg-type]
