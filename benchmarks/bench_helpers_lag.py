"""Lock, Counter, Autocomplete and Graph: walrus-suite beside raw redis-py and upstream walrus.

Run: ``.venv/bin/python -m benchmarks.bench_helpers_lag`` (add ``--print-only`` to leave
``benchmarks/RESULTS.md`` alone). Each implementation works on its own keys of the same
throwaway server. The raw redis-py column sends the commands a hand-written version would
(SET NX PX, BLPOP on the wake-up list when held, and the same release Lua for the lock;
INCRBY / GET for the counter; one MULTI/EXEC of HSETs and ZADDs to store a title; ZRANGE or
ZINTER then HMGET to search; ZADD / ZRANGEBYLEX for the graph), with the tokenizing done in
Python beforehand, so it is the floor.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable
from typing import Any

import redis

from benchmarks.harness import Result, bench_server, measure, table, upstream_results, write_section
from walrus import Database
from walrus.autocomplete import Autocomplete
from walrus.scripts import load_script_source

__all__ = ["main"]

NUMBER = 1000
SEARCHES = 300
ROUNDS = 2

# Shared by every side. The "store (new)" case writes titles outside the vocabulary, so
# the objects it adds do not change what the search cases find. (exec'd here, sent as text
# to the upstream subprocess).
SETUP = '''
import random

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "zu", "pe", "do", "fi", "gu"]
VOCAB = [a + b + c for a in SYLLABLES for b in SYLLABLES for c in ("n", "r", "s")]
TITLES = 1000


def make_titles():
    rng = random.Random(99)
    return [" ".join(rng.choice(VOCAB) for _ in range(3)) for _ in range(TITLES)]


TRIPLES = [("user%d" % i, "follows", "user%d" % ((i * 7) % 500)) for i in range(500)]
TRIPLES += [("user%d" % i, "lives", "city%d" % (i % 20)) for i in range(500)]


class PingPong:
    """Two threads hand one lock back and forth: each call is two handoffs. The taker
    calls the blocking acquire() while the holder still holds the lock, and the holder
    releases as soon as the taker has started: the taker gets the lock from its retry or
    from the wake-up BLPOP. Round trips of both threads are counted."""

    def __init__(self, mine, theirs):
        import threading

        self.mine, self.theirs = mine, theirs
        self.go, self.waiting, self.taken = threading.Event(), threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._other, daemon=True)

    def _start(self):
        # On first use, not at setup: the lock's ttl must not run out before the timing.
        self.mine.acquire()
        self.thread.start()

    def _other(self):
        while True:
            self.go.wait()
            self.go.clear()
            self.waiting.set()
            self.theirs.acquire()  # held by the main thread until it sees `waiting`
            self.taken.set()
            self.waiting.wait()  # the main thread is taking it back
            self.waiting.clear()
            self.theirs.release()

    def __call__(self):
        if not self.thread.is_alive():
            self._start()
        self.go.set()
        self.waiting.wait()
        self.waiting.clear()
        self.mine.release()  # hand over to the waiting thread
        self.taken.wait()
        self.taken.clear()
        self.waiting.set()
        self.mine.acquire()  # blocks until the other thread releases
'''

UPSTREAM_CODE = (
    SETUP
    + f"""
import itertools
NUMBER = {NUMBER}
SEARCHES = {SEARCHES}


def cases(db):
    lock = db.lock("up-lock", ttl=10000)
    held = db.lock("up-held", ttl=100000)
    held.acquire()
    other = db.lock("up-held", ttl=100000)
    pingpong = PingPong(db.lock("up-pp", ttl=10000), db.lock("up-pp", ttl=10000))
    counter = db.counter("up-counter")
    ac = db.autocomplete("up")
    titles = make_titles()
    for i, title in enumerate(titles):
        ac.store(i, title, {{"id": i}})
    ids = itertools.count(100000)
    g = db.graph("up-graph")
    g.store_many(TRIPLES)
    X = g.v.X
    def acquire_release():
        lock.acquire()
        lock.release()
    return [
        ("lock acquire + release (free)", acquire_release, NUMBER),
        ("lock acquire, non-blocking (held)", lambda: other.acquire(block=False), NUMBER),
        ("lock ping-pong, 2 threads (2 blocking acquires)", pingpong, SEARCHES),
        ("counter incr", counter.incr, NUMBER),
        ("counter value", counter.value, NUMBER),
        ("autocomplete store (new, 3 words)",
         lambda: ac.store(next(ids), "quorn quark quill", {{"id": 1}}), NUMBER),
        ("autocomplete store (same title)", lambda: ac.store(5, titles[5], {{"id": 5}}), NUMBER),
        ("autocomplete search 1 word, limit 10", lambda: list(ac.search("ka", limit=10)), SEARCHES),
        ("autocomplete search 2 words", lambda: list(ac.search("ka mi")), SEARCHES),
        ("autocomplete search 1 word, boosts",
         lambda: list(ac.search("kal", limit=10, boosts={{"3": 2.0}})), SEARCHES),
        ("graph store", lambda: g.store("user1", "likes", "user2"), NUMBER),
        ("graph query s", lambda: list(g.query(s="user42")), NUMBER),
        ("graph query s+o", lambda: list(g.query(s="user42", o="city2")), NUMBER),
        ("graph query p+o", lambda: list(g.query(p="lives", o="city3")), NUMBER),
        ("graph search (2 clauses, 1 var)",
         lambda: g.search({{"s": "user3", "p": "follows", "o": X}},
                          {{"s": X, "p": "lives", "o": "city1"}}),
         SEARCHES),
    ]
"""
)

Case = tuple[str, Callable[[], Any], int]


def _ours(db: Database, ns: dict[str, Any]) -> list[Case]:
    lock = db.lock("ours-lock", ttl=10000)
    db.lock("ours-held", ttl=100000).acquire()
    other = db.lock("ours-held", ttl=100000)
    pingpong = ns["PingPong"](db.lock("ours-pp", ttl=10000), db.lock("ours-pp", ttl=10000))
    counter = db.counter("ours-counter")
    ac = db.autocomplete("ours")
    titles = ns["make_titles"]()
    for i, title in enumerate(titles):
        ac.store(i, title, {"id": i})
    ids = itertools.count(100000)
    g = db.graph("ours-graph")
    g.store_many(ns["TRIPLES"])
    x = g.v.X

    def acquire_release() -> None:
        lock.acquire()
        lock.release()

    return [
        ("lock acquire + release (free)", acquire_release, NUMBER),
        ("lock acquire, non-blocking (held)", lambda: other.acquire(block=False), NUMBER),
        ("lock ping-pong, 2 threads (2 blocking acquires)", pingpong, SEARCHES),
        ("counter incr", counter.incr, NUMBER),
        ("counter value", counter.value, NUMBER),
        (
            "autocomplete store (new, 3 words)",
            lambda: ac.store(next(ids), "quorn quark quill", {"id": 1}),
            NUMBER,
        ),
        ("autocomplete store (same title)", lambda: ac.store(5, titles[5], {"id": 5}), NUMBER),
        ("autocomplete search 1 word, limit 10", lambda: ac.search("ka", limit=10), SEARCHES),
        ("autocomplete search 2 words", lambda: ac.search("ka mi"), SEARCHES),
        (
            "autocomplete search 1 word, boosts",
            lambda: ac.search("kal", limit=10, boosts={"3": 2.0}),
            SEARCHES,
        ),
        ("graph store", lambda: g.store("user1", "likes", "user2"), NUMBER),
        ("graph query s", lambda: g.query(s="user42"), NUMBER),
        ("graph query s+o", lambda: g.query(s="user42", o="city2"), NUMBER),
        ("graph query p+o", lambda: g.query(p="lives", o="city3"), NUMBER),
        (
            "graph search (2 clauses, 1 var)",
            lambda: g.search(
                {"s": "user3", "p": "follows", "o": x}, {"s": x, "p": "lives", "o": "city1"}
            ),
            SEARCHES,
        ),
    ]


def _raw(r: redis.Redis, ns: dict[str, Any], tokenizer: Autocomplete) -> list[Case]:
    """The raw redis-py side, case for case in ``_ours``'s order. Each builder writes its
    setup keys when called, so the calls keep the lock, autocomplete, graph order."""
    lock_cases = _raw_lock_cases(r, ns)
    counter_cases: list[Case] = [
        ("counter incr", lambda: r.incrby("counter:raw-counter", 1), NUMBER),
        ("counter value", lambda: int(r.get("counter:raw-counter") or 0), NUMBER),
    ]
    autocomplete_cases = _raw_autocomplete_cases(r, ns, tokenizer)
    return lock_cases + counter_cases + autocomplete_cases + _raw_graph_cases(r, ns)


def _raw_lock_cases(r: redis.Redis, ns: dict[str, Any]) -> list[Case]:
    release = r.register_script(load_script_source("lock_release") or "")
    r.set("lock:raw-held", "someone", px=100000)

    def acquire_release() -> None:
        r.set("lock:raw-lock", "token", nx=True, px=10000)
        release(keys=["lock:raw-lock", "lock.event:raw-lock"], args=["token", 10000])

    class RawLock:
        """The hand-written blocking lock: SET NX PX, else BLPOP the wake-up list and retry."""

        def __init__(self, token: str) -> None:
            self.token = token

        def acquire(self) -> None:
            while not r.set("lock:raw-pp", self.token, nx=True, px=10000):
                r.blpop(["lock.event:raw-pp"], timeout=1)

        def release(self) -> None:
            release(keys=["lock:raw-pp", "lock.event:raw-pp"], args=[self.token, 10000])

    pingpong = ns["PingPong"](RawLock("a"), RawLock("b"))
    return [
        ("lock acquire + release (free)", acquire_release, NUMBER),
        (
            "lock acquire, non-blocking (held)",
            lambda: r.set("lock:raw-held", "t", nx=True, px=100000),
            NUMBER,
        ),
        ("lock ping-pong, 2 threads (2 blocking acquires)", pingpong, SEARCHES),
    ]


def _raw_autocomplete_cases(
    r: redis.Redis, ns: dict[str, Any], tokenizer: Autocomplete
) -> list[Case]:
    def store(obj_id: Any, title: str, data: str) -> None:
        member = f"{obj_id}\x01"
        with r.pipeline(transaction=True) as pipe:
            pipe.hset("raw:d", member, data)
            pipe.hset("raw:t", member, title)
            for key, score in tokenizer._prefix_scores(title).items():
                pipe.zadd("raw" + key[len(tokenizer.namespace) :], {member: score})
            pipe.execute()

    titles = ns["make_titles"]()
    for i, title in enumerate(titles):
        store(i, title, f'{{"id": {i}}}')
    ids = itertools.count(100000)

    def search_one(prefix: str, limit: int) -> list[Any]:
        found = r.zrange(f"raw:s:{prefix}", 0, limit - 1)
        return r.hmget("raw:d", found) if found else []

    def search_two(a: str, b: str) -> list[Any]:
        found = r.zinter([f"raw:s:{a}", f"raw:s:{b}"])
        return r.hmget("raw:d", found) if found else []

    def search_boosted(prefix: str, limit: int) -> list[Any]:
        boosts = {"3": 2.0}
        rows = r.zrange(f"raw:s:{prefix}", 0, -1, withscores=True)
        scored = sorted(
            (score / boosts.get(member.split(b"\x01")[0].decode(), 1.0), member)
            for member, score in rows
        )
        found = [member for _, member in scored[:limit]]
        return r.hmget("raw:d", found) if found else []

    return [
        (
            "autocomplete store (new, 3 words)",
            lambda: store(next(ids), "quorn quark quill", '{"id": 1}'),
            NUMBER,
        ),
        ("autocomplete store (same title)", lambda: store(5, titles[5], '{"id": 5}'), NUMBER),
        ("autocomplete search 1 word, limit 10", lambda: search_one("ka", 10), SEARCHES),
        ("autocomplete search 2 words", lambda: search_two("ka", "mi"), SEARCHES),
        ("autocomplete search 1 word, boosts", lambda: search_boosted("kal", 10), SEARCHES),
    ]


def _raw_graph_cases(r: redis.Redis, ns: dict[str, Any]) -> list[Case]:
    def graph_members(s: str, p: str, o: str) -> dict[str, int]:
        parts = {"s": s, "p": p, "o": o}
        return {
            "::".join([order, *(parts[c] for c in order)]): 0 for order in ("spo", "pos", "osp")
        }

    def graph_range(order: str, *known: str) -> list[Any]:
        prefix = "::".join([order, *known, ""]).encode()
        return r.zrangebylex("raw-graph", b"[" + prefix, b"(" + prefix + b"\xff")

    mapping: dict[str, int] = {}
    for triple in ns["TRIPLES"]:
        mapping.update(graph_members(*triple))
    r.zadd("raw-graph", mapping)

    def graph_search() -> set[str]:
        with r.pipeline(transaction=False) as pipe:
            for order, known in (("spo", ("user3", "follows")), ("pos", ("lives", "city1"))):
                prefix = "::".join([order, *known, ""]).encode()
                pipe.zrangebylex("raw-graph", b"[" + prefix, b"(" + prefix + b"\xff")
            first, second = pipe.execute()
        followed = {m.split(b"::")[3] for m in first}
        return {m.split(b"::")[3].decode() for m in second if m.split(b"::")[3] in followed}

    return [
        (
            "graph store",
            lambda: r.zadd("raw-graph", graph_members("user1", "likes", "user2")),
            NUMBER,
        ),
        ("graph query s", lambda: graph_range("spo", "user42"), NUMBER),
        ("graph query s+o", lambda: graph_range("osp", "city2", "user42"), NUMBER),
        ("graph query p+o", lambda: graph_range("pos", "lives", "city3"), NUMBER),
        ("graph search (2 clauses, 1 var)", graph_search, SEARCHES),
    ]


def _best(old: Result | None, new: Result) -> Result:
    return new if old is None or new.ops_per_sec > old.ops_per_sec else old


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    ns: dict[str, Any] = {}
    exec(SETUP, ns)  # noqa: S102 - our own constant code, shared with the upstream run
    with bench_server() as url:
        db = Database.from_url(url)
        raw = redis.Redis.from_url(url)
        db.flushdb()
        ours_cases = _ours(db, ns)
        raw_cases = _raw(raw, ns, db.autocomplete("ours"))
        measure("warm-up", raw.ping, number=3000)
        ours: dict[str, Result] = {}
        raws: dict[str, Result] = {}
        for (label, fn, number), (raw_label, raw_fn, raw_number) in zip(
            ours_cases, raw_cases, strict=True
        ):
            assert label == raw_label, (label, raw_label)
            for _ in range(ROUNDS):
                raws[label] = _best(raws.get(label), measure(label, raw_fn, number=raw_number))
                ours[label] = _best(ours.get(label), measure(label, fn, number=number))
        try:
            upstream = upstream_results(UPSTREAM_CODE, url)
        except Exception as exc:  # the upstream install needs network access
            print(f"upstream walrus not measured: {exc}")
            upstream = {}
        rows = [(label, ours[label], raws.get(label), upstream.get(label)) for label in ours]
        db.close()
        raw.close()
    note = (
        "\n\n1000 titles of 3 words from a 507-word vocabulary; 1000 graph triples (both "
        "graphs in upstream's layout: 3 members per triple). "
        "Lock ping-pong: two threads hand one lock back and forth, each taking it with a "
        "blocking acquire() started while the other still holds it; an op is two handoffs "
        "and its round trips are both threads' (they vary with which of the retry or the "
        "wake-up BLPOP gets the lock). Upstream's release pushes a wake-up token every time "
        "and never trims the list, so its waiters also pop stale tokens. "
        "Our autocomplete search is one Lua script (intersection, boosts, ordering, data); "
        "the raw column needs 2 round trips (range, then HMGET) and upstream about 7 plus a "
        "cache key write. Upstream's `query(s, o)` reads the wrong index (it returns other "
        "triples), so its s+o row times a wrong answer."
    )
    markdown = table(rows) + note
    if "--print-only" in args:
        print(markdown)
        return
    write_section(
        "Lock, Counter, Autocomplete, Graph",
        markdown,
        command=".venv/bin/python -m benchmarks.bench_helpers_lag",
    )


if __name__ == "__main__":
    main()
