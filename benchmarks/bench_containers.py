"""Container operations: walrus-suite beside raw redis-py and upstream walrus.

Run: ``.venv/bin/python -m benchmarks.bench_containers``. Each implementation works on its
own keys of the same throwaway server; the raw redis-py column sends the same commands
(the same Lua for Array and ZSet member slices, the same MULTI/EXEC for ``del lst[i]``)
without any wrapper, so it is the floor. Operations whose time is above ``TARGET`` x raw in
the first pass are measured again (more alternating rounds) and both figures are reported.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

import redis

from benchmarks.harness import Result, bench_server, measure, table, upstream_results, write_section
from walrus import Array, Database, Hash, List, Set, ZSet
from walrus.scripts import load_script_source

__all__ = ["main"]

NUMBER = 1000
# Alternating rounds of raw and ours, best kept: a loaded 2-core box drifts between runs.
ROUNDS = 2
# Rounds for the second look at an operation above TARGET.
RECHECK_ROUNDS = 4
# Issue 2's target: every container operation within 1.1x of raw redis-py time.
TARGET = 1.10
# Enough items that the pops of warm-up + every timed pass (first look and re-check) never
# empty a container: (20 + 1 + 3 * NUMBER) * (ROUNDS + RECHECK_ROUNDS) < PREFILL.
PREFILL = 20000
FIELDS = {f"field{i}": f"value{i}" for i in range(20)}
UPDATE = {f"u{i}": i for i in range(10)}
MEMBERS = [f"member{i}" for i in range(50)]
OTHER_MEMBERS = [f"member{i}" for i in range(25, 75)]  # half shared with MEMBERS
SCORES = {f"m{i}": i for i in range(100)}
LEX = {f"w{i:03d}": 0 for i in range(100)}
ITEMS = [f"item{i}" for i in range(PREFILL)]

Case = tuple[str, Callable[[], Any]]


def _ours(db: Database) -> list[Case]:
    h = Hash.from_dict(db, "ours:h", FIELDS)
    lst = List.from_list(db, "ours:l", ITEMS)
    lst_del, lst_b = List.from_list(db, "ours:ld", ITEMS), List.from_list(db, "ours:lb", ITEMS)
    lst_i = List.from_list(db, "ours:li", ["pivot"])
    s, s2 = Set.from_set(db, "ours:s", MEMBERS), Set.from_set(db, "ours:s2", OTHER_MEMBERS)
    s_pop = Set.from_set(db, "ours:sp", ITEMS)
    zs, zl = ZSet.from_dict(db, "ours:z", SCORES), ZSet.from_dict(db, "ours:zl", LEX)
    zmin = ZSet.from_dict(db, "ours:zmin", dict.fromkeys(ITEMS, 1))
    zmax = ZSet.from_dict(db, "ours:zmax", dict.fromkeys(ITEMS, 1))
    arr = Array.from_list(db, "ours:a", ITEMS)
    arr_del = Array.from_list(db, "ours:ad", ITEMS)
    arr_small = Array.from_list(db, "ours:as", ITEMS[:100])
    hll, hll2 = db.HyperLogLog("ours:hll"), db.HyperLogLog("ours:hll2")
    hll.add(*MEMBERS)
    hll2.add(*OTHER_MEMBERS)
    grow_l, grow_a = db.List("ours:l2"), db.Array("ours:a2")

    def set_array() -> None:
        arr_small[5] = "x"

    def del_list() -> None:
        del lst_del[5]

    def del_array() -> None:
        del arr_del[-2]

    return [
        ("hash set", lambda: h.__setitem__("field1", "x")),
        ("hash get", lambda: h["field1"]),
        ("hash update (10 fields)", lambda: h.update(UPDATE)),
        ("hash as_dict (30 fields)", lambda: h.as_dict()),
        ("hash incr", lambda: h.incr("counter")),
        ("hash keys (31 fields)", lambda: h.keys()),
        ("hash items (31 fields)", lambda: h.items()),
        ("list append", lambda: grow_l.append("x")),
        ("list getitem", lambda: lst[5]),
        ("list slice [0:10]", lambda: lst[0:10]),
        ("list popright", lambda: lst.popright()),
        ("list insert_after", lambda: lst_i.insert_after("x", "pivot")),
        ("list del [i]", del_list),
        ("list bpopleft (data present)", lambda: lst_b.bpopleft(1)),
        ("set add", lambda: s.add("member1")),
        ("set contains", lambda: "member7" in s),
        ("set members (50)", lambda: s.members()),
        ("set union operator (50, 50)", lambda: s | s2),
        ("set intersection operator (50, 50)", lambda: s & s2),
        ("set difference operator (50, 50)", lambda: s - s2),
        ("set unionstore", lambda: s.unionstore("ours:su", s2)),
        ("set interstore", lambda: s.interstore("ours:si", s2)),
        ("set diffstore", lambda: s.diffstore("ours:sd", s2)),
        ("set pop", lambda: s_pop.pop()),
        ("set random", lambda: s.random()),
        ("zset add", lambda: zs.add({"m5": 5})),
        ("zset score", lambda: zs.score("m5")),
        ("zset [:10] with scores", lambda: zs[:10, True]),
        ("zset rank", lambda: zs.rank("m50")),
        ("zset range (ranks 0..9)", lambda: zs.range(0, 9)),
        ("zset range_by_score (11)", lambda: zs.range_by_score(10, 20)),
        ("zset member slice (11)", lambda: zs["m10":"m20"]),
        ("zset range_by_lex (11)", lambda: zl.range_by_lex("[w010", "[w020")),
        ("zset incr", lambda: zs.incr("m99", 1)),
        ("zset popmin", lambda: zmin.popmin()),
        ("zset popmax", lambda: zmax.popmax()),
        ("array append", lambda: grow_a.append("x")),
        ("array getitem", lambda: arr[5]),
        ("array pop", lambda: arr.pop()),
        ("array setitem", set_array),
        ("array del [-2]", del_array),
        ("array contains (100 items)", lambda: "item50" in arr_small),
        ("hll add", lambda: hll.add("member1")),
        ("hll len", lambda: len(hll)),
        ("hll count (2 keys)", lambda: hll.count(hll2)),
        ("hll merge (2 keys)", lambda: hll.merge("ours:hllm", hll2)),
    ]


def _raw(r: redis.Redis) -> list[Case]:
    r.hset("raw:h", mapping=FIELDS)
    for key in ("raw:l", "raw:ld", "raw:lb"):
        r.rpush(key, *ITEMS)
    r.rpush("raw:li", "pivot")
    r.sadd("raw:s", *MEMBERS)
    r.sadd("raw:s2", *OTHER_MEMBERS)
    r.sadd("raw:sp", *ITEMS)
    r.zadd("raw:z", SCORES)
    r.zadd("raw:zl", LEX)
    r.zadd("raw:zmin", dict.fromkeys(ITEMS, 1))
    r.zadd("raw:zmax", dict.fromkeys(ITEMS, 1))
    r.pfadd("raw:hll", *MEMBERS)
    r.pfadd("raw:hll2", *OTHER_MEMBERS)
    script = {
        name: r.register_script(load_script_source(name) or "")
        for name in (
            "array_extend",
            "array_pop",
            "array_set",
            "array_contains",
            "zset_range_by_member",
        )
    }
    for key, items in (("raw:a", ITEMS), ("raw:ad", ITEMS), ("raw:as", ITEMS[:100])):
        script["array_extend"](keys=[key], args=["0", *items])

    def del_list() -> None:
        # What ``del lst[i]`` has to send: mark the item with a unique value, remove that.
        marker = b"\x00del:" + os.urandom(12)
        pipe = r.pipeline(transaction=True)
        pipe.lset("raw:ld", 5, marker)
        pipe.lrem("raw:ld", 1, marker)
        pipe.execute()

    return [
        ("hash set", lambda: r.hset("raw:h", "field1", "x")),
        ("hash get", lambda: r.hget("raw:h", "field1")),
        ("hash update (10 fields)", lambda: r.hset("raw:h", mapping=UPDATE)),
        ("hash as_dict (30 fields)", lambda: r.hgetall("raw:h")),
        ("hash incr", lambda: r.hincrby("raw:h", "counter", 1)),
        ("hash keys (31 fields)", lambda: r.hkeys("raw:h")),
        ("hash items (31 fields)", lambda: r.hgetall("raw:h")),
        ("list append", lambda: r.rpush("raw:l2", "x")),
        ("list getitem", lambda: r.lindex("raw:l", 5)),
        ("list slice [0:10]", lambda: r.lrange("raw:l", 0, 9)),
        ("list popright", lambda: r.rpop("raw:l")),
        ("list insert_after", lambda: r.linsert("raw:li", "AFTER", "pivot", "x")),
        ("list del [i]", del_list),
        ("list bpopleft (data present)", lambda: r.blpop(["raw:lb"], 1)),
        ("set add", lambda: r.sadd("raw:s", "member1")),
        ("set contains", lambda: r.sismember("raw:s", "member7")),
        ("set members (50)", lambda: r.smembers("raw:s")),
        ("set union operator (50, 50)", lambda: r.sunion("raw:s", "raw:s2")),
        ("set intersection operator (50, 50)", lambda: r.sinter("raw:s", "raw:s2")),
        ("set difference operator (50, 50)", lambda: r.sdiff("raw:s", "raw:s2")),
        ("set unionstore", lambda: r.sunionstore("raw:su", "raw:s", "raw:s2")),
        ("set interstore", lambda: r.sinterstore("raw:si", "raw:s", "raw:s2")),
        ("set diffstore", lambda: r.sdiffstore("raw:sd", "raw:s", "raw:s2")),
        ("set pop", lambda: r.spop("raw:sp")),
        ("set random", lambda: r.srandmember("raw:s")),
        ("zset add", lambda: r.zadd("raw:z", {"m5": 5})),
        ("zset score", lambda: r.zscore("raw:z", "m5")),
        ("zset [:10] with scores", lambda: r.zrange("raw:z", 0, 9, withscores=True)),
        ("zset rank", lambda: r.zrank("raw:z", "m50")),
        ("zset range (ranks 0..9)", lambda: r.zrange("raw:z", 0, 9)),
        ("zset range_by_score (11)", lambda: r.zrangebyscore("raw:z", 10, 20)),
        (
            "zset member slice (11)",
            lambda: script["zset_range_by_member"](
                keys=["raw:z"], args=["get", "m", "m10", "m", "m20"]
            ),
        ),
        ("zset range_by_lex (11)", lambda: r.zrangebylex("raw:zl", "[w010", "[w020")),
        ("zset incr", lambda: r.zincrby("raw:z", 1, "m99")),
        ("zset popmin", lambda: r.zpopmin("raw:zmin", 1)),
        ("zset popmax", lambda: r.zpopmax("raw:zmax", 1)),
        ("array append", lambda: script["array_extend"](keys=["raw:a2"], args=["0", "x"])),
        ("array getitem", lambda: r.hget("raw:a", 5)),
        ("array pop", lambda: script["array_pop"](keys=["raw:a"], args=[-1])),
        ("array setitem", lambda: script["array_set"](keys=["raw:as"], args=[5, "x"])),
        ("array del [-2]", lambda: script["array_pop"](keys=["raw:ad"], args=[-2])),
        (
            "array contains (100 items)",
            lambda: script["array_contains"](keys=["raw:as"], args=["item50"]),
        ),
        ("hll add", lambda: r.pfadd("raw:hll", "member1")),
        ("hll len", lambda: r.pfcount("raw:hll")),
        ("hll count (2 keys)", lambda: r.pfcount("raw:hll", "raw:hll2")),
        ("hll merge (2 keys)", lambda: r.pfmerge("raw:hllm", "raw:hll", "raw:hll2")),
    ]


# Upstream walrus 0.9.8 where it has the same operation with the same meaning (not: del
# lst[i], which upstream did by value; array del with a negative index).
UPSTREAM_CODE = f"""
NUMBER = {NUMBER}
PREFILL = {PREFILL}
FIELDS = {FIELDS!r}
UPDATE = {UPDATE!r}
MEMBERS = {MEMBERS!r}
OTHER_MEMBERS = {OTHER_MEMBERS!r}
SCORES = {SCORES!r}
LEX = {LEX!r}
ITEMS = ["item%d" % i for i in range(PREFILL)]

def cases(db):
    h = db.Hash("up:h"); h.update(FIELDS)
    lst = db.List("up:l"); lst.extend(ITEMS)
    lst_b = db.List("up:lb"); lst_b.extend(ITEMS)
    lst_i = db.List("up:li"); lst_i.append("pivot")
    s = db.Set("up:s"); s.add(*MEMBERS)
    s2 = db.Set("up:s2"); s2.add(*OTHER_MEMBERS)
    s_pop = db.Set("up:sp"); s_pop.add(*ITEMS)
    zs = db.ZSet("up:z"); zs.add(dict(SCORES))
    zl = db.ZSet("up:zl"); zl.add(dict(LEX))
    zmin = db.ZSet("up:zmin"); zmin.add(dict.fromkeys(ITEMS, 1))
    zmax = db.ZSet("up:zmax"); zmax.add(dict.fromkeys(ITEMS, 1))
    arr = db.Array("up:a"); arr.extend(ITEMS)
    arr_small = db.Array("up:as"); arr_small.extend(ITEMS[:100])
    hll = db.HyperLogLog("up:hll"); hll.add(*MEMBERS)
    hll2 = db.HyperLogLog("up:hll2"); hll2.add(*OTHER_MEMBERS)
    grow_l, grow_a = db.List("up:l2"), db.Array("up:a2")

    def set_array():
        arr_small[5] = "x"

    cases = [
        ("hash set", lambda: h.__setitem__("field1", "x")),
        ("hash get", lambda: h["field1"]),
        ("hash update (10 fields)", lambda: h.update(UPDATE)),
        ("hash as_dict (30 fields)", lambda: h.as_dict()),
        ("hash incr", lambda: h.incr("counter")),
        ("hash keys (31 fields)", lambda: h.keys()),
        ("hash items (31 fields)", lambda: h.items()),
        ("list append", lambda: grow_l.append("x")),
        ("list getitem", lambda: lst[5]),
        ("list slice [0:10]", lambda: lst[0:10]),
        ("list popright", lambda: lst.popright()),
        ("list insert_after", lambda: lst_i.insert_after("x", "pivot")),
        ("list bpopleft (data present)", lambda: lst_b.bpopleft(1)),
        ("set add", lambda: s.add("member1")),
        ("set contains", lambda: "member7" in s),
        ("set members (50)", lambda: s.members()),
        ("set union operator (50, 50)", lambda: s | s2),
        ("set intersection operator (50, 50)", lambda: s & s2),
        ("set difference operator (50, 50)", lambda: s - s2),
        ("set unionstore", lambda: s.unionstore("up:su", s2)),
        ("set interstore", lambda: s.interstore("up:si", s2)),
        ("set diffstore", lambda: s.diffstore("up:sd", s2)),
        ("set pop", lambda: s_pop.pop()),
        ("set random", lambda: s.random()),
        ("zset add", lambda: zs.add({{"m5": 5}})),
        ("zset score", lambda: zs.score("m5")),
        ("zset [:10] with scores", lambda: zs[:10, True]),
        ("zset rank", lambda: zs.rank("m50")),
        ("zset range (ranks 0..9)", lambda: zs.range(0, 9)),
        ("zset range_by_score (11)", lambda: zs.range_by_score(10, 20)),
        ("zset member slice (11)", lambda: zs["m10":"m20"]),
        ("zset range_by_lex (11)", lambda: zl.range_by_lex("[w010", "[w020")),
        ("zset incr", lambda: zs.incr("m99", 1)),
        ("zset popmin", lambda: zmin.popmin()),
        ("zset popmax", lambda: zmax.popmax()),
        ("array append", lambda: grow_a.append("x")),
        ("array getitem", lambda: arr[5]),
        ("array pop", lambda: arr.pop()),
        ("array setitem", set_array),
        ("array contains (100 items)", lambda: "item50" in arr_small),
        ("hll add", lambda: hll.add("member1")),
        ("hll len", lambda: len(hll)),
        ("hll merge (2 keys)", lambda: hll.merge("up:hllm", hll2)),
    ]
    return [(label, fn, NUMBER) for label, fn in cases]
"""


# What an operation does in Python beyond the raw redis-py call (quoted for rows that stay
# above TARGET; about 1 µs each, against 20-40 µs per operation on this VM).
DEFAULT_WHY = "argument checks before sending and a WRONGTYPE guard"
WHY = {
    "zset add": "checks every member and score (bools and NaN are refused before sending)",
    "zset [:10] with scores": "unpacks `[slice, with_scores]` and checks the bounds",
    "zset member slice (11)": (
        "checks both member bounds, looks up the script, turns -1/-2 into KeyError"
    ),
    "hll merge (2 keys)": "checks dest and each other key and returns a HyperLogLog for dest",
    "list del [i]": "builds a random marker and checks the reply for an out-of-range index",
    "list bpopleft (data present)": "takes the value out of BLPOP's (key, value) reply",
    "hash update (10 fields)": (
        "copies the mapping (the caller's dict is never touched) and checks each value"
    ),
}


def _best(old: Result | None, new: Result) -> Result:
    return new if old is None or new.ops_per_sec > old.ops_per_sec else old


def _ratio(ours: Result, raw: Result) -> float:
    return raw.ops_per_sec / ours.ops_per_sec


def _alternate(
    ours_fn: Callable[[], Any], raw_fn: Callable[[], Any], label: str, rounds: int
) -> tuple[Result, Result]:
    """Best of ``rounds`` alternating raw/ours measurements, so drift in machine load hits
    both alike."""
    ours: Result | None = None
    raw: Result | None = None
    for _ in range(rounds):
        raw = _best(raw, measure(label, raw_fn, number=NUMBER))
        ours = _best(ours, measure(label, ours_fn, number=NUMBER))
    assert ours is not None and raw is not None
    return ours, raw


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def _notes(
    first: dict[str, float],
    ours: dict[str, Result],
    raws: dict[str, Result],
    load: tuple[float, float],
) -> str:
    lines = [
        "Every operation costs the same round trips as its raw redis-py form. Target: time "
        f"within {TARGET:.2f}x of raw redis-py. Each row is the best of {ROUNDS} alternating "
        f"raw/ours rounds of 3 x {NUMBER} calls. The set operator rows are `s | t`, `s & t` "
        "and `s - t` (SUNION / SINTER / SDIFF into a Python set). 1-minute load average of "
        f"the machine at the start and end of this run: {load[0]:.1f} / {load[1]:.1f} "
        f"({os.cpu_count()} CPUs); anything above 1 means other jobs shared the CPUs, which "
        "lowers every ops/s figure and widens the spread of the ratios. Upstream walrus runs "
        "in its own process after the other two columns, not alternating with ours, so under "
        "a changing load its time ratio is not comparable the way the raw one is; its round "
        "trips are."
    ]
    if not first:
        lines.append(f"No operation was above {TARGET:.2f}x.")
        return "\n\n".join(lines)
    again = {label: _ratio(ours[label], raws[label]) for label in first}
    rechecked = ", ".join(f"{label} {first[label]:.2f}x -> {again[label]:.2f}x" for label in first)
    lines.append(
        f"Above {TARGET:.2f}x in the first pass, so measured again ({RECHECK_ROUNDS} more "
        f"alternating rounds; the rows show the re-check): {rechecked}."
    )
    still = [label for label in first if again[label] > TARGET]
    if still:
        # How far the same operation moved between two measurements of this one run: the
        # noise floor a remaining excess has to be read against.
        spread = max(abs(first[label] - again[label]) for label in first)
        excess = max(again[label] - 1 for label in still)
        verdict = (
            "within the noise of this measurement"
            if excess < spread
            else "larger than that noise, so worth a look"
        )
        lines.append(
            f"Still above {TARGET:.2f}x after the re-check: {', '.join(still)}. Between the "
            f"two passes of this run, re-checked rows moved by up to {spread:.2f}x with no "
            f"code change; the largest remaining excess over raw ({excess:.2f}x) is {verdict}. "
            "Python work these do beyond the raw redis-py call: "
            + "; ".join(f"{label}: {WHY.get(label, DEFAULT_WHY)}" for label in still)
            + "."
        )
    return "\n\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-upstream", action="store_true", help="skip upstream walrus")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    args = parser.parse_args(argv)
    load_start = _load()
    with bench_server() as url:
        db = Database.from_url(url)
        raw = redis.Redis.from_url(url)
        db.flushdb()
        ours_cases, raw_cases = dict(_ours(db)), dict(_raw(raw))
        assert list(ours_cases) == list(raw_cases), "ours and raw cases must match"
        # The first timed loop after the bulk setup ran up to 4x faster than any later
        # one (raw or ours); a throwaway loop keeps that artefact out of the first row.
        measure("warm-up", raw.ping, number=3000)
        ours: dict[str, Result] = {}
        raws: dict[str, Result] = {}
        for label, fn in ours_cases.items():
            ours[label], raws[label] = _alternate(fn, raw_cases[label], label, ROUNDS)
        first = {
            label: _ratio(ours[label], raws[label])
            for label in ours
            if _ratio(ours[label], raws[label]) > TARGET
        }
        for label in first:
            ours[label], raws[label] = _alternate(
                ours_cases[label], raw_cases[label], label, RECHECK_ROUNDS
            )
        upstream: dict[str, Result] = {}
        if not args.no_upstream:
            try:
                upstream = upstream_results(UPSTREAM_CODE, url)
            except Exception as exc:  # the upstream install needs network access
                print(f"upstream walrus not measured: {exc}")
        rows = [(label, ours[label], raws.get(label), upstream.get(label)) for label in ours]
        db.close()
        raw.close()
    markdown = table(rows) + "\n\n" + _notes(first, ours, raws, (load_start, _load()))
    if args.no_write:
        print(markdown)
        return
    write_section("Containers", markdown, command=".venv/bin/python -m benchmarks.bench_containers")


if __name__ == "__main__":
    main()
