"""What a type checker sees of the containers and helpers of an asyncio client.

``walrus.asyncio.protocols`` is generated from the sync classes (``walrus.asyncio._protocol_gen``)
and ``AsyncContainerFactories`` types the factories with it: ``await db.Hash("k").get("f")``
type-checks, ``db.Hash("k").get("f").decode()`` does not. The sample programs below are checked
with mypy (the project's strict settings) and the good one also runs on every backend, so the
types are checked against what the code does.
"""

from __future__ import annotations

import asyncio
import os
import re
import textwrap
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, overload

import pytest

from walrus import Database
from walrus.asyncio import AsyncClusterDatabase, AsyncDatabase, protocols
from walrus.asyncio import _protocol_gen as gen
from walrus.containers import Array, Hash, List, Set, ZSet
from walrus.containers.base import Container
from walrus.containers.factories import AsyncContainerFactories, ContainerFactories
from walrus.containers.running import Returns, command, sync_only
from walrus.counter import Counter
from walrus.rate_limit import RateLimit
from walrus.roundtrips import RoundTripCounter

ROOT = Path(__file__).resolve().parents[2]

GOOD = '''
from __future__ import annotations

from typing import Any

import redis.asyncio

from walrus import Database
from walrus.asyncio import AsyncClusterDatabase, AsyncDatabase
from walrus.asyncio.protocols import AsyncArray, AsyncHash, AsyncList, AsyncSet, AsyncZSet
from walrus.containers import Array, Hash, List, Set, ZSet
from walrus.containers.factories import AsyncContainerFactories
from walrus.rate_limit.decision import RateLimitResult


class Client(AsyncContainerFactories, redis.asyncio.Redis):  # type: ignore[misc]  # redis-py's
    """The mixin on an asyncio client, as AsyncDatabase adopts it."""


async def main(db: Client) -> dict[str, Any]:
    h: AsyncHash = db.Hash("h")
    await (await h.update({"a": "1"}, b="2")).set("c", "3")
    got: bytes | None = await h.get("a")
    length: int = await h.length()
    exists: bool = await h.contains("b")
    items: list[tuple[Any, Any]] = await h.items()
    lazy = sorted([pair async for pair in h.items(lazy=True)])
    scanned = sorted([pair async for pair in h])
    found = [pair async for pair in h.search("[ab]", count=5)]
    incremented: int | float = await h.incr("n", 2)

    z: AsyncZSet = db.ZSet("z")
    added: int = await z.add({"x": 1.0, "y": 2.5})
    score: float | None = await z.score("y")
    rank: int | None = await z.rank("y")
    members = [pair async for pair in z]

    lst = db.List("l")
    await lst.extend(["1", "2", "3"])
    popped = await lst.popleft()
    sets = db.Set("{s}a")
    await sets.add("a", "b")
    await db.Set("{s}b").add("b", "c")
    union: set[Any] = await (sets | db.Set("{s}b"))
    array = db.Array("arr")
    await array.append("v")
    first = await array[0]
    hll = db.HyperLogLog("hll")
    await hll.add("a", "b")
    estimate: int = await hll.count()
    bits: list[Any] = await db.bit_field("bits").set("u8", 0, 255).get("u8", 0).execute()
    bloom = db.bloom_filter("bloom")
    await bloom.add("x")
    in_bloom: bool = await bloom.contains("x")

    stream = db.Stream("st")
    await stream.add({"k": "v"})
    entries: list[Any] = await stream.range()
    group = db.consumer_group("g", ["st"])
    await group.create()
    read: list[Any] = await group.read()
    pending = await group.stream("st").pending()

    hits: int = await db.counter("c").incr(5)
    hits = await db.counter("c").incr()
    limiter = db.rate_limit("api", limit=1, per=60)
    refused: bool = await limiter.limit("k")
    check: RateLimitResult = await limiter.check("k")
    index = db.Index("docs")
    await index.add("d1", "red walrus")
    documents: list[dict[str, str]] = await index.search("walrus")
    complete = db.autocomplete()
    await complete.store("1", "red walrus")
    suggestions: list[Any] = await complete.search("wal")
    graph = db.graph("g")
    await graph.store("a", "knows", "b")
    triples: list[dict[str, str]] = await graph.query(s="a")
    return {
        "got": got, "length": length, "exists": exists, "items": sorted(items), "lazy": lazy,
        "scanned": scanned, "found": sorted(found), "incremented": incremented,
        "added": added, "score": score, "rank": rank, "members": members, "popped": popped,
        "union": union, "first": first, "estimate": estimate, "bits": bits,
        "in_bloom": in_bloom, "entries": len(entries), "read": len(read),
        "pending": len(pending), "hits": hits, "refused": refused,
        "remaining": check.remaining, "documents": documents, "suggestions": suggestions,
        "triples": triples,
    }


async def constructors(db: AsyncDatabase | AsyncClusterDatabase) -> dict[str, Any]:
    """The from_* class constructors on an asyncio client: awaited, they are the protocols."""
    h: AsyncHash = await Hash.from_dict(db, "fh", {"a": "1"})
    got: bytes | None = await h.get("a")
    z: AsyncZSet = await ZSet.from_dict(db, "fz", {"x": 1.0}, clear=True)
    score: float | None = await z.score("x")
    s: AsyncSet = await Set.from_set(db, "fs", ["a", "b"])
    members: set[Any] = await s.as_set()
    lst: AsyncList = await List.from_list(db, "fl", ["1", "2"])
    items: list[Any] = await lst.as_list()
    arr: AsyncArray = await Array.from_list(db, "fa", ["v"], clear=True)
    length: int = await arr.length()
    return {
        "h": h, "got": got, "z": z, "score": score, "s": s, "members": members,
        "lst": lst, "items": items, "arr": arr, "length": length,
    }


def sync_constructors(db: Database) -> int:
    """The same constructors on a sync client: the sync classes, no awaiting."""
    h: Hash = Hash.from_dict(db, "fh", {"b": "2"})
    return len(h) + len(ZSet.from_dict(db, "fz", {"y": 2.0})) + len(Set.from_set(db, "fs", ["c"]))
'''

# Each line marked ``# E: text`` must get a mypy error containing ``text``; no other line may.
BAD = '''
from __future__ import annotations

import redis.asyncio

from walrus import Database
from walrus.asyncio import AsyncDatabase
from walrus.containers import Array, Hash, List, Set, ZSet
from walrus.containers.factories import AsyncContainerFactories


class Client(AsyncContainerFactories, redis.asyncio.Redis):  # type: ignore[misc]  # redis-py's
    """The mixin on an asyncio client."""


async def main(db: Client) -> None:
    db.Hash("k").get("f").decode()  # E: "Coroutine[Any, Any, Any]" has no attribute "decode"
    name: str = await db.counter("c").incr()  # E: type "int", variable has type "str"
    total: int = await db.ZSet("z").score("x")  # E: expression has type "float | None"
    refused: bool = db.rate_limit("api").limit("k")  # E: variable has type "bool"
    db.Hash("k").length()  # E: Value of type "Coroutine[Any, Any, int]" must be used
    len(db.Hash("k"))  # E: Argument 1 to "len" has incompatible type "AsyncHash"
    print("f" in db.Hash("k"))  # E: Unsupported right operand type for in ("AsyncHash")
    for member in db.Set("s"):  # E: "AsyncSet" has no attribute "__iter__"
        print(member)
    print([x async for x in db.HyperLogLog("h")])  # E: "AsyncHyperLogLog" has no attribute
    print([p async for p in db.Hash("k").items()])  # E: has no attribute "__aiter__"
    await db.bit_field("b").set("u8", 0, 1)  # E: Incompatible types in "await"
    db.counter("c").incr(db.counter("d").value())  # E: Argument 1 to "incr" of "AsyncCounter"


async def constructors(db: AsyncDatabase, sync: Database) -> None:
    Hash.from_dict(db, "k", {}).get("a")  # E: "Coroutine[Any, Any, AsyncHash]" has no attribute
    print(len(await Set.from_set(db, "s", ["a"])))  # E: to "len" has incompatible type "AsyncSet"
    List.from_list(db, "l", ["a"])  # E: Value of type "Coroutine[Any, Any, AsyncList]" must be used
    z: ZSet = await ZSet.from_dict(db, "z", {"x": 1.0})  # E: has type "AsyncZSet", variable has
    await Array.from_list(sync, "a", ["v"])  # E: Incompatible types in "await" (actual type "Array"
'''


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[int, str]]]:
    """{sample name: [(line, message), ...]}: one mypy run (the project's settings) over both
    samples."""
    from mypy import api

    folder = tmp_path_factory.mktemp("mypy")
    for name, source in (("good_sample", GOOD), ("bad_sample", BAD)):
        (folder / f"{name}.py").write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    previous = os.environ.get("MYPYPATH")
    os.environ["MYPYPATH"] = str(ROOT / "core")  # walrus from the source tree
    try:
        stdout, stderr, _ = api.run(
            [
                "--config-file", str(ROOT / "pyproject.toml"),
                "--cache-dir", str(folder / "cache"),
                "--no-error-summary", "--show-absolute-path",
                str(folder / "good_sample.py"), str(folder / "bad_sample.py"),
            ]
        )  # fmt: skip
    finally:
        if previous is None:
            del os.environ["MYPYPATH"]
        else:
            os.environ["MYPYPATH"] = previous
    assert not stderr, stderr
    found: dict[str, list[tuple[int, str]]] = {"good_sample": [], "bad_sample": []}
    for line in stdout.splitlines():
        match = re.match(r"(.*?)(good_sample|bad_sample)\.py:(\d+): (error|note): (.*)", line)
        assert match, f"mypy reported outside the samples: {line}"
        if match.group(4) == "error":
            found[match.group(2)].append((int(match.group(3)), match.group(5)))
    return found


def test_checked_in_protocols_are_what_the_generator_writes() -> None:
    """A change to a container or helper without ``python -m walrus.asyncio._protocol_gen``
    leaves the protocols stale: this fails until they are regenerated."""
    fresh = gen.render()
    assert Path(protocols.__file__).read_text(encoding="utf-8") == fresh, (
        "walrus/asyncio/protocols.py is stale: run python -m walrus.asyncio._protocol_gen"
    )
    assert gen.main(["--check"]) == 0


class Sample(Container):
    """A container for the generator's rules."""

    @command
    def size(self, extra: int = 0) -> Returns[int]:
        """Steps. 1 round trip."""
        return int((yield ("strlen", (self.key,), {}))) + extra

    def __len__(self) -> int:
        """Refused on asyncio. 1 round trip."""
        sync_only(self, "len()", "await s.size()")
        return self.size()

    def label(self, prefix: str = "k") -> str:
        """A name. No Redis work."""
        return f"{prefix}{self.key}"

    def fetch(self) -> Sample:
        """Another way to read. 1 round trip."""
        return self

    def scan(self) -> Iterator[bytes]:
        """Pages. 1 round trip per page."""
        return iter([])

    @overload
    @classmethod
    def build(cls, database: Database, key: Any) -> Sample: ...
    @overload
    @classmethod
    def build(
        cls, database: AsyncDatabase, key: Any, n: int = 1
    ) -> Coroutine[Any, Any, Sample]: ...
    @classmethod
    def build(cls, database: Any, key: Any, n: int = 1) -> Any:
        """Typed per client, as the from_* constructors. 1 round trip."""
        return cls(database, key)


class Picky(Container):
    """Overloaded, but not per client: the generator cannot tell what an asyncio client gets."""

    @overload
    def pick(self, n: int) -> int: ...
    @overload
    def pick(self, n: str) -> str: ...
    def pick(self, n: Any) -> Any:
        """Either. 1 round trip."""
        return n


def test_generator_rules_on_a_sample_class() -> None:
    """@command -> async def; an Iterator result -> AsyncIterator; "No Redis work" -> plain;
    another cost -> async def; sync_only operators left out; own class -> its protocol; an
    overloaded method -> its asyncio overload (an error when it has none)."""
    writer = gen._ClassWriter(Sample, "AsyncSample", gen._Annotations({}))
    text = writer.render()
    assert "async def size(self, extra: int = 0) -> int:" in text
    assert "def __len__" not in text
    assert "    def label(self, prefix: str = 'k') -> str:" in text
    assert "async def fetch(self) -> Sample:" in text
    assert "    def scan(self) -> AsyncIterator[bytes]:" in text
    assert "async def clear(self) -> AsyncSample:" in text  # inherited, self-typed
    assert "__aiter__" not in text  # Sample does not iterate
    # An overloaded method: its asyncio overload, an async def of what it awaits.
    assert (
        "    @classmethod\n"
        "    async def build(cls, database: AsyncDatabase, key: Any, n: int = 1) -> Sample:"
    ) in text
    with pytest.raises(ValueError, match="Picky.pick is overloaded without .* OVERRIDES"):
        gen._ClassWriter(Picky, "AsyncPicky", gen._Annotations({})).render()
    mapped = gen._ClassWriter(Sample, "AsyncSample", gen._Annotations({(__name__, "Sample"): "S"}))
    assert "async def fetch(self) -> S:" in mapped.render()
    assert "    async def build(cls, database: AsyncDatabase, key: Any, n: int = 1) -> S:" in (
        mapped.render()
    )


def test_the_protocols_declare_what_the_async_api_awaits() -> None:
    source = Path(protocols.__file__).read_text(encoding="utf-8")
    hash_part = source.split("class AsyncHash(", 1)[1].split("\nclass ", 1)[0]
    assert "    async def get(self, key: Any, default: Any = None) -> Any:" in hash_part
    assert "    async def update(self, *args: Any, **kwargs: Any) -> AsyncHash:" in hash_part
    assert "def __len__" not in hash_part and "def __setitem__" not in hash_part
    # The from_* constructors: their asyncio overload (an asyncio client, awaited).
    constructor = "    async def from_dict(\n        cls,\n        database: AsyncDatabase | "
    assert constructor + "AsyncClusterDatabase," in hash_part
    counter_part = source.split("class AsyncCounter(", 1)[1].split("\nclass ", 1)[0]
    assert "async def incr(self, incr_by: int | AsyncCounter = 1) -> int:" in counter_part
    assert "__iadd__" not in counter_part and "__int__" not in counter_part
    limit_part = source.split("class AsyncRateLimit(", 1)[1].split("\nclass ", 1)[0]
    assert "    async def limit(self, key: Any) -> bool:" in limit_part
    assert "    def rate_limited(" in limit_part  # a decorator, not awaited
    assert "    def false_positive_rate(self, n: int) -> float:" in source


def test_mypy_accepts_the_async_api(mypy_output: dict[str, list[tuple[int, str]]]) -> None:
    assert mypy_output["good_sample"] == []


def test_mypy_flags_the_misuses(mypy_output: dict[str, list[tuple[int, str]]]) -> None:
    lines = textwrap.dedent(BAD).lstrip().splitlines()
    expected = {
        number: line.split("# E: ", 1)[1]
        for number, line in enumerate(lines, start=1)
        if "# E: " in line
    }
    assert len(expected) == 17
    reported: dict[int, list[str]] = {}
    for number, message in mypy_output["bad_sample"]:
        reported.setdefault(number, []).append(message)
    assert sorted(reported) == sorted(expected), reported
    for number, text in expected.items():
        assert any(text in message for message in reported[number]), (number, reported[number])


def test_the_factories_are_unchanged_at_runtime() -> None:
    """AsyncContainerFactories adds nothing at runtime: the same methods, the same classes."""
    added = {
        name
        for base in AsyncContainerFactories.__mro__
        if base not in ContainerFactories.__mro__
        for name in vars(base)
        if not name.startswith("__")
    }
    assert added == set()
    for name in ("Hash", "ZSet", "counter", "rate_limit", "Index", "graph", "autocomplete"):
        assert getattr(AsyncContainerFactories, name) is getattr(ContainerFactories, name)


@pytest.mark.single_node("the sample's keys are not hash-tagged for a cluster")
def test_the_typed_sample_runs_and_matches_the_sync_api(async_url: str) -> None:
    """The good sample, run on each backend by an AsyncDatabase (which has the typed
    factories): the awaited values are what the types say, and the sync client reads the
    same data."""
    namespace: dict[str, Any] = {"__name__": "good_sample"}
    exec(compile(textwrap.dedent(GOOD), "good_sample.py", "exec"), namespace)

    async def run(
        client_class: type[AsyncDatabase],
    ) -> tuple[dict[str, Any], dict[str, Any], int]:
        db = client_class.from_url(async_url)
        try:
            await db.flushdb()
            assert type(db.Hash("h")) is Hash and type(db.ZSet("z")) is ZSet
            assert type(db.counter("c")) is Counter and type(db.rate_limit("r")) is RateLimit
            with RoundTripCounter() as trips:
                result: dict[str, Any] = await namespace["main"](db)
            built: dict[str, Any] = await namespace["constructors"](db)
            return result, built, trips.count
        finally:
            await db.aclose()

    assert issubclass(AsyncDatabase, AsyncContainerFactories)
    assert issubclass(AsyncClusterDatabase, AsyncContainerFactories)
    typed, built, _trips = asyncio.run(run(AsyncDatabase))
    assert isinstance(typed["got"], bytes) and typed["got"] == b"1"
    assert typed["length"] == 3 and typed["exists"] is True
    assert typed["items"] == typed["lazy"] == typed["scanned"]
    assert typed["found"] == [(b"a", b"1"), (b"b", b"2")]
    assert typed["incremented"] == 2 and typed["added"] == 2 and typed["score"] == 2.5
    assert typed["rank"] == 1 and typed["members"] == [(b"x", 1.0), (b"y", 2.5)]
    assert typed["popped"] == b"1" and typed["union"] == {b"a", b"b", b"c"}
    assert typed["first"] == b"v" and typed["estimate"] == 2 and typed["bits"] == [0, 255]
    assert typed["in_bloom"] is True and typed["entries"] == 1 and typed["read"] == 1
    assert typed["pending"] == 1 and typed["hits"] == 6
    assert typed["refused"] is False and typed["remaining"] == 0
    assert [doc["content"] for doc in typed["documents"]] == ["red walrus"]
    assert typed["suggestions"] == ["red walrus"]
    assert typed["triples"] == [{"s": "a", "p": "knows", "o": "b"}]
    # The from_* constructors, awaited: the sync classes at runtime, driven asynchronously.
    names = ("h", "z", "s", "lst", "arr")
    assert [type(built[name]) for name in names] == [Hash, ZSet, Set, List, Array]
    assert all(built[name]._async for name in names)
    assert built["got"] == b"1" and built["score"] == 1.0 and built["members"] == {b"a", b"b"}
    assert built["items"] == [b"1", b"2"] and built["length"] == 1
    sync = Database.from_url(async_url)
    try:
        assert sync.Hash("h").as_dict(decode=True) == {"a": "1", "b": "2", "c": "3", "n": "2"}
        assert sync.ZSet("z").as_items() == [(b"x", 1.0), (b"y", 2.5)]
        assert sync.counter("c").value() == 6
        assert sync.rate_limit("api", limit=1, per=60).remaining("k") == 0
        assert [d["content"] for d in sync.Index("docs").search("walrus")] == ["red walrus"]
        assert sync.autocomplete().search("wal") == ["red walrus"]
        assert sync.graph("g").query(o="b") == [{"s": "a", "p": "knows", "o": "b"}]
        # The sync constructors on the keys the async ones wrote: fh a+b, fz x+y, fs a+b+c.
        assert namespace["sync_constructors"](sync) == 2 + 2 + 3
    finally:
        sync.close()
