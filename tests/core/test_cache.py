"""walrus.Cache: values, many-key calls, decorators, signing, metrics."""

from __future__ import annotations

import copy
import logging
import pickle
import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from walrus import Database
from walrus.cache import Cache
from walrus.roundtrips import RoundTripCounter
from walrus.serializers import SignedSerializer, get_serializer


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
    # Under a millisecond rounds up to one, not to PX 0 (which Redis refuses).
    assert cache.set("tiny", 1, timeout=0.0004) is True
    assert db.pttl("c:tiny") in (-2, 0, 1)
    cache.set_many({"tiny2": 1}, timeout=0.0004)
    cache.set("forever", 1, timeout=0)  # 0 = no expiry, as upstream
    assert db.pttl("c:forever") == -1


@pytest.mark.single_node("a cluster sends one command per node (tests/cluster covers it)")
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
    assert cache.incr("t", 2, timeout=0) == 3 and 0 < db.pttl("c:t") <= 50_000  # INCRBY keeps it
    assert cache.incr("t", timeout=900) == 4 and db.pttl("c:t") <= 50_000  # existing: own ttl
    forever = db.cache("c", default_timeout=None)
    assert forever.incr("f") == 1 and db.pttl("c:f") == -1
    assert forever.incr("f", timeout=50) == 2 and 0 < db.pttl("c:f") <= 50_000  # had none: gets it
    cache.set("s", "text")
    for timeout in (0, 10):  # both the INCRBY and the script path refuse a payload
        with pytest.raises(TypeError, match="c:s"):
            cache.incr("s", timeout=timeout)
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
    prefix = f"{__name__}.test_cached_custom_key_fn_and_metrics.<locals>.square"
    assert square.make_key((3,), {}) == f"{prefix}:sq-3"
    assert db.exists(f"c:{prefix}:sq-3", f"c:{prefix}:sq-4") == 2
    stats = square.metrics()
    assert stats["hits"] == 2 and stats["misses"] == 2 and stats["hit_rate"] == 0.5
    assert stats["avg_miss_time"] >= 0.01 > stats["avg_hit_time"] >= 0
    # Also a live mapping, like upstream's fn.metrics dict.
    assert square.metrics["hits"] == 2 and square.metrics["misses"] == 2
    assert dict(square.metrics) == square.metrics() and set(square.metrics) >= {"hits", "misses"}
    square(3)
    assert square.metrics["hits"] == 3
    square.metrics.reset()
    assert square.metrics == {
        "hits": 0,
        "misses": 0,
        "hit_rate": 0.0,
        "avg_hit_time": 0.0,
        "avg_miss_time": 0.0,
    }


def test_functions_sharing_a_key_fn_do_not_share_entries(db: Database) -> None:
    cache = db.cache("c")

    def by_first(args: tuple[object, ...], kwargs: dict[str, object]) -> str:
        return str(args[0])

    @cache.cached(key_fn=by_first)
    def double(x: int) -> int:
        return 2 * x

    @cache.cached(key_fn=by_first)
    def triple(x: int) -> int:
        return 3 * x

    assert double(5) == 10
    assert triple(5) == 15  # upstream-style un-namespaced keys would have returned 10
    assert double.make_key((5,), {}) != triple.make_key((5,), {})
    assert triple.bust(5) is True and double(5) == 10


def test_make_key_matches_the_keys_calls_use(db: Database) -> None:
    cache = db.cache("c")

    @cache.cached()
    def add(a: int, b: int = 2) -> int:
        return a + b

    add(1, b=5)
    key = add.make_key((1,), {"b": 5})
    assert key == add.make_key((), {"b": 5, "a": 1})  # keyword order and form do not matter
    assert key.startswith(f"{__name__}.test_make_key_matches_the_keys_calls_use.<locals>.add:")
    assert cache.get(key) == 6 and db.exists(cache.make_key(key)) == 1
    assert add.make_key((1,)) != key and add.make_key((1,)) == add.make_key((1, 2))


def test_set_many_takes_a_mapping_pairs_and_keywords(db: Database) -> None:
    cache = db.cache("c", default_timeout=None)
    assert cache.set_many({"a": 1}, b=2, timeout=30)
    assert cache.set_many([("c", 3)])
    assert cache.set_many(d=4)
    assert cache.get_many(["a", "b", "c", "d"]) == {"a": 1, "b": 2, "c": 3, "d": 4}
    assert 0 < db.pttl("c:b") <= 30_000 and db.ttl("c:c") == -1
    assert cache.set_many() is True
    for bad in ("ab", 5, [("too", "many", "items")]):
        with pytest.raises(TypeError, match="set_many data must be a mapping or"):
            cache.set_many(bad)  # type: ignore[arg-type]
    assert cache.keys(strip_prefix=True) and sorted(cache.keys(strip_prefix=True)) == [
        "a",
        "b",
        "c",
        "d",
    ]
    assert sorted(cache.keys()) == ["c:a", "c:b", "c:c", "c:d"]


def test_cache_metrics_count_hits_misses_and_writes(db: Database) -> None:
    cache = db.cache("c")
    assert cache.metrics == {"hits": 0, "misses": 0, "writes": 0}
    cache.set("a", 1)
    cache.set_many({"b": 2, "c": 3})
    cache.get("a"), cache.get("zz")
    cache.get_many(["a", "b", "nope"])

    @cache.cached()
    def f(x: int) -> int:
        return x

    f(1), f(1)
    assert (
        cache.metrics["hits"] == 4 and cache.metrics["misses"] == 3 and cache.metrics["writes"] == 4
    )
    assert cache.metrics() == {"hits": 4, "misses": 3, "writes": 4}
    cache.metrics.reset()
    assert cache.metrics["writes"] == 0
    quiet = db.cache("q", debug=True)
    quiet.set("a", 1), quiet.get("a")
    assert quiet.metrics() == {"hits": 0, "misses": 0, "writes": 0}


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


# -- every serializer round-trips every value; incr counters stay apart ------------------------

_leaf_common = st.none() | st.booleans() | st.text(max_size=20) | st.floats(allow_nan=False)
_VALUES = {
    "pickle": st.recursive(
        _leaf_common
        | st.integers()
        | st.binary(max_size=20)
        | st.sampled_from([b"\x00", b"48", "48", 48, -7]),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.tuples(inner, inner)
            | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)
        ),
        max_leaves=8,
    ),
    "json": st.recursive(
        st.none()
        | st.booleans()
        | st.text(max_size=20)
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.sampled_from([0, 7, 48, 10**25, -3]),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        ),
        max_leaves=8,
    ),
    "msgpack": st.recursive(
        _leaf_common
        | st.integers(min_value=-(2**63), max_value=2**64 - 1)
        | st.binary(max_size=20)
        | st.sampled_from([0, 48, 57, -1, b"\x00"]),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
        ),
        max_leaves=8,
    ),
}


@pytest.mark.single_node(
    "serialization does not depend on the topology; the cluster adds only time"
)
@pytest.mark.parametrize("signed", [False, True], ids=["plain", "signed"])
@pytest.mark.parametrize("serializer", ["pickle", "json", "msgpack"])
def test_every_serializer_round_trips_every_value(
    db: Database, serializer: str, signed: bool
) -> None:
    cache = db.cache("c", serializer=serializer, signing_key="k" if signed else None)
    missing = object()

    @settings(
        max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(value=_VALUES[serializer])
    def check(value: Any) -> None:
        cache.set_many({"v": value, "w": [value]})
        assert repr(cache.get("v", missing)) == repr(value)  # exact: 48 stays 48, True stays True
        assert repr(cache.get_many(["w"])["w"]) == repr([value])

    check()
    # Counters beside those values still add atomically, in one round trip, and read as int.
    with RoundTripCounter() as rt:
        assert cache.incr("n", 48) == 48
    assert rt.count == 1
    assert cache.incr("n", -1) == 47 and cache.get("n") == 47


@pytest.mark.parametrize("serializer", ["json", "msgpack"])
def test_all_digit_payloads_are_not_mistaken_for_counters(db: Database, serializer: str) -> None:
    cache = db.cache("c", serializer=serializer)
    for value in (0, 5, 48, 57, -12, 2**62):
        cache.set("k", value)
        assert cache.get("k") == value and type(cache.get("k")) is int
    cache.set("k", 48)
    raw = db.get("c:k")
    assert raw == b"\x00" + get_serializer(serializer).dumps(48)  # escaped, so never a counter
    with pytest.raises(TypeError, match="c:k.* does not hold an incr\\(\\) counter"):
        cache.incr("k")
    assert cache.get("k") == 48


def test_pickled_values_stay_byte_identical_to_upstream_format(db: Database) -> None:
    cache = db.cache("c")
    for value in (48, 0, "x", b"\x00", [1, 2]):
        cache.set("k", value)
        assert db.get("c:k") == pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    db.set("c:up", pickle.dumps(7, protocol=2))  # what upstream's set() writes
    assert cache.get("up") == 7
    db.set("c:count", b"41")  # what upstream's incr() writes
    assert cache.get("count") == 41 and cache.incr("count") == 42


def test_signed_payload_starting_with_nul_round_trips(db: Database) -> None:
    cache = db.cache("c", signing_key="k")
    signer = SignedSerializer(get_serializer("pickle"), "k")
    value = next(i for i in range(100_000) if signer.dumps(i)[:1] == b"\x00")
    cache.set("k", value)
    assert db.get("c:k")[:2] == b"\x00\x00"
    assert cache.get("k") == value


# -- cached_property identity ----------------------------------------------------------------

COMPUTED: list[int] = []
_pcache: dict[str, Cache] = {}


def _prop_cache() -> Cache:
    return _pcache["cache"]


class Box:
    """Equal when the numbers are equal, picklable (module level)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Box) and other.n == self.n

    def __hash__(self) -> int:
        return hash(self.n)

    @property
    def value(self) -> int:
        return _BoxValue.__get__(self, Box)


class Slotted:
    __slots__ = ("n", "__weakref__")

    def __init__(self, n: int) -> None:
        self.n = n

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Slotted) and other.n == self.n

    def __hash__(self) -> int:
        return hash(self.n)


class NoWeakref:
    __slots__ = ("n",)

    def __init__(self, n: int) -> None:
        self.n = n


_BoxValue: Any = None


@pytest.fixture
def prop_cache(db: Database) -> Any:
    """A cache whose cached_property counts computations in COMPUTED."""
    global _BoxValue
    cache = db.cache("p")
    _pcache["cache"] = cache
    COMPUTED.clear()

    def compute(obj: Any) -> int:
        COMPUTED.append(obj.n)
        return obj.n * 10 + len(COMPUTED)  # differs per computation: sharing shows

    _BoxValue = cache.cached_property()(compute)
    Slotted.value = cache.cached_property()(compute)  # type: ignore[attr-defined]
    NoWeakref.value = cache.cached_property()(compute)  # type: ignore[attr-defined]
    yield cache
    del Slotted.value  # type: ignore[attr-defined]
    del NoWeakref.value  # type: ignore[attr-defined]


def test_cached_property_copies_do_not_share_the_original_entry(prop_cache: Cache) -> None:
    box = Box(1)
    first = box.value
    assert box.value == first and COMPUTED == [1]
    assert box.__dict__ == {"n": 1}  # nothing stored on the object, so copies carry nothing
    for twin in (copy.copy(box), copy.deepcopy(box), pickle.loads(pickle.dumps(box))):
        assert twin == box
        assert twin.value != first  # its own computation
        assert twin.value == twin.value
    assert COMPUTED == [1, 1, 1, 1]
    assert box.value == first


def test_cached_property_equal_objects_are_distinct(prop_cache: Cache) -> None:
    a, b = Box(2), Box(2)
    assert a == b and hash(a) == hash(b)
    assert a.value != b.value and COMPUTED == [2, 2]
    s1, s2 = Slotted(3), Slotted(3)
    assert s1 == s2
    assert s1.value != s2.value and COMPUTED == [2, 2, 3, 3]  # type: ignore[attr-defined]
    assert s1.value == s1.value and COMPUTED == [2, 2, 3, 3]  # type: ignore[attr-defined]
    assert copy.copy(s1).value != s1.value  # type: ignore[attr-defined]


def test_cached_property_address_reuse_does_not_leak(prop_cache: Cache) -> None:
    seen: set[int] = set()
    reused = 0
    for n in range(500):  # until a few addresses came back (how soon depends on the allocator)
        box = Box(n)
        reused += id(box) in seen
        seen.add(id(box))
        assert box.value == n * 10 + len(COMPUTED)
        del box  # freed now by refcounting: a later Box may get its address
        if reused >= 5:
            break
    assert reused >= 5, "the allocator never reused an address: the test proves nothing"
    assert COMPUTED == list(range(n + 1))  # every new object computed its own value


def test_cached_property_needs_a_weak_referenceable_object(db: Database, prop_cache: Cache) -> None:
    with pytest.raises(
        TypeError, match="NoWeakref objects to be weak-referenceable.*__cache_key__"
    ):
        _ = NoWeakref(1).value  # type: ignore[attr-defined]
    assert COMPUTED == [] and list(db.scan_iter()) == []


def test_cached_property_is_read_only(db: Database, prop_cache: Cache) -> None:
    s = Slotted(1)
    with pytest.raises(ValueError, match="cannot set cached property 'compute'"):
        s.value = 3  # type: ignore[attr-defined]


def test_signature_failure_is_logged_and_not_unpickled(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    cache = Cache(db, "s", signing_key="secret")
    ran: list[bool] = []

    class Bomb:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (ran.append, (True,))

    signer = SignedSerializer(get_serializer("pickle"), "other key")
    db.set("s:k", signer.dumps(Bomb()))
    with caplog.at_level(logging.WARNING, logger="walrus.cache"):
        assert cache.get("k", "miss") == "miss"
    assert ran == []
    records = [r for r in caplog.records if r.name == "walrus.cache"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert "'s:k' failed verification" in records[0].getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="walrus.cache"):
        assert cache.get_many(["k"]) == {}
    assert ran == [] and "failed verification" in caplog.text


def test_custom_serializer_writing_digit_text_round_trips(db: Database) -> None:
    class Text:
        def dumps(self, value: Any) -> str:  # text, and digits for ints: looks like a counter
            return str(value)

        def loads(self, data: bytes) -> Any:
            return int(data)

    cache = db.cache("c", serializer=Text())  # type: ignore[arg-type]
    cache.set("k", 1234)
    assert db.get("c:k") == b"\x001234"
    assert cache.get("k") == 1234


def test_unsigned_pickle_warns_once_per_process() -> None:
    # Run in a fresh interpreter: the warning is once per process, and this one may have
    # built unsigned caches already. Building a Cache sends nothing, so no server is needed.
    import subprocess
    import sys

    code = (
        "import warnings\n"
        "from walrus import Database\n"
        "from walrus.cache import UnsignedPickleWarning\n"
        "db = Database()\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        "    warnings.simplefilter('always')\n"
        "    db.cache('signed', signing_key='k'); db.cache('json', serializer='json')\n"
        "    assert seen == [], seen\n"
        "    db.cache('a'); db.cache('b', serializer='PICKLE')\n"
        "    assert [w.category for w in seen] == [UnsignedPickleWarning], seen\n"
        "    assert 'signing_key' in str(seen[0].message)\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stdout.strip() == "ok", proc.stderr
