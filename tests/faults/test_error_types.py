"""Server errors keep their type through every helper and integration (#25, "Error mapping").

Three real servers, started once for the module, each refusing writes its own way:

- ``full``: ``noeviction`` and a ``maxmemory`` 256 KB below what it uses once seeded, so
  that even a one-byte SET is refused (``OutOfMemoryError``);
- ``replica``: a read-only replica of a seeded primary (``ReadOnlyError``);
- ``no_replicas``: a primary with ``min-replicas-to-write 1`` and no replica (``NOREPLICAS``,
  which redis-py leaves a plain ``ResponseError``).

Every write of the containers, Cache, Counter, Lock, Autocomplete, full-text Index, Graph,
models, the Django cache and the Flask extension must raise exactly the server's error type
(never a TypeError, a ValueError, a library error or a silent ``False``) and leave the data
byte-for-byte as it was. Deleting commands are not refused under OOM (DEL frees memory), so
they are checked on the other two. Flask's view cache serves the page and logs the error by
its type; the metrics tally keeps refused counts and never sends an added one twice. After
``SCRIPT FLUSH`` (``NoScriptError`` on the next EVALSHA) every script-backed helper still
answers: NOSCRIPT is handled, never surfaced.

The rate limiters, limpyd and Celery are other modules' business (tests/faults/ has theirs).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from redis.exceptions import OutOfMemoryError, ReadOnlyError, ResponseError

from tests.bad_input.harness import snapshot
from tests.support.redis_server import RedisServer, start_redis_server, start_replica
from walrus import Database, FloatField, IntegerField, ManyToManyField, Model, TextField


class FaultTag(Model):
    __namespace__ = "errtypes"
    label = TextField(index=True)


class Row(Model):
    __namespace__ = "errtypes"
    name = TextField(index=True)
    note = TextField(fts=True)
    score = IntegerField(index=True)
    weight = FloatField(default=1.0)
    tags = ManyToManyField(FaultTag)


@dataclass
class Apps:
    """What one server's helpers are reached through."""

    url: str
    db: Database
    raw: redis.Redis
    django: Any
    flask: Any


# The error each refusing server answers a write with (its fixture's name).
EXPECTED = {"full": OutOfMemoryError, "replica": ReadOnlyError, "no_replicas": ResponseError}


# -- seeded data (the same on every server) -------------------------------------------------


def _seed(db: Database) -> None:
    """Something for every helper to change (an update may be refused where a create is)."""
    db.Hash("h").update({"f": "v", "n": "1"})
    db.List("l").extend(["a", "b"])
    db.Set("s").add("a")
    db.ZSet("z").add({"a": 1})
    db.Array("arr").extend(["a", "b"])
    db.Stream("st").add({"k": "v"}, id="1-1")
    db.HyperLogLog("hll").add("a")
    db.bit_field("bits").set_bit(0, 1)
    db.bloom_filter("bloom", 1024).add("a")
    cache = db.cache("c", serializer="json")
    cache.set("k", {"v": 1}, 600)
    cache.set("plain", 1, None)
    cache.incr("count", 1, 600)
    cache.incr("forever", 1)
    db.counter("hits").incr(3)
    db.lock("held", ttl=600_000, lock_id="me").acquire()
    db.autocomplete().store("walrus house", data="wh")
    db.Index("docs").add("d1", "quick brown fox", title="one")
    db.graph("g").store("ann", "knows", "bob")
    Row.__database__ = FaultTag.__database__ = db
    Row.create(name="ann", note="quick fox", score=3).tags.add(FaultTag.create(label="one"))
    FaultTag.create(label="two")
    db.delete("errtypes|row:name.absolute.ann")  # an index entry for rebuild_indexes to restore


def _django_cache(url: str) -> Any:
    """A Django cache on ``url`` holding ``k`` and ``n`` (not written again when present)."""
    from django_walrus.cache import WalrusCache

    cache = WalrusCache(url, {"KEY_PREFIX": "dj", "OPTIONS": {"SERIALIZER": "json"}})
    if not cache.has_key("k"):
        cache.set("k", {"v": 1}, 600)
        cache.set("n", 1, 600)
    return cache


def _flask(url: str, name: str = "error_types") -> Any:
    """An app on ``url`` with a cached view (``/page``, stampede lock) and one without the
    lock (``/uncached-page``); its cache holds ``k`` (not written again when it exists)."""
    from flask import Flask

    from flask_walrus import Walrus

    app = Flask(name)
    app.config.update(TESTING=True, WALRUS_URL=url, WALRUS_RATELIMIT_ENABLED=False)
    ext = Walrus(app)

    @app.get("/page")
    @ext.cached(timeout=600)
    def page() -> str:
        return "page"

    @app.get("/uncached-page")
    @ext.cached(timeout=600, lock_timeout=None)
    def uncached_page() -> str:
        return "page"

    with app.app_context():
        if ext.cache.get("k") is None:
            ext.cache.set("k", {"v": 1}, 600)
    return app, ext


@pytest.fixture(scope="module")
def full() -> Iterator[Apps]:
    """Seeded, then its limit set 256 KB below what it uses: over ``maxmemory`` with
    ``noeviction``, as a server filled to its limit is, with room for the few KB that idle
    client buffers give back (a server filled just to its limit takes writes again then)."""
    server = start_redis_server("--maxmemory", "2mb", "--maxmemory-policy", "noeviction")
    try:
        url = server.url(0)
        db = Database.from_url(url)
        _seed(db)
        apps = Apps(url, db, server.client(), _django_cache(url), _flask(url))
        used = int(apps.raw.info("memory")["used_memory"])
        apps.raw.config_set("maxmemory", used - 256 * 1024)
        with pytest.raises(OutOfMemoryError):
            db.set("one-byte", "x")
        yield apps
    finally:
        server.stop()


@pytest.fixture(scope="module")
def replica() -> Iterator[Apps]:
    primary = start_redis_server("--repl-diskless-sync-delay", "0")  # a replica syncs at once
    servers: list[RedisServer] = [primary]
    try:
        seeded = Database.from_url(primary.url(0))
        _seed(seeded)
        _django_cache(primary.url(0))
        _flask(primary.url(0))
        follower = start_replica(primary)  # its first sync copies every seeded key
        servers.append(follower)
        raw = follower.client()
        assert raw.dbsize() == seeded.dbsize()
        url = follower.url(0)
        # The seeded objects, bound to the replica (nothing is written: their keys exist).
        yield Apps(url, Database.from_url(url), raw, _django_cache(url), _flask(url))
    finally:
        for server in reversed(servers):
            server.stop()


@pytest.fixture(scope="module")
def no_replicas() -> Iterator[Apps]:
    """A primary told to refuse writes while fewer than one replica is connected: every
    write gets ``NOREPLICAS``, which redis-py leaves a plain ``ResponseError``."""
    server = start_redis_server()
    try:
        url = server.url(0)
        db = Database.from_url(url)
        _seed(db)
        apps = Apps(url, db, server.client(), _django_cache(url), _flask(url))
        apps.raw.config_set("min-replicas-to-write", 1)
        yield apps
    finally:
        server.stop()


# -- the writes ------------------------------------------------------------------------------

Call = Callable[[Apps], Any]


def _models_on(db: Database) -> None:
    Row.__database__ = FaultTag.__database__ = db


def _model_save(apps: Apps) -> None:
    _models_on(apps.db)
    row = Row.load(1)
    row.name = "renamed"
    row.save()


def _model_create(apps: Apps) -> None:
    _models_on(apps.db)
    Row.create(name="bob", note="slow dog", score=4)


def _model_incr(apps: Apps) -> None:
    _models_on(apps.db)
    Row.load(1).incr("score", 2)


def _model_delete(apps: Apps) -> None:
    _models_on(apps.db)
    Row.load(1).delete()


def _flask_cache_set(apps: Apps) -> None:
    app, ext = apps.flask
    with app.app_context():
        ext.cache.set("k2", {"v": 2}, 600)


def _flask_lock(apps: Apps) -> None:
    app, ext = apps.flask
    with app.app_context():
        ext.lock("flask-job", ttl=600_000).acquire(block=False)


# Writes that add data: refused by a full server and by a replica.
ADDING: dict[str, Call] = {
    "Hash[k] = v": lambda a: a.db.Hash("h").__setitem__("new", "v"),
    "Hash.update": lambda a: a.db.Hash("h").update({"x": "y"}),
    "Hash.incr": lambda a: a.db.Hash("h").incr("n", 1),
    "Hash.incr float": lambda a: a.db.Hash("h").incr("n", 1.5),
    "List.append": lambda a: a.db.List("l").append("c"),
    "List.insert": lambda a: a.db.List("l").insert("c", "a", "before"),
    "List[0] = v": lambda a: a.db.List("l").__setitem__(0, "a-much-longer-value" * 10),
    "Set.add": lambda a: a.db.Set("s").add("b"),
    "ZSet.add": lambda a: a.db.ZSet("z").add({"b": 2}),
    "ZSet.incr": lambda a: a.db.ZSet("z").incr("new", 1),
    "Array.append": lambda a: a.db.Array("arr").append("c"),
    "Array[0] = v": lambda a: a.db.Array("arr").__setitem__(0, "a-much-longer-value" * 10),
    "Stream.add": lambda a: a.db.Stream("st").add({"k": "v2"}),
    "HyperLogLog.add": lambda a: a.db.HyperLogLog("hll").add(*[f"m{i}" for i in range(50)]),
    "BitField.set_bit": lambda a: a.db.bit_field("bits").set_bit(100_000, 1),
    "BloomFilter.add": lambda a: a.db.bloom_filter("bloom", 1024).add("b"),
    "Set |= (SUNIONSTORE)": lambda a: a.db.Set("s").__ior__(a.db.Set("other")),
    "ZSet[m] = score": lambda a: a.db.ZSet("z").__setitem__("c", 3),
    "ConsumerGroup.create": lambda a: a.db.consumer_group("grp", ["st"]).create(),
    "cas": lambda a: a.db.cas("c:plain", "1", "2"),
    "Cache.set": lambda a: a.db.cache("c", serializer="json").set("k2", {"v": 2}, 600),
    "Cache.set_many": lambda a: a.db.cache("c", serializer="json").set_many({"x": 1, "y": 2}, 600),
    "Cache.incr (INCRBY)": lambda a: a.db.cache("c", serializer="json").incr("forever", 1),
    "Cache.incr (script)": lambda a: a.db.cache("c", serializer="json").incr("count", 1, 600),
    "Cache.get_or_set": lambda a: a.db.cache("c", serializer="json").get_or_set(
        "new", lambda: 1, 600
    ),
    "Cache.cached": lambda a: a.db.cache("c", serializer="json").cached(timeout=600)(_answer)(1),
    "Counter.incr": lambda a: a.db.counter("hits").incr(),
    "Counter.incr new": lambda a: a.db.counter("new-counter").incr(),
    "Lock.acquire": lambda a: a.db.lock("job", ttl=600_000).acquire(block=False),
    "Lock.acquire (waits)": lambda a: a.db.lock("held", ttl=600_000).acquire(timeout=0.05),
    "Autocomplete.store": lambda a: a.db.autocomplete().store("another title", data="x"),
    "Autocomplete.boost_object": lambda a: a.db.autocomplete().boost_object(
        "walrus house", multiplier=2
    ),
    "Index.add": lambda a: a.db.Index("docs").add("d2", "lazy dog"),
    "Index.update": lambda a: a.db.Index("docs").update("d1", "slow fox"),
    "Graph.store": lambda a: a.db.graph("g").store("bob", "knows", "cid"),
    "Graph.store_many (MULTI)": lambda a: a.db.graph("g").store_many(
        [(f"s{i}", "p", "o") for i in range(1100)]
    ),
    "Model.create": _model_create,
    "Model.save": _model_save,
    "Model.incr": _model_incr,
    "Model m2m add": lambda a: (_models_on(a.db), Row.load(1).tags.add(2)),
    "Model.rebuild_indexes": lambda a: (_models_on(a.db), Row.rebuild_indexes()),
    "django set": lambda a: a.django.set("k2", {"v": 2}, 600),
    "django add": lambda a: a.django.add("k3", 1, 600),
    "django set_many": lambda a: a.django.set_many({"x": 1, "y": 2}, 600),
    "django incr": lambda a: a.django.incr("n", 1),
    "django decr": lambda a: a.django.decr("n", 1),
    "django get_or_set": lambda a: a.django.get_or_set("new", 1, 600),
    "django hset": lambda a: a.django.hset("hash", "f", 1),
    "flask cache.set": _flask_cache_set,
    "flask lock": _flask_lock,
}

# Writes that only remove or re-time data: a full server takes them (they free memory),
# a replica refuses them.
REMOVING: dict[str, Call] = {
    "del Hash[k]": lambda a: a.db.Hash("h").__delitem__("f"),
    "Set.remove": lambda a: a.db.Set("s").remove("a"),
    "List.pop": lambda a: a.db.List("l").pop(),
    "Array.pop": lambda a: a.db.Array("arr").pop(),
    "Container.expire": lambda a: a.db.Hash("h").expire(600),
    "Cache.delete": lambda a: a.db.cache("c", serializer="json").delete("k"),
    "Cache.delete_many": lambda a: a.db.cache("c", serializer="json").delete_many(["k", "plain"]),
    "Cache.flush": lambda a: a.db.cache("c", serializer="json").flush(),
    "Counter.reset": lambda a: a.db.counter("hits").reset(),
    "Lock.extend": lambda a: a.db.lock("held", ttl=600_000, lock_id="me").extend(1000),
    "Lock.release": lambda a: a.db.lock("held", ttl=600_000, lock_id="me").release(),
    "Lock.clear": lambda a: a.db.lock("held", ttl=600_000).clear(),
    "Autocomplete.remove": lambda a: a.db.autocomplete().remove("walrus house"),
    "Index.remove": lambda a: a.db.Index("docs").remove("d1"),
    "Graph.delete": lambda a: a.db.graph("g").delete("ann", "knows", "bob"),
    "Model.delete": _model_delete,
    "Model m2m remove": lambda a: (_models_on(a.db), Row.load(1).tags.remove(1)),
    "Model m2m clear": lambda a: (_models_on(a.db), Row.load(1).tags.clear()),
    "django delete": lambda a: a.django.delete("k"),
    "django delete_many": lambda a: a.django.delete_many(["k", "n"]),
    "django delete_pattern": lambda a: a.django.delete_pattern("*"),
    "django clear": lambda a: a.django.clear(),
    "django touch": lambda a: a.django.touch("k", 60),
    "django persist": lambda a: a.django.persist("k"),
}


# -- metrics tally: refused counts are kept, added ones are never sent twice -------------------


def _tally_with(counts: dict[tuple[str, str, str], int]) -> Any:
    from walrus.events import Tally

    tally = Tally()
    tally._unflushed = dict(counts)
    return tally


@pytest.mark.parametrize("which", sorted(EXPECTED))
def test_a_refused_tally_flush_keeps_its_counts(request: pytest.FixtureRequest, which: str) -> None:
    apps: Apps = request.getfixturevalue(which)
    before = snapshot(apps.raw)
    tally = _tally_with({("cache", "c", "hit"): 2})
    assert tally.flush(apps.db) is False
    assert tally._unflushed == {("cache", "c", "hit"): 2} and snapshot(apps.raw) == before


def test_a_partly_refused_tally_flush_sends_each_count_once(redis_url: str) -> None:
    from walrus.events import TOTALS_KEY, read_totals

    db = Database.from_url(redis_url)
    db.hset(TOTALS_KEY, "cache\x1fbroken\x1fhit", "not a number")
    tally = _tally_with({("cache", "c", "hit"): 2, ("cache", "broken", "hit"): 1})
    assert tally.flush(db) is False  # the server refused one HINCRBY of the pipeline
    assert tally._unflushed == {("cache", "broken", "hit"): 1}
    db.hdel(TOTALS_KEY, "cache\x1fbroken\x1fhit")
    assert tally.flush(db) is True
    assert read_totals(db) == {("cache", "c", "hit"): 2, ("cache", "broken", "hit"): 1}


def _answer(x: int) -> int:
    return x + 1


def _refused(apps: Apps, call: Call, expected: type[Exception]) -> None:
    before = snapshot(apps.raw)
    with pytest.raises(redis.RedisError) as caught:
        call(apps)
    assert type(caught.value) is expected, (
        f"{type(caught.value).__module__}.{type(caught.value).__name__}: {caught.value}"
    )
    assert snapshot(apps.raw) == before, "something was written"


@pytest.mark.parametrize("name", sorted(ADDING))
def test_a_full_server_refuses_with_out_of_memory(full: Apps, name: str) -> None:
    _refused(full, ADDING[name], OutOfMemoryError)


@pytest.mark.parametrize("name", sorted({**ADDING, **REMOVING}))
def test_a_replica_refuses_with_read_only(replica: Apps, name: str) -> None:
    _refused(replica, {**ADDING, **REMOVING}[name], ReadOnlyError)


@pytest.mark.parametrize("name", sorted({**ADDING, **REMOVING}))
def test_a_plain_response_error_stays_one(no_replicas: Apps, name: str) -> None:
    _refused(no_replicas, {**ADDING, **REMOVING}[name], ResponseError)


# -- Flask view caching: a cache that cannot store serves the page, and says why ---------------


@pytest.mark.parametrize("path", ["/page", "/uncached-page"])
@pytest.mark.parametrize("which", sorted(EXPECTED))
def test_flask_cached_views_serve_the_page_and_log_the_server_error(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture, which: str, path: str
) -> None:
    apps: Apps = request.getfixturevalue(which)
    expected = EXPECTED[which]
    app, _ = _flask(apps.url, f"views_{which}")  # a fresh app: its error log is not muted yet
    before = snapshot(apps.raw)
    with caplog.at_level(logging.ERROR, logger="flask_walrus"):
        response = app.test_client().get(path)
    assert response.status_code == 200 and response.get_data() == b"page"
    assert snapshot(apps.raw) == before
    assert expected.__name__ in caplog.text, caplog.text


@pytest.mark.parametrize("lock_timeout", [10.0, None], ids=["stampede-lock", "no-lock"])
def test_a_flask_view_s_own_server_error_is_raised_once(
    redis_url: str, lock_timeout: float | None
) -> None:
    """A cached view whose own command the server refuses raises that error, once: it is
    not taken for a failure of the cache, which would render the view a second time (its
    writes applied twice when the second run gets further)."""
    from flask import Flask

    from flask_walrus import Walrus

    app = Flask("view_errors")
    app.config.update(TESTING=True, WALRUS_URL=redis_url, WALRUS_RATELIMIT_ENABLED=False)
    ext = Walrus(app)
    db = Database.from_url(redis_url)
    db.set("a-string", "x")
    runs: list[int] = []

    @app.get("/writes")
    @ext.cached(timeout=600, lock_timeout=lock_timeout)
    def writes() -> str:
        runs.append(1)
        db.incr("view-runs")
        db.lpush("a-string", "x")  # WRONGTYPE: the view's own server error
        return "done"

    try:
        with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
            app.test_client().get("/writes")
        assert runs == [1] and db.get("view-runs") == b"1"
    finally:  # a Flask app is a reference cycle: it would hold its client until a collection
        ext.state(app).database.close()
        db.close()


# -- cache fills: a lock the server will not release does not fail the fill ------------------


def test_a_fill_lock_left_unreleased_does_not_fail_a_stored_value(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``get_or_set`` computed and stored its value, then the server refused to release the
    fill lock (an ACL forbidding scripts from then on): the caller gets its value, not the
    release's error (a success reported as a failure); the lock expires by itself."""
    server = start_redis_server()
    try:
        db = Database.from_url(server.url(0))
        cache = db.cache("c", serializer="json")

        def compute() -> dict[str, int]:
            server.client().execute_command("ACL", "SETUSER", "default", "-eval", "-evalsha")
            return {"v": 1}

        with caplog.at_level(logging.WARNING, logger="walrus.stampede"):
            assert cache.get_or_set("k", compute, 600, lock_timeout=5) == {"v": 1}
        assert cache.get("k") == {"v": 1}
        assert "NoPermissionError" in caplog.text, caplog.text
        assert 0 < db.pttl("lock:c:k:fill") <= 5000  # the fill lock expires by itself
    finally:
        server.stop()


# -- NOSCRIPT: handled on every script path ----------------------------------------------------


SCRIPTED: dict[str, Call] = {
    "Array.append": lambda a: a.db.Array("arr").append("c"),
    "Array[0]": lambda a: a.db.Array("arr")[0],
    "Cache.incr (script)": lambda a: a.db.cache("c", serializer="json").incr("count", 1, 600),
    "Lock.extend": lambda a: a.db.lock("held", ttl=600_000, lock_id="me").extend(1000),
    "Lock.release": lambda a: a.db.lock("held", ttl=600_000, lock_id="me").release(),
    "Autocomplete.store": lambda a: a.db.autocomplete().store("another title", data="x"),
    "Autocomplete.search": lambda a: a.db.autocomplete().search("wal"),
    "Index.add": lambda a: a.db.Index("docs").add("d2", "lazy dog"),
    "Index.search": lambda a: a.db.Index("docs").search("fox"),
    "Model.create": _model_create,
    "Model.query": lambda a: [r.name for r in Row.query(Row.score == 3)],
    "Model.incr": _model_incr,
    "cas": lambda a: a.db.cas("plain-key", "", "x"),
    "django incr": lambda a: a.django.incr("n", 1),
}


@pytest.mark.parametrize("name", sorted(SCRIPTED))
def test_noscript_is_handled_on_every_script_path(redis_url: str, name: str) -> None:
    from django_walrus.cache import WalrusCache

    db = Database.from_url(redis_url)
    _seed(db)
    django = WalrusCache(redis_url, {"KEY_PREFIX": "dj", "OPTIONS": {"SERIALIZER": "json"}})
    django.set("n", 1, 600)
    apps = Apps(redis_url, db, db, django, None)
    SCRIPTED[name](apps)  # sends the source: the next run sends EVALSHA
    if name == "Lock.release":
        db.lock("held", ttl=600_000, lock_id="me").acquire()
    db.script_flush()
    SCRIPTED[name](apps)
