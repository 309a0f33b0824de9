"""walrus.Cache: values, many-key calls, decorators, signing, metrics."""

from __future__ import annotations

import pickle
import threading
import time

import pytest

from walrus import Database
from walrus.cache import Cache
from walrus.roundtrips import RoundTripCounter


def test_get_set_delete_and_upstream_key_layout(db: Database) -> None:
    cache = db.cache("c", default_timeout=None)
    assert cache.get("k") is None and cache.get("k", "dflt") == "dflt"
    assert cache.set("k", {"a": [1, 2]})
    assert cache.get("k") == {"a": [1, 2]}
    # upstream layout and format: <name>:<key>, pickled
    assert pickle.loads(db.get("c:k")) == {"a": [1, 2]}
    assert db.ttl("c:k") == -1
    assert cache.delete("k") is True and cache.delete("k") is False
    assert cache.get("k") is None


def test_none_is_a_hit_not_a_miss(db: Database) -> None:
    cache = db.cache("c")
    calls = []

    @cache.cached()
    def nothing(x: int) -> None:
        calls.append(x)
        return None

    assert nothing(1) is None and nothing(1) is None
    assert calls == [1]


def test_timeouts(db: Database) -> None:
    cache = db.cache("c", default_timeout=100)
    cache.set("a", 1)
    assert 0 < db.pttl("c:a") <= 100_000
    cache.set("b", 1, timeout=0.2)
    assert 0 < db.pttl("c:b") <= 200
    time.sleep(0.3)
    assert cache.get("b") is None
    with pytest.raises(ValueError, match="timeout"):
        cache.set("c", 1, timeout=-1)
    with pytest.raises(ValueError, match="timeout"):
        db.cache("x", default_timeout="soon")  # type: ignore[arg-type]
    assert db.exists("c:c") == 0


def test_many_calls_are_one_round_trip_each(db: Database) -> None:
    cache = db.cache("c")
    with RoundTripCounter() as rt:
        assert cache.set_many({"a": 1, "b": "two", "c": None})
    assert rt.count == 1
    with RoundTripCounter() as rt:
        assert cache.get_many(["a", "b", "c", "zz"]) == {"a": 1, "b": "two", "c": None}
    assert rt.count == 1
    with RoundTripCounter() as rt:
        assert cache.delete_many(["a", "zz"]) == 1
    assert rt.count == 1
    assert cache.get_many([]) == {} and cache.delete_many([]) == 0


def test_keys_and_flush_stay_in_namespace(db: Database) -> None:
    cache = db.cache("c*")  # glob characters in the name are matched literally
    other = db.cache("cx")
    cache.set_many({f"k{i}": i for i in range(1200)})
    other.set("keep", 1)
    db.set("unrelated", 1)
    assert len(cache.keys()) == 1200
    assert cache.flush() == 1200
    assert cache.keys() == []
    assert other.get("keep") == 1 and db.get("unrelated") == b"1"


def test_incr(db: Database) -> None:
    cache = db.cache("c")
    assert cache.incr("n") == 1
    assert cache.incr("n", 5) == 6
    assert cache.get("n") == 6
    assert cache.incr("t", timeout=50) == 1
    assert 0 < db.pttl("c:t") <= 50_000
    cache.set("s", "text")
    with pytest.raises(TypeError, match="c:s"):
        cache.incr("s")
    assert cache.get("s") == "text"
    with pytest.raises(TypeError):
        cache.incr("n", 1.5)  # type: ignore[arg-type]


def test_cached_keys_ignore_keyword_order_and_bust(db: Database) -> None:
    cache = db.cache("c")
    calls = []

    @cache.cached(timeout=60)
    def add(a: int, b: int = 2) -> int:
        calls.append((a, b))
        return a + b

    assert add(1, b=3) == 4
    assert add(b=3, a=1) == 4
    assert add(1, 3) == 4
    assert calls == [(1, 3)]
    assert add(1) == 3 and add(1, 2) == 3
    assert calls == [(1, 3), (1, 2)]
    assert add.bust(a=1, b=3) is True
    assert add(1, 3) == 4
    assert len(calls) == 3
    with pytest.raises(TypeError, match="add"):
        add(1, 2, 3)


def test_cached_custom_key_fn_and_metrics(db: Database) -> None:
    cache = db.cache("c")

    @cache.cached(key_fn=lambda a, k: f"sq-{a[0]}", metrics=True)
    def square(x: int) -> int:
        time.sleep(0.01)
        return x * x

    assert [square(3), square(3), square(3), square(4)] == [9, 9, 9, 16]
    assert db.exists("c:sq-3", "c:sq-4") == 2
    stats = square.metrics()
    assert stats["hits"] == 2 and stats["misses"] == 2 and stats["hit_rate"] == 0.5
    assert stats["avg_miss_time"] >= 0.01 > stats["avg_hit_time"] >= 0


def test_cached_property_per_instance_and_bust(db: Database) -> None:
    cache = db.cache("c")
    computed = []

    class Thing:
        def __init__(self, n: int) -> None:
            self.n = n

        @cache.cached_property()
        def double(self) -> int:
            computed.append(self.n)
            return self.n * 2

    one, two = Thing(1), Thing(2)
    assert one.double == 2 and one.double == 2 and two.double == 4
    assert computed == [1, 2]
    del one.double
    assert one.double == 2 and computed == [1, 2, 1]
    # A new object never sees an old one's value, even if it reuses the address.
    for n in range(5):
        assert Thing(10 + n).double == 20 + 2 * n

    class Keyed:
        def __init__(self, pk: int) -> None:
            self.pk = pk

        def __cache_key__(self) -> str:
            return f"keyed-{self.pk}"

        @cache.cached_property()
        def value(self) -> str:
            computed.append(("keyed", self.pk))
            return f"v{self.pk}"

    assert Keyed(7).value == "v7" and Keyed(7).value == "v7"
    assert computed.count(("keyed", 7)) == 1


def test_cache_async(db: Database) -> None:
    cache = db.cache("c")
    started = threading.Event()

    @cache.cache_async()
    def slow(x: int) -> int:
        started.set()
        time.sleep(0.05)
        return x + 1

    result = slow(1)
    assert started.wait(2)
    assert result() == 2
    assert slow(1)(timeout=1) == 2

    @cache.cache_async()
    def broken() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        broken()(timeout=2)


def test_debug_mode_is_a_noop(db: Database) -> None:
    cache = db.cache("c", debug=True)
    cache.set("k", 1)
    assert cache.get("k") is None and db.exists("c:k") == 0
    calls = []

    @cache.cached()
    def f() -> int:
        calls.append(1)
        return 1

    f(), f()
    assert calls == [1, 1]


def test_signed_cache_rejects_tampered_pickle(db: Database) -> None:
    cache = Cache(db, "s", signing_key="secret")
    cache.set("k", [1, 2])
    assert cache.get("k") == [1, 2]

    class Evil:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (exec, ("import builtins; builtins.EVIL_RAN = True",))

    db.set("s:k", pickle.dumps(Evil()))
    import builtins

    assert cache.get("k", "miss") == "miss"
    assert not hasattr(builtins, "EVIL_RAN")
    # Another key signs differently: still a miss.
    Cache(db, "s", signing_key="other").set("k", [9])
    assert cache.get("k") is None
    # Bytes no serializer can read are a miss too, never an exception in the caller.
    assert Cache(db, "s").get("k", "miss") == "miss"


@pytest.mark.parametrize("serializer", ["json", "msgpack"])
def test_other_serializers(db: Database, serializer: str) -> None:
    cache = db.cache("c", serializer=serializer)
    cache.set("k", {"a": [1, "x"]})
    assert cache.get("k") == {"a": [1, "x"]}
    assert db.get("c:k")[:1] != b"\x80"  # not pickle


def test_bad_input(db: Database) -> None:
    with pytest.raises(ValueError, match="serializer"):
        db.cache("c", serializer="yaml")
    with pytest.raises(ValueError, match="name"):
        db.cache("")
    cache = db.cache("c")
    with pytest.raises(TypeError, match="cache key"):
        cache.set(3, "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="stable key"):

        @cache.cached()
        def f(o: object) -> int:
            return 1

        f(object())
    assert list(db.scan_iter()) == []
