"""Property tests: random operation sequences on the containers, on the real server,
compared step by step with Python's own types (hypothesis RuleBasedStateMachine)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from walrus import Database
from walrus.containers.errors import ContainerValueError

SETTINGS = settings(max_examples=50, stateful_step_count=30, deadline=None, database=None)

texts = st.text(alphabet="abcxyzé", min_size=1, max_size=3)
small_ints = st.integers(min_value=-8, max_value=8)
scores = st.one_of(st.integers(min_value=-20, max_value=20), st.sampled_from([0.5, -1.25, 2.75]))


def enc(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


@pytest.fixture
def database(redis_url: str) -> Iterator[Database]:
    db = Database.from_url(redis_url)
    yield db
    db.close()


class Base(RuleBasedStateMachine):
    db: Database

    def __init__(self) -> None:
        super().__init__()
        self.db.flushdb()


class HashMachine(Base):
    def __init__(self) -> None:
        super().__init__()
        self.h = self.db.Hash("h")
        self.model: dict[bytes, bytes] = {}

    @rule(k=texts, v=st.one_of(texts, small_ints))
    def set_item(self, k: str, v: Any) -> None:
        self.h[k] = v
        self.model[enc(k)] = enc(v)

    @rule(k=texts)
    def del_item(self, k: str) -> None:
        del self.h[k]
        self.model.pop(enc(k), None)

    @rule(data=st.dictionaries(texts, small_ints, max_size=4))
    def update(self, data: dict[str, int]) -> None:
        copy = dict(data)
        self.h.update(data)
        assert data == copy
        self.model.update({enc(k): enc(v) for k, v in data.items()})

    @rule(k=texts, by=small_ints)
    def incr(self, k: str, by: int) -> None:
        current = self.model.get(enc(k), b"0")
        try:
            expected = int(current) + by
        except ValueError:
            with pytest.raises(ContainerValueError):
                self.h.incr(k, by)
            return
        assert self.h.incr(k, by) == expected
        self.model[enc(k)] = enc(expected)

    @rule(k=texts)
    def get(self, k: str) -> None:
        assert self.h[k] == self.model.get(enc(k))
        assert (k in self.h) == (enc(k) in self.model)

    @invariant()
    def same(self) -> None:
        assert self.h.as_dict() == self.model
        assert len(self.h) == len(self.model)


def _ltrim(items: list[bytes], start: int, stop: int) -> list[bytes]:
    """What Redis LTRIM start stop keeps (both inclusive, negatives count from the end)."""
    n = len(items)
    first = max(start + n if start < 0 else start, 0)
    last = min(stop + n if stop < 0 else stop, n - 1)
    return items[first : last + 1] if first <= last else []


class ListMachine(Base):
    def __init__(self) -> None:
        super().__init__()
        self.lst = self.db.List("l")
        self.model: list[bytes] = []

    @rule(v=texts)
    def append(self, v: str) -> None:
        assert self.lst.append(v) == len(self.model) + 1
        self.model.append(enc(v))

    @rule(v=texts)
    def prepend(self, v: str) -> None:
        self.lst.prepend(v)
        self.model.insert(0, enc(v))

    @rule(vs=st.lists(texts, max_size=4))
    def extend(self, vs: list[str]) -> None:
        self.lst.extend(vs)
        self.model.extend(enc(v) for v in vs)

    @rule()
    def popleft(self) -> None:
        assert self.lst.popleft() == (self.model.pop(0) if self.model else None)

    @rule()
    def popright(self) -> None:
        assert self.lst.popright() == (self.model.pop() if self.model else None)

    @rule(i=small_ints, v=texts)
    def set_item(self, i: int, v: str) -> None:
        if -len(self.model) <= i < len(self.model):
            self.lst[i] = v
            self.model[i] = enc(v)
        else:
            with pytest.raises(IndexError):
                self.lst[i] = v

    @rule(i=small_ints)
    def del_index(self, i: int) -> None:
        del self.lst[i]  # out of range: nothing happens (upstream's behaviour)
        if -len(self.model) <= i < len(self.model):
            del self.model[i]

    @rule(v=texts)
    def del_value(self, v: str) -> None:
        del self.lst[v]
        self.model = [x for x in self.model if x != enc(v)]

    @rule(a=st.none() | small_ints, b=st.none() | small_ints)
    def trim(self, a: int | None, b: int | None) -> None:
        del self.lst[a:b]
        # Upstream's trim: a negative stop is inclusive (del lst[1:-1] keeps item 1 to the end).
        if b is not None and b < 0:
            self.model = _ltrim(self.model, a or 0, b)
        else:
            self.model = self.model[a:b]

    @rule(
        a=st.none() | small_ints,
        b=st.none() | small_ints,
        step=st.sampled_from([None, 1, 2, -1, -3]),
    )
    def read_slice(self, a: int | None, b: int | None, step: int | None) -> None:
        assert self.lst[a:b:step] == self.model[a:b:step]

    @rule(i=small_ints)
    def read_index(self, i: int) -> None:
        if -len(self.model) <= i < len(self.model):
            assert self.lst[i] == self.model[i]
        else:
            assert self.lst[i] is None  # LINDEX's reply, as upstream

    @rule(v=texts, pivot=texts, after=st.booleans())
    def insert(self, v: str, pivot: str, after: bool) -> None:
        method = self.lst.insert_after if after else self.lst.insert_before
        result = method(v, pivot)
        if enc(pivot) in self.model:
            pos = self.model.index(enc(pivot)) + (1 if after else 0)
            self.model.insert(pos, enc(v))
            assert result == len(self.model)
        else:
            assert result == (-1 if self.model else 0)  # LINSERT: 0 when the key is missing

    @invariant()
    def same(self) -> None:
        assert self.lst.as_list() == self.model
        assert len(self.lst) == len(self.model)


class SetMachine(Base):
    def __init__(self) -> None:
        super().__init__()
        self.s = self.db.Set("s")
        self.other = self.db.Set("o")
        self.model: set[bytes] = set()
        self.other_model: set[bytes] = set()

    @rule(vs=st.lists(texts, max_size=4))
    def add(self, vs: list[str]) -> None:
        new = {enc(v) for v in vs} - self.model
        assert self.s.add(*vs) == len(new)
        self.model |= new

    @rule(vs=st.lists(texts, max_size=4))
    def add_other(self, vs: list[str]) -> None:
        self.other.add(*vs)
        self.other_model |= {enc(v) for v in vs}

    @rule(vs=st.lists(texts, max_size=3))
    def remove(self, vs: list[str]) -> None:
        gone = {enc(v) for v in vs} & self.model
        assert self.s.remove(*vs) == len(gone)
        self.model -= gone

    @rule()
    def pop(self) -> None:
        popped = self.s.pop()
        if self.model:
            assert popped in self.model
            self.model.discard(popped)
        else:
            assert popped is None

    @rule(op=st.sampled_from(["and", "or", "sub", "iand", "ior", "isub"]))
    def algebra(self, op: str) -> None:
        if op == "and":
            assert self.s & self.other == self.model & self.other_model
        elif op == "or":
            assert self.s | self.other == self.model | self.other_model
        elif op == "sub":
            assert self.s - self.other == self.model - self.other_model
        elif op == "iand":
            self.s &= self.other
            self.model &= self.other_model
        elif op == "ior":
            self.s |= self.other
            self.model |= self.other_model
        else:
            self.s -= self.other
            self.model -= self.other_model

    @rule(v=texts)
    def contains(self, v: str) -> None:
        assert (v in self.s) == (enc(v) in self.model)

    @invariant()
    def same(self) -> None:
        assert self.s.members() == self.model
        assert set(self.s) == self.model
        assert len(self.s) == len(self.model)


class ZSetMachine(Base):
    def __init__(self) -> None:
        super().__init__()
        self.zs = self.db.ZSet("z")
        self.model: dict[bytes, float] = {}

    def ordered(self) -> list[tuple[bytes, float]]:
        return sorted(self.model.items(), key=lambda kv: (kv[1], kv[0]))

    @rule(data=st.dictionaries(texts, scores, max_size=4), as_kwargs=st.booleans())
    def add(self, data: dict[str, float], as_kwargs: bool) -> None:
        copy = dict(data)
        new = len({enc(k) for k in data} - set(self.model))
        if as_kwargs:
            assert self.zs.add(**data) == new
        else:
            assert self.zs.add(data) == new
        assert data == copy
        self.model.update({enc(k): float(v) for k, v in data.items()})

    @rule(k=texts, by=scores)
    def incr(self, k: str, by: float) -> None:
        expected = self.model.get(enc(k), 0.0) + by
        assert self.zs.incr(k, by) == expected
        self.model[enc(k)] = expected

    @rule(k=texts)
    def remove(self, k: str) -> None:
        del self.zs[k]
        self.model.pop(enc(k), None)

    @rule(n=st.integers(min_value=1, max_value=3), high=st.booleans(), compat=st.booleans())
    def pop(self, n: int, high: bool, compat: bool) -> None:
        ordered = self.ordered()
        expected = (ordered[::-1] if high else ordered)[:n]
        name = ("popmax" if high else "popmin") + ("_compat" if compat else "")
        assert getattr(self.zs, name)(n) == expected  # [] when empty, as upstream
        for member, _ in expected:
            del self.model[member]

    @rule(a=st.none() | small_ints, b=st.none() | small_ints, with_scores=st.booleans())
    def rank_slice(self, a: int | None, b: int | None, with_scores: bool) -> None:
        ordered = self.ordered()[a:b]
        if with_scores:
            assert self.zs[a:b, True] == ordered
        else:
            assert self.zs[a:b] == [m for m, _ in ordered]

    @precondition(lambda self: len(self.model) >= 1)
    @rule(data=st.data())
    def member_slice(self, data: Any) -> None:
        members = [m for m, _ in self.ordered()]
        lo = data.draw(st.sampled_from(members))
        hi = data.draw(st.sampled_from(members))
        i, j = members.index(lo), members.index(hi)
        assert self.zs[lo:hi] == members[i : j + 1]
        assert self.zs[:hi, True] == self.ordered()[: j + 1]

    @rule(lo=scores, hi=scores, desc=st.booleans())
    def score_range(self, lo: float, hi: float, desc: bool) -> None:
        low, high = min(lo, hi), max(lo, hi)
        expected = [(m, s) for m, s in self.ordered() if low <= s <= high]
        if desc:
            expected.reverse()
        assert self.zs.range_by_score(lo, hi, with_scores=True, reverse=desc) == expected
        assert self.zs.count(low, high) == len(expected)

    @rule(a=small_ints, b=small_ints, desc=st.booleans())
    def rank_range(self, a: int, b: int, desc: bool) -> None:
        ordered = self.ordered()
        if desc:
            ordered.reverse()
        n = len(ordered)
        start, stop = max(a + n if a < 0 else a, 0), (b + n if b < 0 else b)
        expected = ordered[start : stop + 1] if start <= stop else []
        assert self.zs.range(a, b, with_scores=True, desc=desc) == expected

    @rule(a=small_ints, b=small_ints)
    def remove_by_rank(self, a: int, b: int) -> None:
        ordered = self.ordered()
        n = len(ordered)
        start, stop = (a + n if a < 0 else a), (b + n if b < 0 else b)
        start = max(start, 0)
        gone = ordered[start : stop + 1] if start <= stop else []
        assert self.zs.remove_by_rank(a, b) == len(gone)
        for member, _ in gone:
            del self.model[member]

    @rule(k=texts)
    def lookups(self, k: str) -> None:
        member = enc(k)
        assert self.zs.score(k) == self.model.get(member)
        assert (k in self.zs) == (member in self.model)
        members = [m for m, _ in self.ordered()]
        assert self.zs.rank(k) == (members.index(member) if member in self.model else None)

    @invariant()
    def same(self) -> None:
        assert self.zs.as_items() == self.ordered()
        assert len(self.zs) == len(self.model)


class ArrayMachine(Base):
    def __init__(self) -> None:
        super().__init__()
        self.arr = self.db.Array("a")
        self.model: list[bytes] = []

    @rule(v=texts)
    def append(self, v: str) -> None:
        self.arr.append(v)
        self.model.append(enc(v))

    @rule(vs=st.lists(st.one_of(texts, small_ints), max_size=8))
    def extend(self, vs: list[Any]) -> None:
        self.arr.extend(vs)
        self.model.extend(enc(v) for v in vs)

    @rule(i=st.none() | st.integers(min_value=-14, max_value=14))
    def pop(self, i: int | None) -> None:
        index = -1 if i is None else i
        if -len(self.model) <= index < len(self.model):
            assert self.arr.pop(i) == self.model.pop(index)
        else:
            with pytest.raises(IndexError):
                self.arr.pop(i)

    @rule(i=st.integers(min_value=-14, max_value=14))
    def delete(self, i: int) -> None:
        if -len(self.model) <= i < len(self.model):
            del self.arr[i]
            del self.model[i]
        else:
            with pytest.raises(IndexError):
                del self.arr[i]

    @rule(i=st.integers(min_value=-14, max_value=14), v=texts)
    def set_item(self, i: int, v: str) -> None:
        if -len(self.model) <= i < len(self.model):
            self.arr[i] = v
            self.model[i] = enc(v)
        else:
            with pytest.raises(IndexError):
                self.arr[i] = v

    @rule(i=st.integers(min_value=-14, max_value=14))
    def get_item(self, i: int) -> None:
        if -len(self.model) <= i < len(self.model):
            assert self.arr[i] == self.model[i]
        else:
            assert self.arr[i] is None  # upstream's "invalid indices return None"

    @rule(
        a=st.none() | small_ints,
        b=st.none() | st.integers(-14, 14),
        step=st.sampled_from([None, 2, -1]),
    )
    def read_slice(self, a: int | None, b: int | None, step: int | None) -> None:
        assert self.arr[a:b:step] == self.model[a:b:step]

    @rule(v=texts)
    def contains(self, v: str) -> None:
        assert (v in self.arr) == (enc(v) in self.model)

    @invariant()
    def same(self) -> None:
        assert self.arr.as_list() == self.model
        assert len(self.arr) == len(self.model)


MACHINES = [HashMachine, ListMachine, SetMachine, ZSetMachine, ArrayMachine]


@pytest.mark.parametrize("machine", MACHINES, ids=[m.__name__ for m in MACHINES])
def test_container_matches_python_type(database: Database, machine: type[Base]) -> None:
    machine.db = database
    run_state_machine_as_test(machine, settings=SETTINGS)
