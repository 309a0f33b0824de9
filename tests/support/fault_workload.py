"""The fault suite's workloads, their ledger and the runner (tests/faults/test_fault_suite.py).

Each workload drives one part of the suite as an application would (the Django cache through
Django's cache API, Flask rate limits through the test client, walrus model writes, limpyd
creates, walrus locks, Celery task locks) in its own threads, and writes down every operation
with its outcome:

- ``ok``: the call returned: the write is *acknowledged* and must be found after recovery;
- ``unknown``: it raised ``walrus.OutcomeUnknownError`` (allowed: it may or may not be applied);
- ``refused``: a definitive "no" that wrote nothing (a lock held by another owner);
- ``failed``: any other exception: it must **not** be found applied.

After the fault and the recovery, ``verify`` reads the server back through a fresh client and
counts: acknowledged writes lost, writes applied twice, index problems, ghosts (partly written
objects), successes reported as failures (``failed``/``refused`` operations found applied),
lock overlaps (two holders in one critical section), plus how many ``unknown`` operations
were applied (reported, not a fault). The runner adds the recovery time (server back -> the
workload's first successful operation) and the threads that did not end in time.

Every token (the id of one operation) is unique, so a write applied twice shows as a token
stored twice, or as a counter that moved by two.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import redis

from walrus import Database
from walrus.retry import OutcomeUnknownError

__all__ = [
    "Counts",
    "CeleryLocks",
    "DjangoCache",
    "FlaskLimits",
    "LimpydCreates",
    "Op",
    "RefusedError",
    "Target",
    "WalrusLocks",
    "WalrusModels",
    "Workload",
    "all_workloads",
    "run_fault",
]

#: The reconnection options every workload's client is built with: what an application that
#: cares would set (docs/reliability.md): 5 resends on a fresh connection, 0.05 s backoff
#: doubling up to 0.5 s, and request ids so that a write script whose reply was lost is
#: resent and applied exactly once.
RETRY_OPTIONS: dict[str, Any] = {"retries": 5, "retry_backoff": 0.05, "retry_backoff_cap": 0.5}
REQUEST_IDS = True
#: Pause after a failed or refused operation (an application would not spin either).
FAIL_PAUSE = 0.005
#: Keep each failure's message in the ledger (WALRUS_FAULTS_DEBUG=1), not just its type.
DEBUG = os.environ.get("WALRUS_FAULTS_DEBUG") == "1"


class RefusedError(Exception):
    """A definitive refusal by the library (nothing was written): e.g. a lock held elsewhere."""


@dataclass
class Op:
    """One operation: its token, thread, kind, times (monotonic), outcome and returned value."""

    token: str
    thread: int
    seq: int
    kind: str
    started: float
    ended: float
    status: str
    error: str = ""
    value: Any = None


@dataclass
class Counts:
    """What one workload did under one fault and what the verification found."""

    workload: str
    ops: int = 0
    acked: int = 0
    failed: int = 0
    refused: int = 0
    unknown: int = 0
    lost: int = 0
    doubled: int = 0
    index_problems: int = 0
    ghosts: int = 0
    false_failures: int = 0
    overlaps: int = 0
    unknown_applied: int = 0
    hung_threads: int = 0
    recovery_s: float | None = None
    fault_s: float | None = None
    verify_error: str = ""
    errors: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    VIOLATIONS = (
        "lost",
        "doubled",
        "index_problems",
        "ghosts",
        "false_failures",
        "overlaps",
        "hung_threads",
    )

    def violations(self, recovery_bound: float) -> dict[str, Any]:
        """The promises broken: every VIOLATIONS count that is not 0, and a recovery slower
        than ``recovery_bound`` seconds (or none at all)."""
        found: dict[str, Any] = {
            name: getattr(self, name) for name in self.VIOLATIONS if getattr(self, name)
        }
        if self.verify_error:
            found["verify_error"] = self.verify_error
        if self.recovery_s is None or self.recovery_s >= recovery_bound:
            found["recovery_s"] = self.recovery_s
        return found

    def note(self, problem: str) -> None:
        if len(self.problems) < 10:
            self.problems.append(problem)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Target:
    """Where the workloads run: ``kind`` is ``"server"``, ``"sentinel"`` or ``"cluster"``;
    ``url`` a walrus URL without options; ``host``/``port`` (one server) or ``nodes``
    (cluster) for limpyd's connection settings (a Sentinel target: limpyd takes the URL)."""

    kind: str
    url: str
    host: str = "127.0.0.1"
    port: int = 0
    db: int = 0
    nodes: list[tuple[str, int]] = field(default_factory=list)

    def options(self) -> dict[str, Any]:
        return {**RETRY_OPTIONS, "request_ids": REQUEST_IDS}

    def database(self, **extra: Any) -> Database:
        """A walrus client as the workloads build theirs (the retry options of this module)."""
        return Database.from_url(self.url, **self.options(), **extra)

    def inspector(self) -> Database:
        """The client verification reads with: patient (the server has just recovered)."""
        return Database.from_url(self.url, retries=20, retry_backoff=0.05, retry_backoff_cap=0.5)

    @property
    def tag(self) -> str:
        """A hash tag that keeps a workload's keys in one slot (and so on one shard that the
        cluster fault kills); harmless on one server."""
        return "{faults}"


# -- the workloads --------------------------------------------------------------------------


class Workload:
    """Base class: ``setup`` builds clients, ``step`` runs one operation (raising on failure),
    ``verify`` counts what the server holds, ``teardown`` releases what setup made."""

    name = "workload"
    threads = 2

    def __init__(self) -> None:
        self.ops: list[Op] = []
        self._ops_lock = threading.Lock()
        self._active: dict[Any, str] = {}
        self._active_lock = threading.Lock()
        self.overlaps = 0

    # subclasses -------------------------------------------------------------------------

    def setup(self, target: Target) -> None:
        raise NotImplementedError

    def kind(self, seq: int) -> str:
        """The kind of operation number ``seq`` of a thread (decided before it runs)."""
        return "write"

    def step(self, thread: int, seq: int, token: str) -> Any:
        """Run operation ``seq`` (of ``kind(seq)``); return its value. Raise on failure."""
        raise NotImplementedError

    def verify(self, target: Target, counts: Counts) -> None:
        raise NotImplementedError

    def teardown(self) -> None:
        pass

    # shared -----------------------------------------------------------------------------

    def record(self, op: Op) -> None:
        with self._ops_lock:
            self.ops.append(op)

    @contextlib.contextmanager
    def critical(self, slot: Any, token: str) -> Iterator[None]:
        """Mark a critical section of ``slot``: a second holder at once is an overlap."""
        with self._active_lock:
            if slot in self._active:
                self.overlaps += 1
            self._active[slot] = token
        try:
            yield
        finally:
            with self._active_lock:
                if self._active.get(slot) == token:
                    del self._active[slot]

    def by_status(self, *statuses: str, kind: str | None = None) -> list[Op]:
        return [
            op for op in self.ops if op.status in statuses and (kind is None or op.kind == kind)
        ]

    def judge_tokens(self, counts: Counts, kind: str | None, stored: Counter[str]) -> None:
        """Compare the tokens found stored (with how often) with the ledger of ``kind``."""
        for op in self.ops:
            if kind is not None and op.kind != kind:
                continue
            times = stored.get(op.token, 0)
            if times > 1:
                counts.doubled += times - 1
                counts.note(f"{op.token} ({op.status}) stored {times} times")
            if op.status == "ok" and times == 0:
                counts.lost += 1
                counts.note(f"acknowledged {op.token} is missing")
            elif op.status in ("failed", "refused") and times:
                counts.false_failures += 1
                counts.note(f"{op.token} raised {op.error or op.status} but is applied")
            elif op.status == "unknown" and times:
                counts.unknown_applied += 1


def judge_counter(counts: Counts, ops: list[Op], final: int, start: int = 0) -> None:
    """Check a per-thread counter (``ops`` in order; acknowledged ones carry the value they
    returned, ``final`` is the value read after recovery). A jump between two known values is
    the number of operations applied in between: charged to the unknown ones first, then to
    failed ones (successes reported as failures), else to writes applied twice; a drop is an
    acknowledged write lost."""
    known = start
    pending: list[Op] = []

    def settle(value: int, acked: bool) -> None:
        nonlocal known, pending
        applied = value - known - (1 if acked else 0)
        if applied < 0:
            counts.lost += -applied
            counts.note(f"counter went from {known} to {value}")
        else:
            unknown = sum(1 for op in pending if op.status == "unknown")
            failed = [op for op in pending if op.status in ("failed", "refused")]
            to_unknown = min(applied, unknown)
            counts.unknown_applied += to_unknown
            rest = applied - to_unknown
            to_failed = min(rest, len(failed))
            counts.false_failures += to_failed
            if to_failed:
                counts.note(f"counter: {to_failed} of {[op.error for op in failed]} applied")
            if rest - to_failed:
                counts.doubled += rest - to_failed
                counts.note(f"counter moved {rest - to_failed} more than its operations")
        known, pending = value, []

    for op in ops:
        if op.status == "ok":
            settle(int(op.value), acked=True)
        else:
            pending.append(op)
    settle(final, acked=False)


class DjangoCache(Workload):
    """The Django cache (``django_walrus.cache.WalrusCache``) through ``django.core.cache.caches``
    (one backend instance per thread, as Django makes them): ``set`` of a fresh key, ``add``
    of a fresh key, ``incr`` of the thread's counter. Request ids make ``incr`` (a write
    script) exactly-once on resend; ``set`` is resent as an idempotent write; ``add`` (SET NX)
    is never resent: a lost reply raises OutcomeUnknownError."""

    name = "django_cache"
    alias = "faults"

    def setup(self, target: Target) -> None:
        from django.core.cache import caches
        from django.test.utils import override_settings

        options = {
            "SERIALIZER": "json",
            "RETRIES": RETRY_OPTIONS["retries"],
            "RETRY_BACKOFF": RETRY_OPTIONS["retry_backoff"],
            "RETRY_BACKOFF_CAP": RETRY_OPTIONS["retry_backoff_cap"],
            "REQUEST_IDS": REQUEST_IDS,
        }
        self.prefix = f"f{uuid.uuid4().hex[:6]}"
        config = {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": target.url,
            "OPTIONS": options,
            "KEY_PREFIX": self.prefix,
        }
        self._override = override_settings(CACHES={"default": config, self.alias: config})
        self._override.enable()
        self.caches = caches
        for thread in range(self.threads):
            caches[self.alias].set(f"ctr.{thread}", 0, None)

    def kind(self, seq: int) -> str:
        return ("set", "add", "incr")[seq % 3]

    def step(self, thread: int, seq: int, token: str) -> Any:
        cache = self.caches[self.alias]
        kind = self.kind(seq)
        if kind == "set":
            cache.set(f"s.{token}", token, None)
            return None
        if kind == "add":
            if not cache.add(f"a.{token}", token, None):
                raise RuntimeError("add of a fresh key returned False")
            return None
        return cache.incr(f"ctr.{thread}")

    def verify(self, target: Target, counts: Counts) -> None:
        cache = self.caches.create_connection(self.alias)  # a fresh client (a fresh slot map)
        for kind, prefix in (("set", "s."), ("add", "a.")):
            tokens = [op.token for op in self.ops if op.kind == kind]
            stored: Counter[str] = Counter()
            for start in range(0, len(tokens), 500):
                chunk = tokens[start : start + 500]
                found = cache.get_many([prefix + t for t in chunk])
                stored.update(t for t in chunk if found.get(prefix + t) == t)
            self.judge_tokens(counts, kind, stored)
        for thread in range(self.threads):
            ops = [op for op in self.ops if op.kind == "incr" and op.thread == thread]
            judge_counter(counts, ops, int(cache.get(f"ctr.{thread}")))

    def teardown(self) -> None:
        with contextlib.suppress(Exception):
            self.caches[self.alias].clear()
        self._override.disable()


class FlaskLimits(Workload):
    """Flask rate limits: a view under ``@rate_limited(3, 60)`` keyed by a per-request token,
    requested through the test client (one client per thread). The request's outcome is the
    rate-limit call's (the limiter answers 200 under ``WALRUS_RATELIMIT_ON_ERROR="allow"``
    when Redis fails, so that call is observed). Verification replays each token once:
    ``X-RateLimit-Remaining`` tells how many hits the server holds for it (1 when
    acknowledged, 0 when failed). Request ids make the limiter's script exactly-once."""

    name = "flask_limits"
    LIMIT = 3

    def setup(self, target: Target) -> None:
        from flask import Flask, request

        import flask_walrus.ratelimit as ratelimit
        from flask_walrus import Walrus

        self.app = app = Flask(f"faults-{uuid.uuid4().hex[:6]}")
        app.config.update(
            TESTING=True,
            WALRUS_URL=target.url,
            WALRUS_RETRIES=RETRY_OPTIONS["retries"],
            WALRUS_RETRY_BACKOFF=RETRY_OPTIONS["retry_backoff"],
            WALRUS_RETRY_BACKOFF_CAP=RETRY_OPTIONS["retry_backoff_cap"],
            WALRUS_REQUEST_IDS=REQUEST_IDS,
            WALRUS_KEY_PREFIX=f"fl{uuid.uuid4().hex[:6]}",
        )
        ext = Walrus()
        ext.init_app(app)

        @app.get("/limited")
        @ext.rate_limited(self.LIMIT, 60, key_func=lambda: request.headers["X-Token"])
        def limited() -> str:
            return "ok"

        # Observe the limiter's Redis call: under the outage policy ("allow") a failed call
        # still answers 200, so the response alone cannot tell.
        self._local = threading.local()
        self._module = ratelimit
        self._decide = original = ratelimit.decide
        local = self._local

        def observed(*args: Any, **kwargs: Any) -> Any:
            try:
                decision = original(*args, **kwargs)
            except Exception as exc:
                local.error = exc
                raise
            # Under WALRUS_RATELIMIT_ON_ERROR the limiter decides without Redis and keeps
            # the error on the decision.
            if getattr(decision, "error", None) is not None:
                local.error = decision.error
            return decision

        ratelimit.decide = observed  # type: ignore[assignment]

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self.app.test_client()
        return client

    def step(self, thread: int, seq: int, token: str) -> Any:
        self._local.error = None
        response = self._client().get("/limited", headers={"X-Token": token})
        error = self._local.error
        if error is not None:
            raise error
        if response.status_code != 200 or "X-RateLimit-Remaining" not in response.headers:
            raise RuntimeError(
                f"status {response.status_code} without a limiter error: "
                f"{response.get_data(as_text=True)[:200]!r}"
            )
        return None

    def _hits_before(self, client: Any, token: str) -> int:
        response = client.get("/limited", headers={"X-Token": token})
        if response.status_code == 429:
            return self.LIMIT
        assert response.status_code == 200, response.status_code
        return self.LIMIT - 1 - int(response.headers["X-RateLimit-Remaining"])

    def verify(self, target: Target, counts: Counts) -> None:
        self._module.decide = self._decide  # type: ignore[assignment]
        stored: Counter[str] = Counter()
        tokens = [op.token for op in self.ops]
        lock = threading.Lock()

        def replay(part: list[str]) -> None:
            client = self.app.test_client()
            for token in part:
                hits = self._hits_before(client, token)
                if hits:
                    with lock:
                        stored[token] = hits

        parts = [tokens[i::4] for i in range(4)]
        workers = [threading.Thread(target=replay, args=(part,)) for part in parts]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        self.judge_tokens(counts, None, stored)

    def teardown(self) -> None:
        self._module.decide = self._decide  # type: ignore[assignment]


class WalrusModels(Workload):
    """walrus model writes: ``Model.create`` of a row with a unique token (indexed fields), and
    every fourth operation ``save()`` of the thread's own row with a new version. Checked
    with ``Model.check_indexes()`` and by reading every row. Request ids make the model's
    write script exactly-once on resend."""

    name = "walrus_models"

    def setup(self, target: Target) -> None:
        from walrus import IntegerField, Model, TextField

        self.db = db = target.database()
        namespace = f"faults{uuid.uuid4().hex[:6]}"

        class FaultRow(Model):
            __database__ = db
            __namespace__ = namespace
            __cluster_tag__ = "faults"
            token = TextField(index=True)
            thread = IntegerField(index=True)
            seq = IntegerField(index=True)

        class FaultVersioned(Model):
            __database__ = db
            __namespace__ = namespace
            __cluster_tag__ = "faults"
            name = TextField(primary_key=True)
            version = IntegerField(index=True)

        self.Row, self.Versioned = FaultRow, FaultVersioned
        self.mine = [FaultVersioned.create(name=f"t{t}", version=0) for t in range(self.threads)]

    def kind(self, seq: int) -> str:
        return "save" if seq % 4 == 0 else "create"

    def step(self, thread: int, seq: int, token: str) -> Any:
        if self.kind(seq) == "save":
            row = self.mine[thread]
            row.version = seq
            row.save()
            return seq
        self.Row.create(token=token, thread=thread, seq=seq)
        return None

    def verify(self, target: Target, counts: Counts) -> None:
        inspector = target.inspector()
        try:
            for model in (self.Row, self.Versioned):
                model.__database__ = inspector
                for problem in model.check_indexes():
                    if problem.kind in ("unlisted-row", "dangling-row"):
                        counts.ghosts += 1
                    else:
                        counts.index_problems += 1
                    counts.note(
                        f"{model.__name__}: {problem.kind} {problem.key!r} {problem.member!r}"
                    )
            stored: Counter[str] = Counter()
            for row in self.Row.all():
                if row.token is None or row.thread is None or row.seq is None:
                    counts.ghosts += 1
                    counts.note(f"partial row {row._data!r}")
                    continue
                stored[row.token] += 1
            self.judge_tokens(counts, "create", stored)
            for thread in range(self.threads):
                final = self.Versioned.load(f"t{thread}").version
                ops = [op for op in self.ops if op.kind == "save" and op.thread == thread]
                self._judge_saves(counts, ops, final)
        finally:
            inspector.close()

    @staticmethod
    def _judge_saves(counts: Counts, ops: list[Op], final: int) -> None:
        """The row holds the version of the last acknowledged save, or of a later save whose
        outcome is unknown; a later failed save's version is a success reported as failure."""
        acked = [op for op in ops if op.status == "ok"]
        last = acked[-1].seq if acked else 0
        later = [op for op in ops if op.seq > last]
        if final == last:
            return
        match = next((op for op in later if op.seq == final), None)
        if match is None:
            counts.lost += 1
            counts.note(f"saved version {last} acknowledged, row holds {final}")
        elif match.status == "unknown":
            counts.unknown_applied += 1
        else:
            counts.false_failures += 1
            counts.note(f"save of version {final} raised {match.error} but is applied")

    def teardown(self) -> None:
        self.db.close()


class LimpydCreates(Workload):
    """limpyd writes: ``Model(token=..., seq=...)`` creates an instance (auto pk, a unique
    indexed hash field and an indexed one). Verified against the raw layout: the collection,
    every instance hash and every index set. Request ids make ``limpyd_create`` exactly-once
    on resend (without them a lost reply raises OutcomeUnknownError)."""

    name = "limpyd_creates"

    def setup(self, target: Target) -> None:
        from limpyd import fields, model
        from limpyd.database import RedisDatabase

        if target.kind == "cluster":
            self.database = RedisDatabase(cluster_nodes=target.nodes, **target.options())
        elif target.kind == "sentinel":
            self.database = RedisDatabase.from_url(target.url, **target.options())
        else:
            self.database = RedisDatabase(
                host=target.host, port=target.port, db=target.db, **target.options()
            )
        limpyd_database = self.database
        limpyd_namespace = f"faults{uuid.uuid4().hex[:6]}"

        class FaultEntry(model.RedisModel):
            database = limpyd_database
            namespace = limpyd_namespace
            cluster_tag = "faults"
            token = fields.InstanceHashField(indexable=True, unique=True)
            seq = fields.InstanceHashField(indexable=True)

        self.Entry = FaultEntry

    def step(self, thread: int, seq: int, token: str) -> Any:
        self.Entry(token=token, seq=seq)
        return None

    def verify(self, target: Target, counts: Counts) -> None:
        inspector = target.inspector()
        try:
            entry = self.Entry
            collection = {m.decode() for m in inspector.smembers(entry._collection_key())}
            base = entry._hash_key("PK")  # <prefix>:PK:hash
            head, tail = base[: base.index("PK")], base[base.index("PK") + 2 :]
            hashes = {
                k.decode()[len(head) : -len(tail)]
                for k in inspector.scan_iter(match=_glob(head) + "*" + _glob(tail), count=1000)
            }
            rows: dict[str, dict[str, str]] = {}
            pks = sorted(collection | hashes)
            pipe = inspector.pipeline(transaction=False)
            for pk in pks:
                pipe.hgetall(entry._hash_key(pk))
            for pk, data in zip(pks, pipe.execute(), strict=True):
                rows[pk] = {k.decode(): v.decode() for k, v in data.items()}
            stored: Counter[str] = Counter()
            for pk in pks:
                row = rows[pk]
                if pk not in collection or pk not in hashes or set(row) != {"token", "seq"}:
                    counts.ghosts += 1
                    counts.note(f"limpyd pk {pk}: in collection {pk in collection}, hash {row}")
                if "token" in row:
                    stored[row["token"]] += 1
            self.judge_tokens(counts, "create", stored)
            for name in ("token", "seq"):
                prefix = entry.get_field(name).index_prefix
                keys = list(inspector.scan_iter(match=_glob(prefix) + "*", count=1000))
                pipe = inspector.pipeline(transaction=False)
                for key in keys:
                    pipe.smembers(key)
                actual = {
                    key.decode()[len(prefix) :]: {m.decode() for m in members}
                    for key, members in zip(keys, pipe.execute() if keys else [], strict=True)
                }
                expected: dict[str, set[str]] = {}
                for pk, row in rows.items():
                    if name in row and pk in collection:
                        expected.setdefault(row[name], set()).add(pk)
                for value in set(actual) | set(expected):
                    wrong = actual.get(value, set()) ^ expected.get(value, set())
                    if wrong:
                        counts.index_problems += len(wrong)
                        counts.note(f"limpyd index {name}={value}: {sorted(wrong)} wrong")
        finally:
            inspector.close()

    def teardown(self) -> None:
        self.database.close()


def _glob(text: str) -> str:
    """``text`` with glob specials escaped (a literal prefix for SCAN MATCH)."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


class WalrusLocks(Workload):
    """walrus locks: ``db.lock(name, ttl=5000)`` over six names (each thread cycles through
    three; a busy lock is waited for 0.25 s, then the operation is a refusal); the holder reads
    the name's history length and writes its token at the next position (HLEN then HSET), so
    two holders at once would overwrite each other (an acknowledged write lost) besides being
    seen as an overlap. Request ids make the wait (``lock_acquire``) and release scripts
    exactly-once on resend; the first acquire attempt is SET NX, never resent (a lost reply
    raises OutcomeUnknownError; the lock may then be ours until its ttl), and so is the BLPOP
    a waiter blocks on (a lost wake-up raises OutcomeUnknownError from ``acquire``)."""

    name = "walrus_locks"
    SLOTS = 6
    TTL_MS = 5000
    WAIT = 0.25  # seconds an acquire waits for a busy lock before giving up (a refusal)

    def setup(self, target: Target) -> None:
        self.db = target.database()
        self.base = f"{target.tag}lk{uuid.uuid4().hex[:6]}"
        self.release_errors = 0

    def step(self, thread: int, seq: int, token: str) -> Any:
        from walrus.lock import LockError

        slot = (seq * self.threads + thread) % self.SLOTS
        lock = self.db.lock(f"{self.base}.{slot}", ttl=self.TTL_MS)
        try:
            taken = lock.acquire(timeout=self.WAIT)
        except OutcomeUnknownError:
            # What docs/reliability.md tells a caller to do: the lock may be ours (its SET
            # NX ran, the reply was lost); check, and free it rather than wait for its ttl.
            with contextlib.suppress(Exception):
                if lock.owned():
                    lock.release()
            raise
        if not taken:
            raise RefusedError("lock busy")
        try:
            with self.critical(slot, token):
                history = f"{self.base}.h{slot}"
                position = int(self.db.hlen(history)) + 1
                self.db.hset(history, str(position), token)
        finally:
            try:
                lock.release()
            except (LockError, redis.RedisError):
                self.release_errors += 1
        return None

    def verify(self, target: Target, counts: Counts) -> None:
        stored: Counter[str] = Counter()
        inspector = target.inspector()
        try:
            for slot in range(self.SLOTS):
                for token in inspector.hvals(f"{self.base}.h{slot}"):
                    stored[token.decode()] += 1
        finally:
            inspector.close()
        self.judge_tokens(counts, None, stored)
        counts.overlaps = self.overlaps

    def teardown(self) -> None:
        self.db.close()


class CeleryLocks(Workload):
    """Celery task locks: a ``WalrusLockedTask`` (``lock="execute"``, ``unique_on=["slot"]``,
    ``on_duplicate="raise"``) run eagerly, so each call takes the lock Celery's worker takes
    (SET NX PX with the task id as owner, an owner-checked release script, lease renewal
    while it runs) around the same HLEN + HSET history write as ``WalrusLocks``. A duplicate
    (``TaskLocked``) is a refusal."""

    name = "celery_locks"
    SLOTS = 4

    def setup(self, target: Target) -> None:
        from celery import Celery

        from celery_walrus import TaskLocked, WalrusLockedTask
        from celery_walrus.config import get_database

        self.TaskLocked = TaskLocked
        # Celery's eager apply() flips a process-wide "joining would block" flag around each
        # run, unsynchronised: concurrent eager runs can leave it set, which would break
        # result.get() in later tests of this process. Put it back afterwards.
        from celery._state import task_join_will_block

        self._join_will_block = task_join_will_block()
        self.app = app = Celery(f"faults-{uuid.uuid4().hex[:8]}", set_as_current=False)
        app.conf.update(
            broker_url="memory://",
            result_backend="cache+memory://",
            task_always_eager=True,
            task_eager_propagates=True,
            walrus_url=target.url,
            walrus_connection_options=target.options(),
            walrus_lock_renew_interval=2.0,  # a 6 s lease: outlives any outage here
        )
        self.base = f"{target.tag}cl{uuid.uuid4().hex[:6]}"
        workload = self

        @app.task(base=WalrusLockedTask, bind=True, unique_on=["slot"], on_duplicate="raise",
                  name=f"faults.guarded.{uuid.uuid4().hex[:6]}")  # fmt: skip
        def guarded(task: Any, slot: int, token: str) -> str:
            db = get_database(app)
            with workload.critical(slot, token):
                history = f"{workload.base}.h{slot}"
                position = int(db.hlen(history)) + 1
                db.hset(history, str(position), token)
            return token

        # Celery binds a task class lazily, on first use, and not thread-safely: six threads'
        # first calls could see it half bound (``request_stack`` still None). Bind it now
        # (reading ``app`` binds; a worker does this at start-up).
        if guarded.app is not app:
            raise RuntimeError("the guarded task is bound to another Celery app")
        self.task = guarded

    def step(self, thread: int, seq: int, token: str) -> Any:
        slot = (seq * self.threads + thread) % self.SLOTS
        try:
            result = self.task.delay(slot, token).get(disable_sync_subtasks=False)
        except self.TaskLocked as exc:
            raise RefusedError(str(exc)) from None
        if result != token:
            raise RuntimeError(f"task returned {result!r} instead of {token!r}")
        return None

    def verify(self, target: Target, counts: Counts) -> None:
        stored: Counter[str] = Counter()
        inspector = target.inspector()
        try:
            for slot in range(self.SLOTS):
                for token in inspector.hvals(f"{self.base}.h{slot}"):
                    stored[token.decode()] += 1
        finally:
            inspector.close()
        self.judge_tokens(counts, None, stored)
        counts.overlaps = self.overlaps

    def teardown(self) -> None:
        from celery._state import _set_task_join_will_block

        import celery_walrus

        celery_walrus.reset(self.app)
        _set_task_join_will_block(self._join_will_block)


def all_workloads(target: Target) -> list[Workload]:
    """One of each workload."""
    return [
        DjangoCache(),
        FlaskLimits(),
        WalrusModels(),
        LimpydCreates(),
        WalrusLocks(),
        CeleryLocks(),
    ]


# -- the runner -----------------------------------------------------------------------------


def _loop(workload: Workload, thread: int, stop: threading.Event) -> None:
    for seq in itertools.count(1):
        if stop.is_set():
            return
        token = f"{workload.name}.{thread}.{seq}"
        started = time.monotonic()
        kind, value, status, error = workload.kind(seq), None, "ok", ""
        try:
            value = workload.step(thread, seq, token)
        except OutcomeUnknownError as exc:
            status, error = "unknown", f"OutcomeUnknownError({exc.command})"
        except RefusedError:
            status = "refused"
        except Exception as exc:  # noqa: BLE001 - every failure is recorded and judged
            status, error = "failed", type(exc).__name__
            if DEBUG:
                error += f": {exc}"
        workload.record(
            Op(token, thread, seq, kind, started, time.monotonic(), status, error, value)
        )
        if status in ("failed", "refused"):
            time.sleep(FAIL_PAUSE)


def run_fault(
    workloads: Iterable[Workload],
    target: Target,
    fault: Callable[[], float],
    *,
    warmup: float = 1.0,
    after: float = 1.5,
    join_within: float = 20.0,
) -> dict[str, Counts]:
    """Run ``workloads`` against ``target``; after ``warmup`` seconds call ``fault()``, which
    injects the fault, waits for the server to be back and returns that moment
    (``time.monotonic()``); keep the load on for ``after`` more seconds, stop, join every
    thread within ``join_within`` seconds, then verify. Returns the counts by workload."""
    workloads = list(workloads)
    started: list[Workload] = []
    try:
        for workload in workloads:
            workload.setup(target)
            started.append(workload)
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=_loop, args=(w, i, stop), name=f"fault-{w.name}-{i}", daemon=True
            )
            for w in workloads
            for i in range(w.threads)
        ]
        for thread in threads:
            thread.start()
        time.sleep(warmup)
        injected = time.monotonic()
        ready = fault()
        time.sleep(after)
        stop.set()
        deadline = time.monotonic() + join_within
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        results: dict[str, Counts] = {}
        for workload in workloads:
            counts = Counts(workload.name)
            counts.hung_threads = sum(
                1 for t in threads if t.is_alive() and t.name.startswith(f"fault-{workload.name}-")
            )
            with workload._ops_lock:
                ops = list(workload.ops)
            counts.ops = len(ops)
            for status in ("ok", "failed", "refused", "unknown"):
                setattr(
                    counts,
                    "acked" if status == "ok" else status,
                    sum(1 for op in ops if op.status == status),
                )
            counts.errors = dict(Counter(op.error for op in ops if op.error))
            firsts = [op.ended for op in ops if op.status == "ok" and op.ended >= ready]
            counts.recovery_s = round(min(firsts) - ready, 4) if firsts else None
            counts.fault_s = round(ready - injected, 3)
            try:
                workload.verify(target, counts)
            except Exception as exc:  # noqa: BLE001 - reported as a broken promise
                counts.verify_error = f"{type(exc).__name__}: {exc}"
            results[workload.name] = counts
        return results
    finally:
        for workload in started:
            with contextlib.suppress(Exception):
                workload.teardown()
