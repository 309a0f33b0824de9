"""walrus.RateLimit: sliding window, one Lua call, server clock, exact under concurrency."""

from __future__ import annotations

import threading
import time

import pytest

from walrus import Database
from walrus.rate_limit import (
    PreparedRate,
    RateLimitException,
    RateSpec,
    check_rates,
    decide,
    parse_rate,
)
from walrus.roundtrips import RoundTripCounter


def test_limit_allows_then_refuses_and_is_one_round_trip(db: Database) -> None:
    rl = db.rate_limit("rl", limit=3, per=60)
    with RoundTripCounter() as rt:
        decisions = [rl.limit("ip-1") for _ in range(5)]
    assert decisions == [False, False, False, True, True]
    assert rt.count == 5
    assert rl.limit("ip-2") is False
    # upstream layout: a list of timestamps at <name>:<key>, at most `limit` long
    assert db.llen("rl:ip-1") == 3
    assert 0 < db.pttl("rl:ip-1") <= 60_000


def test_window_slides_and_keys_expire_with_it(db: Database) -> None:
    rl = db.rate_limit("rl", limit=2, per=0.3)
    assert not rl.limit("k") and not rl.limit("k") and rl.limit("k")
    result = rl.check("k")
    assert not result.allowed and 0 < result.retry_after <= 0.3
    time.sleep(0.35)
    assert rl.limit("k") is False
    time.sleep(0.35)
    assert db.exists("rl:k") == 0  # no immortal keys


def test_remaining_reset_and_peek(db: Database) -> None:
    rl = db.rate_limit("rl", limit=5, per=10)
    first = rl.check("k")
    assert first.allowed and first.remaining == 4 and first.limit == 5
    assert 9 < first.reset_after <= 10
    assert rl.remaining("k") == 4  # looking records nothing
    assert rl.remaining("k") == 4
    assert rl.check("k", cost=3).remaining == 1
    refused = rl.check("k", cost=2)
    assert not refused.allowed and refused.remaining == 1
    assert rl.remaining("k") == 1  # a refused call spends nothing
    assert rl.reset("k") is True and rl.remaining("k") == 5


def test_stacked_limits_are_all_or_nothing(db: Database) -> None:
    burst = RateSpec("burst", "u", limit=2, per=60)
    daily = RateSpec("daily", "u", limit=3, per=3600)
    with RoundTripCounter() as rt:
        out = [check_rates(db, [burst, daily])[0].allowed for _ in range(3)]
    assert rt.count == 3
    assert out == [True, True, False]
    # the refused call did not eat into the daily budget
    assert db.llen("daily:u") == 2
    results = check_rates(db, [burst, daily], cost=0)
    assert [r.remaining for r in results] == [0, 1]


def test_exact_under_concurrency(db: Database) -> None:
    rl = db.rate_limit("rl", limit=25, per=60)
    allowed = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            ok = not rl.limit("shared")
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 25 and len(allowed) == 80


def test_rate_limited_decorator(db: Database) -> None:
    rl = db.rate_limit("rl", limit=2, per=60)

    @rl.rate_limited(lambda user, **kw: user)
    def view(user: str, page: int = 1) -> str:
        return f"{user}:{page}"

    assert view("a") == "a:1" and view("a", page=2) == "a:2"
    with pytest.raises(RateLimitException) as info:
        view("a")
    assert 59 < info.value.retry_after <= 60
    assert view("b") == "b:1"

    @rl.rate_limited()
    def by_args(x: int, y: int = 0) -> int:
        return x + y

    assert by_args(1, y=2) == 3 and by_args(y=2, x=1) == 3
    with pytest.raises(RateLimitException):
        by_args(1, 2)  # same bound arguments: same key
    assert by_args(5) == 5


def test_debug_disables_limiting(db: Database) -> None:
    rl = db.rate_limit("rl", limit=1, per=60, debug=True)
    assert [rl.limit("k") for _ in range(3)] == [False, False, False]
    assert db.exists("rl:k") == 0


def test_reads_upstream_timestamps(db: Database) -> None:
    now = time.time()
    db.lpush("rl:old", str(now - 10), str(now - 5))  # written by upstream walrus: newest first
    rl = db.rate_limit("rl", limit=3, per=60)
    assert rl.remaining("old") == 1
    assert rl.limit("old") is False and rl.limit("old") is True


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("5/minute", (5, 60.0)),
        ("10 per hour", (10, 3600.0)),
        ("3/30s", (3, 30.0)),
        ("1/day", (1, 86400.0)),
        ("2/seconds", (2, 1.0)),
    ],
)
def test_parse_rate(rate: str, expected: tuple[int, float]) -> None:
    assert parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["", "five/minute", "5/fortnight", "0/minute", "5"])
def test_parse_rate_rejects(rate: str) -> None:
    with pytest.raises(ValueError, match="rate"):
        parse_rate(rate)


def test_bad_input_writes_nothing(db: Database) -> None:
    for kwargs in ({"limit": 0}, {"limit": 1.5}, {"per": 0}, {"per": "60"}):
        with pytest.raises(ValueError):
            db.rate_limit("rl", **kwargs)  # type: ignore[arg-type]
    rl = db.rate_limit("rl", limit=2, per=60)
    with pytest.raises(TypeError, match="key"):
        rl.limit(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cost"):
        rl.check("k", cost=3)
    with pytest.raises(ValueError, match="cost"):
        rl.check("k", cost=-1)
    assert list(db.scan_iter()) == []


# -- decide(): rates prepared once, keys per call ----------------------------------------------


def test_decide_is_one_round_trip_all_or_nothing_with_upstream_keys(db: Database) -> None:
    burst, daily = PreparedRate("burst", 2, 60), PreparedRate("daily", 3, 3600)
    decide(db, [burst, daily], ["u", "u"])  # the first call may send the script's source
    with RoundTripCounter() as rt:
        second = decide(db, [burst, daily], ["u", "u"])
    assert rt.count == 1
    assert second.allowed and [r.remaining for r in second.results] == [0, 1]
    assert second.report_index() == 0  # fewest remaining
    refused = decide(db, [burst, daily], ["u", "u"])
    assert not refused.allowed and refused.report_index() == 0  # the only rate with a wait
    result = refused.result(0)
    assert not result.allowed and result.limit == 2 and 59 < result.retry_after <= 60
    # same layout and lists as check_rates: each reads what the other wrote
    specs = [RateSpec("burst", "u", 2, 60), RateSpec("daily", "u", 3, 3600)]
    assert db.llen(specs[1].storage_key(db)) == 2  # the refusal recorded nothing
    assert [r.remaining for r in check_rates(db, specs, cost=0)] == [0, 1]


def test_decide_cost_and_report_index(db: Database) -> None:
    small, large = PreparedRate("small", 5, 60), PreparedRate("large", 10, 60)
    decision = decide(db, [large, small], ["k", "k"], cost=3)
    assert decision.allowed and [r.remaining for r in decision.results] == [7, 2]
    assert decision.report_index() == 1
    assert decide(db, [small], ["k"], cost=0).result(0).remaining == 2  # cost 0 only looks
    refused = decide(db, [large, small], ["k", "k"], cost=3)
    assert not refused.allowed and refused.report_index() == 1
    assert refused.result(0).retry_after == 0 and refused.result(1).retry_after > 59


def test_decide_validates_before_writing(db: Database) -> None:
    rate = PreparedRate("rl", 2, 60)
    with pytest.raises(ValueError, match="cost 3 can never fit in limit 2 of 'rl'"):
        decide(db, [rate], ["k"], cost=3)
    with pytest.raises(ValueError, match="cost must be an int >= 0"):
        decide(db, [rate], ["k"], cost=-1)
    with pytest.raises(ValueError, match="one key per rate"):
        decide(db, [rate, rate], ["k"])
    with pytest.raises(ValueError, match="at least one rate"):
        decide(db, [], [])
    for args, message in ((("", 1, 1), "name"), (("rl", 0, 1), "limit"), (("rl", 1, 0), "per")):
        with pytest.raises(ValueError, match=message):
            PreparedRate(*args)
    assert list(db.scan_iter()) == []


def test_old_names_still_import_for_one_release() -> None:
    from walrus import rate_limit
    from walrus.rate_limit import decision, execute

    assert rate_limit.PreparedLimit is decision.PreparedLimit is PreparedRate
    assert rate_limit.LimitSpec is decision.LimitSpec is RateSpec
    assert rate_limit.check_limits is execute.check_limits is check_rates
    assert rate_limit.reset_limits is execute.reset_limits is rate_limit.reset_rates
    old = {"PreparedLimit", "LimitSpec", "check_limits", "reset_limits"}
    assert not old & {*rate_limit.__all__, *decision.__all__, *execute.__all__}
    rates = [PreparedRate("rl", 2, 60)]
    assert decision.Decision.allowance(rates).limits is rates  # the old attribute name reads


@pytest.mark.redis_only  # SCRIPT FLUSH on the real server
def test_decide_survives_script_flush(db: Database) -> None:
    rate = PreparedRate("rl", 3, 60)
    assert decide(db, [rate], ["k"]).allowed
    db.script_flush()
    with RoundTripCounter() as rt:
        assert decide(db, [rate], ["k"]).result(0).remaining == 1
    assert rt.count == 2  # EVALSHA -> NOSCRIPT, then EVAL with the source


def test_expired_events_are_trimmed_on_write(db: Database) -> None:
    spec = RateSpec("rl", "k", 5, 60)
    key = spec.storage_key(db)
    now = time.time()
    db.lpush(key, str(now - 100), str(now - 90), str(now - 5))  # newest (now - 5) first
    result = check_rates(db, [spec])[0]
    assert result.allowed and result.remaining == 3
    assert 54 < result.reset_after <= 55  # the oldest counted event is the one of now - 5
    stamps = [float(v) for v in db.lrange(key, 0, -1)]
    assert len(stamps) == 2 and stamps[1] == pytest.approx(now - 5, abs=1e-3)


def test_large_cost_is_recorded_in_full(db: Database) -> None:
    spec = RateSpec("rl", "k", 1500, 60)
    assert check_rates(db, [spec], cost=1200)[0].remaining == 300  # LPUSH in batches
    assert db.llen(spec.storage_key(db)) == 1200
    assert not check_rates(db, [spec], cost=301)[0].allowed


def test_script_dry_run_and_stamp(db: Database) -> None:
    key = RateSpec("rl", "k", 2, 60).storage_key(db)
    dry = db.run_script("rate_limit", keys=[key], args=[2, "d", "", "m", 2, "60.0"])
    assert int(dry[0]) == 1 and db.exists(key) == 0  # would fit, recorded nothing
    reply = db.run_script("rate_limit", keys=[key], args=[1, "r", "", "m", 2, "60.0"])
    stamp = reply[4]  # after the four numbers of the one key: the recorded timestamp
    assert db.lrange(key, 0, -1) == [stamp if isinstance(stamp, bytes) else stamp.encode()]
    refused = db.run_script("rate_limit", keys=[key], args=[2, "d", "", "m", 2, "60.0"])
    assert int(refused[0]) == 0 and int(refused[3]) > 0 and db.llen(key) == 1
