"""@w.cached view responses against the real server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from flask import Response, request, session

from flask_walrus import cache_key
from walrus.roundtrips import RoundTripCounter


def _app(make_app: Any, **kwargs: Any) -> tuple[Any, Any, list[str]]:
    app, w = make_app(SECRET_KEY="k")
    calls: list[str] = []

    @app.route("/page", methods=["GET", "HEAD", "POST"])
    @w.cached(timeout=30, **kwargs)
    def page() -> Any:
        calls.append(request.method)
        return Response(
            f"page {len(calls)} {sorted(request.args.items())}", status=201, content_type="text/csv"
        )

    return app, w, calls


def test_get_is_cached_with_body_status_and_content_type(make_app: Any, raw_client: Any) -> None:
    app, _, calls = _app(make_app)
    client = app.test_client()
    first = client.get("/page")
    with RoundTripCounter() as rt:
        second = client.get("/page")
    assert rt.count == 1
    assert calls == ["GET"]
    assert (second.status_code, second.data, second.content_type) == (201, first.data, "text/csv")
    assert 0 < raw_client.pttl("flask_walrus:cache:view:/page") <= 30000


def test_query_string_is_part_of_the_key_and_sorted(make_app: Any) -> None:
    app, _, calls = _app(make_app)
    client = app.test_client()
    a = client.get("/page?b=2&a=1")
    assert client.get("/page?a=1&b=2").data == a.data
    assert client.get("/page?a=3").data != a.data
    assert len(calls) == 2


def test_query_string_ignored_when_disabled(make_app: Any) -> None:
    app, _, calls = _app(make_app, query_string=False)
    client = app.test_client()
    client.get("/page?a=1")
    client.get("/page?a=2")
    assert len(calls) == 1


def test_post_is_never_cached_and_head_uses_get_entry(make_app: Any) -> None:
    app, _, calls = _app(make_app)
    client = app.test_client()
    client.post("/page")
    client.post("/page")
    assert calls == ["POST", "POST"]
    client.get("/page")
    head = client.head("/page")
    assert head.status_code == 201 and head.data == b""
    assert calls == ["POST", "POST", "GET"]


def test_unless_and_callable_key_prefix(make_app: Any) -> None:
    app, w = make_app()
    calls: list[int] = []

    @app.get("/u")
    @w.cached(unless=lambda: request.args.get("fresh") == "1", key_prefix=lambda: "custom-key")
    def u() -> str:
        calls.append(1)
        return "u"

    client = app.test_client()
    client.get("/u")
    client.get("/u?other=1")  # same custom key
    client.get("/u?fresh=1")
    assert len(calls) == 2
    with app.app_context():
        assert w.cache.get("custom-key") is not None


def test_uncacheable_responses_are_not_stored(make_app: Any) -> None:
    app, w = make_app(SECRET_KEY="k")
    calls: list[str] = []

    @app.get("/cookie")
    @w.cached()
    def cookie() -> str:
        calls.append("cookie")
        session["seen"] = True
        return "with session"

    @app.get("/missing")
    @w.cached()
    def missing() -> Any:
        calls.append("missing")
        return "nope", 404

    @app.get("/private")
    @w.cached()
    def private() -> Any:
        calls.append("private")
        return "mine", 200, {"Cache-Control": "private"}

    client = app.test_client()
    for path in ("/cookie", "/missing", "/private"):
        client.get(path)
        client.get(path)
    assert calls == ["cookie", "cookie", "missing", "missing", "private", "private"]


def test_async_view_is_cached(make_app: Any) -> None:
    pytest.importorskip("asgiref")
    app, w = make_app()
    calls: list[int] = []

    @app.get("/a")
    @w.cached()
    async def a() -> str:
        await asyncio.sleep(0)
        calls.append(1)
        return "async body"

    client = app.test_client()
    assert client.get("/a").data == b"async body"
    assert client.get("/a").data == b"async body"
    assert len(calls) == 1


def test_cached_and_rate_limited_together(make_app: Any) -> None:
    app, w = make_app()

    @app.get("/both")
    @w.rate_limited("2/minute")
    @w.cached()
    def both() -> str:
        return "both"

    client = app.test_client()
    assert [client.get("/both").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.backends("resp2", reason="an outage on a dead port: no backend takes part")
def test_redis_down_serves_uncached(make_app: Any, free_port_url: str) -> None:
    app, w = make_app(WALRUS_URL=free_port_url)
    calls: list[int] = []

    @app.get("/p")
    @w.cached()
    def p() -> str:
        calls.append(1)
        return "p"

    client = app.test_client()
    assert [client.get("/p").status_code for _ in range(2)] == [200, 200]
    assert len(calls) == 2


def test_cache_key_helper() -> None:
    assert cache_key("view:", "/p") == "view:/p"
    assert cache_key("view:", "/p", {"b": "2", "a": "1"}) == "view:/p?a=1&b=2"
    long_key = cache_key("view:", "/p", {"q": "x" * 500})
    assert long_key.startswith("view:/p?sha256=") and len(long_key) < 100


def test_bad_cached_arguments() -> None:
    from flask_walrus import Walrus

    w = Walrus()
    with pytest.raises(ValueError, match="timeout"):
        w.cached(timeout=-1)
    with pytest.raises(TypeError, match="key_prefix"):
        w.cached(key_prefix=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unless"):
        w.cached(unless=True)  # type: ignore[arg-type]


def test_without_a_signing_key_the_cache_never_unpickles(make_app: Any, raw_client: Any) -> None:
    import pickle

    app, w = make_app()  # no SECRET_KEY, no WALRUS_CACHE_SIGNING_KEY
    cache = w.state(app).cache
    cache.set("k", {"a": [1, 2]})
    assert cache.get("k") == {"a": [1, 2]}
    assert raw_client.get("flask_walrus:cache:k") == b'{"a":[1,2]}'  # JSON, not a pickle

    class Planted:
        def __reduce__(self) -> Any:
            return (pytest.fail, ("a planted pickle was executed",))

    raw_client.set("flask_walrus:cache:evil", pickle.dumps(Planted()))
    assert cache.get("evil") is None  # unreadable: a miss, never unpickled


def test_pickle_without_a_signing_key_is_refused_at_init(make_app: Any, raw_client: Any) -> None:
    with pytest.raises(
        ValueError, match="WALRUS_CACHE_SERIALIZER='pickle' needs signed values: set SECRET_KEY"
    ):
        make_app(WALRUS_CACHE_SERIALIZER="pickle")
    app, w = make_app(WALRUS_CACHE_SERIALIZER="pickle", WALRUS_CACHE_SIGNING_KEY="k2")
    w.state(app).cache.set("obj", {1, 2})
    assert w.state(app).cache.get("obj") == {1, 2}
    assert raw_client.dbsize() == 1


def test_concurrent_misses_render_a_view_once(make_app: Any) -> None:
    import threading
    import time

    app, w = make_app(SECRET_KEY="k")
    renders: list[int] = []

    @app.route("/slow")
    @w.cached(timeout=30, lock_timeout=3)
    def slow() -> str:
        renders.append(1)
        time.sleep(0.3)
        return "rendered once"

    bodies: list[bytes] = []
    gate = threading.Barrier(16)

    def one() -> None:
        client = app.test_client()
        gate.wait()
        bodies.append(client.get("/slow").data)

    threads = [threading.Thread(target=one) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert renders == [1] and bodies == [b"rendered once"] * 16
    with pytest.raises(ValueError, match="lock_timeout"):
        w.cached(lock_timeout=-1)


def test_cache_compressor_from_config(make_app: Any, raw_client: Any) -> None:
    app, w = make_app(
        SECRET_KEY="k", WALRUS_CACHE_COMPRESSOR="zstd", WALRUS_CACHE_COMPRESS_MIN_LENGTH=64
    )
    cache = w.state(app).cache
    cache.set("big", "walrus " * 500)
    stored = raw_client.get("flask_walrus:cache:big")
    assert len(stored) < 200 and cache.get("big") == "walrus " * 500
    for bad, match in [
        ({"WALRUS_CACHE_COMPRESSOR": "brotli"}, "WALRUS_CACHE_COMPRESSOR: unknown compressor"),
        (
            {"WALRUS_CACHE_COMPRESSOR": "lz4", "WALRUS_CACHE_COMPRESS_LEVEL": 99},
            "WALRUS_CACHE_COMPRESS_LEVEL",
        ),
        ({"WALRUS_CACHE_COMPRESSOR": "zlib", "WALRUS_CACHE_COMPRESS_MIN_LENGTH": -5}, "MIN_LENGTH"),
    ]:
        with pytest.raises(ValueError, match=match):
            make_app(SECRET_KEY="k", **bad)
