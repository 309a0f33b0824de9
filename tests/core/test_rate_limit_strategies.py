"""The core limiter's strategies, multi-rates, headers, client address and outage policy.

Every strategy: counts exactly, refuses with a retry-after, records nothing when refused,
one round trip, every key with a TTL, exact when several processes share one budget."""

from __future__ import annotations

import logging
import math
import multiprocessing
import time
from typing import Any

import pytest
import redis

from walrus import Database
from walrus.rate_limit import (
    FIXED_MEMORY_STRATEGIES,
    STRATEGIES,
    Decision,
    OutageLog,
    PreparedRate,
    Rate,
    call_args,
    check_call,
    client_address,
    decide,
    parse_rate,
    parse_rates,
    rate_limit_headers,
    reset_rates,
)
from walrus.roundtrips import RoundTripCounter

# -- rates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5/minute", (5, 60.0)),
        ("5/m", (5, 60.0)),
        ("10 per hour", (10, 3600.0)),
        ("3/30s", (3, 30.0)),
        ("100/2 hours", (100, 7200.0)),
        ("7/day", (7, 86400.0)),
        ("1/week", (1, 604800.0)),
        ("2/month", (2, 30 * 86400.0)),
        ("1/year", (1, 365 * 86400.0)),
        ("20000/day", (20000, 86400.0)),
    ],
)
def test_parse_rate(text: str, expected: tuple[int, float]) -> None:
    rate = parse_rate(text)
    assert rate == expected and isinstance(rate, Rate)
    assert rate.limit == expected[0] and rate.per == expected[1]


def test_parse_rates_multi() -> None:
    assert parse_rates("5/m;100/h") == (Rate(5, 60.0), Rate(100, 3600.0))
    assert parse_rates("5/m, 100/h") == (Rate(5, 60.0), Rate(100, 3600.0))
    assert parse_rates(["5/m", (10, 2)]) == (Rate(5, 60.0), Rate(10, 2.0))
    assert parse_rates((3, 1.5)) == (Rate(3, 1.5),)
    assert parse_rates(None) == () and parse_rates("") == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5/" + "9" * 400 + "d", "out of range"),
        ("5/" + "9" * 20 + "d", "per must be a positive number of seconds between"),
        ("5/fortnight", "cannot read rate"),
        ("five/minute", "cannot read rate"),
        ("0/minute", "limit must be a positive int"),
        ("5/0s", "per must be a positive number of seconds between"),
        ("9" * 40 + "/s", "out of range"),
    ],
)
def test_bad_rates_are_refused(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rate(value)
    with pytest.raises(ValueError, match=message):
        parse_rates(value + ";5/m")


@pytest.mark.parametrize(
    ("limit", "per", "message"),
    [
        (5, float("inf"), "finite"),
        (5, float("nan"), "finite"),
        (5, 0, "between"),
        (5, -1, "between"),
        (5, 1e14, "between"),
        (0, 60, "limit"),
        (-3, 60, "limit"),
        (True, 60, "limit"),
        (2.5, 60, "limit"),
        (5, "60", "per"),
    ],
)
def test_bad_limits_are_refused_when_built(
    db: Database, limit: Any, per: Any, message: str
) -> None:
    for strategy in STRATEGIES:
        with pytest.raises(ValueError, match=message):
            db.rate_limit("rl", limit, per, strategy=strategy)
    assert db.dbsize() == 0


def test_unknown_strategy_and_cost_above_limit(db: Database) -> None:
    with pytest.raises(ValueError, match="unknown rate limit strategy 'leaky'"):
        db.rate_limit("rl", 5, 60, strategy="leaky")
    with pytest.raises(ValueError, match="strategy"):
        PreparedRate("rl", 5, 60, strategy=None)  # type: ignore[arg-type]
    for strategy in FIXED_MEMORY_STRATEGIES:
        with pytest.raises(ValueError, match="cost 6 can never fit in a limit of 5"):
            PreparedRate("rl", 5, 60, strategy=strategy, cost=6)
        with pytest.raises(ValueError, match="cost 6 can never fit"):
            db.rate_limit("rl", 5, 60, strategy=strategy).check("k", cost=6)
    assert db.dbsize() == 0


# -- every strategy ---------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_counts_and_refuses(db: Database, strategy: str) -> None:
    rl = db.rate_limit("rl", 3, 60, strategy=strategy)
    with RoundTripCounter() as rt:
        results = [rl.check("k") for _ in range(5)]
    assert rt.count == 5  # one round trip per check
    assert [r.allowed for r in results] == [True, True, True, False, False]
    assert [r.remaining for r in results] == [2, 1, 0, 0, 0]
    assert all(0 < r.reset_after <= 120 for r in results)
    assert all(r.retry_after == 0 for r in results[:3])
    assert all(0 < r.retry_after <= 120 for r in results[3:])  # swc: up to 2 windows
    assert rl.limit("other") is False  # another client has its own budget
    key = rl.prepared.storage_key("k", db.is_cluster)
    assert db.pttl(key) > 0  # every key expires
    assert rl.remaining("k") == 0
    assert rl.reset("k") is True and rl.remaining("k") == 3


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_cost_and_peek(db: Database, strategy: str) -> None:
    rl = db.rate_limit("rl", 10, 60, strategy=strategy)
    assert rl.check("k", cost=0).remaining == 10
    assert db.dbsize() == 0  # looking writes nothing
    assert rl.check("k", cost=4).remaining == 6
    assert rl.check("k", cost=6).remaining == 0
    refused = rl.check("k", cost=1)
    assert not refused.allowed and refused.retry_after > 0
    assert rl.check("k", cost=0).remaining == 0


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_strategy_budget_comes_back(db: Database, strategy: str) -> None:
    rl = db.rate_limit("rl", 2, 0.3, strategy=strategy)
    assert [rl.limit("k") for _ in range(3)] == [False, False, True]
    wait = rl.check("k", cost=0)
    refused = rl.check("k")
    assert not refused.allowed and 0 < refused.retry_after <= 0.6 and wait.remaining == 0
    time.sleep(refused.retry_after + 0.05)
    assert rl.limit("k") is False  # retry-after was enough
    time.sleep(0.65)  # two windows: even the sliding-window counter has forgotten
    assert rl.check("k", cost=0).remaining == 2
    assert db.dbsize() == 0  # and the state expired with it


def test_gcra_spreads_the_budget(db: Database) -> None:
    rl = db.rate_limit("rl", 4, 0.4, strategy="gcra")
    assert [rl.limit("k") for _ in range(5)] == [False] * 4 + [True]
    refused = rl.check("k")
    # one slot comes back every per/limit = 0.1 s, not the whole window
    assert 0 < refused.retry_after <= 0.1
    time.sleep(refused.retry_after + 0.02)
    assert [rl.limit("k") for _ in range(2)] == [False, True]


def test_sliding_window_counter_weighs_the_previous_window(db: Database) -> None:
    rl = db.rate_limit("rl", 10, 60, strategy="sliding-window-counter")
    key = rl.prepared.storage_key("k", db.is_cluster)
    now = int(db.time()[0])
    idx = now // 60
    # the previous window was full: at most 10 * (fraction of this window gone) is free now
    db.set(key, f"{idx}:0:10", px=120_000)
    into = now - idx * 60
    free = rl.check("k", cost=0).remaining
    assert math.floor(10 * into / 60) - 1 <= free <= math.floor(10 * (into + 2) / 60)


def test_mixed_strategies_are_all_or_nothing(db: Database) -> None:
    rates = [PreparedRate(f"rl-{s}", 3 + i, 60, strategy=s) for i, s in enumerate(STRATEGIES)]
    keys = ["u"] * len(rates)
    outcomes = [decide(db, rates, keys).allowed for _ in range(4)]
    assert outcomes == [True, True, True, False]
    look = decide(db, rates, keys, cost=0)
    # the refused call spent nothing anywhere: budgets reflect three events each
    assert [r.remaining for r in look.results] == [0, 1, 2, 3]
    assert look.remaining == 0 and look.limit == 3
    assert reset_rates(db, rates, keys) == 4


def test_decision_reports_the_tightest_rate(db: Database) -> None:
    rates = [PreparedRate("a", 5, 60), PreparedRate("b", 2, 3600, strategy="gcra")]
    decision = decide(db, rates, ["u", "u"])
    assert decision.allowed and decision.limit == 2 and decision.remaining == 1
    assert decision.retry_after == 0.0 and decision.reset_after > 0
    decide(db, rates, ["u", "u"])
    refused = decide(db, rates, ["u", "u"])
    assert not refused.allowed and refused.limit == 2
    assert 1700 < refused.retry_after <= 1800  # the GCRA slot: 3600 s / 2


def test_dry_run_records_nothing(db: Database) -> None:
    for strategy in STRATEGIES:
        rate = PreparedRate("rl", 2, 60, strategy=strategy)
        assert decide(db, [rate], ["k"], cost=2, dry_run=True).allowed
    assert db.dbsize() == 0


# -- across processes -------------------------------------------------------------------------


def _hammer(url: str, strategy: str, rounds: int, out: Any) -> None:
    database = Database.from_url(url)
    rate = PreparedRate("shared", 40, 60, strategy=strategy)
    allowed = sum(decide(database, [rate], ["client"]).allowed for _ in range(rounds))
    out.put(allowed)
    database.close()


def _run_processes(url: str, strategy: str) -> int:
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    workers = [context.Process(target=_hammer, args=(url, strategy, 25, out)) for _ in range(4)]
    for worker in workers:
        worker.start()
    counts = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    return sum(counts)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_exact_across_processes(redis_url: str, strategy: str) -> None:
    # 4 processes x 25 requests against one budget of 40: exactly 40 pass
    assert _run_processes(redis_url, strategy) == 40


@pytest.mark.cluster
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_exact_across_processes_on_a_cluster(redis_cluster: Any, strategy: str) -> None:
    client = Database.from_url(redis_cluster.url())
    client.flushall()
    try:
        assert _run_processes(redis_cluster.url(), strategy) == 40
    finally:
        client.flushall()
        client.close()


# -- cluster: rates of several slots -----------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_rates_in_several_slots_take_back_on_refusal(db: Database, strategy: str) -> None:
    per_user = PreparedRate("user", 5, 60, strategy=strategy)
    per_ip = PreparedRate("ip", 2, 60, strategy=strategy)
    outcomes = [decide(db, [per_user, per_ip], ["alice", "10.0.0.1"]).allowed for _ in range(3)]
    assert outcomes == [True, True, False]
    looks = decide(db, [per_user, per_ip], ["alice", "10.0.0.1"], cost=0).results
    assert [r.remaining for r in looks] == [3, 0]  # the refused request was not counted


# -- headers ----------------------------------------------------------------------------------


def test_headers_of_each_style(db: Database) -> None:
    rates = [PreparedRate("login", 2, 60), PreparedRate("daily", 100, 86400, strategy="gcra")]
    allowed = decide(db, rates, ["u", "u"])
    assert rate_limit_headers(allowed) == [
        ("X-RateLimit-Limit", "2"), ("X-RateLimit-Remaining", "1"), ("X-RateLimit-Reset", "60"),
    ]  # fmt: skip
    ietf = dict(rate_limit_headers(allowed, "ietf"))
    assert (
        ietf["RateLimit-Policy"]
        == '"login-2-per-60s";q=2;w=60, "daily-100-per-86400s";q=100;w=86400'
    )
    assert ietf["RateLimit"] == '"login-2-per-60s";r=1;t=60'
    both = dict(rate_limit_headers(allowed, "both", policies=["l", "d"]))
    assert both["RateLimit"] == '"l";r=1;t=60' and both["X-RateLimit-Limit"] == "2"
    assert rate_limit_headers(allowed, "none") == []
    decide(db, rates, ["u", "u"])
    refused = decide(db, rates, ["u", "u"])
    out = dict(rate_limit_headers(refused, names=("L", "R", "Z", "Wait")))
    assert out["L"] == "2" and out["R"] == "0" and 1 <= int(out["Wait"]) <= 60
    assert [name for name, _ in rate_limit_headers(refused, "none")] == ["Retry-After"]


# -- client address ---------------------------------------------------------------------------


def test_client_address_trusts_only_configured_proxies() -> None:
    assert client_address("10.0.0.9", "1.2.3.4") == "10.0.0.9"  # never trusted by default
    assert client_address("10.0.0.9", "1.2.3.4", 1) == "1.2.3.4"
    assert (
        client_address("10.0.0.9", "6.6.6.6, 1.2.3.4", 1) == "1.2.3.4"
    )  # forged entry on the left
    assert client_address("10.0.0.9", "6.6.6.6, 1.2.3.4, 10.0.0.2", 2) == "1.2.3.4"
    assert client_address("10.0.0.9", "1.2.3.4", 2) == "10.0.0.9"  # too few entries
    assert client_address(None, None) == "unknown"


# -- outage policy ----------------------------------------------------------------------------


def test_outage_policy(unused_port_database: Database, caplog: pytest.LogCaptureFixture) -> None:
    rates = [PreparedRate("rl", 5, 60), PreparedRate("rl2", 10, 3600, strategy="gcra")]
    with pytest.raises(redis.ConnectionError):
        decide(unused_port_database, rates, ["k", "k"])
    log = OutageLog(logging.getLogger("test.outage"))
    with caplog.at_level(logging.ERROR, "test.outage"):
        allowed = decide(unused_port_database, rates, ["k", "k"], on_error="allow", outage_log=log)
        denied = decide(unused_port_database, rates, ["k", "k"], on_error="deny", outage_log=log)
    assert allowed.allowed and isinstance(allowed.error, redis.ConnectionError)
    assert not denied.allowed and denied.retry_after == 60 and denied.error is not None
    assert [r.getMessage().count("Redis unavailable") for r in caplog.records] == [1]  # logged once
    with pytest.raises(ValueError, match="on_error must be one of allow, deny"):
        decide(unused_port_database, rates, ["k", "k"], on_error="maybe")


@pytest.fixture
def unused_port_database() -> Any:
    from tests.support.redis_server import free_port

    database = Database(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5)
    yield database
    database.close()


def test_refusal_and_allowance_without_redis() -> None:
    rates = [PreparedRate("a", 5, 60), PreparedRate("b", 1, 10)]
    refusal = Decision.refusal(rates)
    assert not refusal.allowed and refusal.limit == 1 and refusal.retry_after == 10
    assert Decision.allowance(rates).remaining == 1


# -- sans-IO pieces (what an async executor reuses) ---------------------------------------------


def test_call_args_and_reply_without_decide(db: Database) -> None:
    rates = [PreparedRate("a", 2, 60), PreparedRate("b", 5, 60, strategy="gcra")]
    check_call(rates, ["u", "u"], 1)
    keys, args = call_args(rates, ["u", "u"], 1, cluster=db.is_cluster)
    decision = Decision.from_reply(rates, db.run_script("rate_limit", keys=keys, args=args))
    assert decision.allowed and [r.remaining for r in decision.results] == [1, 4]
    assert decide(db, rates, ["u", "u"], cost=0).remaining == 1  # the same state


def test_check_call_refuses_bad_calls() -> None:
    rate = PreparedRate("a", 2, 60)
    with pytest.raises(TypeError, match="client key must be a str, got int"):
        check_call([rate], [7], 1)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="one key per rate"):
        check_call([rate], ["a", "b"], 1)
    with pytest.raises(ValueError, match="cost must be an int >= 0"):
        check_call([rate], ["a"], -1)
    with pytest.raises(ValueError, match="cost 3 can never fit in limit 2"):
        check_call([rate], ["a"], 3)
    with pytest.raises(ValueError, match="on_error must be one of allow, deny"):
        check_call([rate], ["a"], 1, "sometimes")
