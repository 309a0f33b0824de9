"""``Database``: a redis-py client with walrus's containers, helpers and scripts.

The hub of the core: every container and helper takes the ``Database`` it works on. Creating
one does not connect; the first command does.

Three client classes share the walrus extras of ``DatabaseBase`` (a mixin):

- ``Database(DatabaseBase, redis.Redis)``: one server, a Sentinel-managed primary
  (``redis+sentinel://``) or the embedded ``memory://`` engine;
- ``ClusterDatabase(DatabaseBase, redis.cluster.RedisCluster)``: Redis Cluster
  (``redis+cluster://``). ``isinstance(db, Database)`` holds for it too (``Database``'s
  metaclass says so), so code checking for a walrus ``Database`` keeps accepting it; but it
  is not a ``redis.Redis`` (no ``connection_pool``), and ``issubclass(ClusterDatabase,
  Database)`` stays False so that ``isinstance(db, redis.Redis)`` stays honest. Annotate
  code that accepts either with ``DatabaseBase``.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import redis
from redis.cluster import ClusterNode, RedisCluster
from redis.exceptions import NoScriptError, RedisClusterException, RedisError

from . import events
from .client_calls import ClientCalls
from .cluster import check_same_slot, command_keys, hash_tag, require_cluster_transactions
from .containers import (  # noqa: F401  (importable from here, as before)
    Array,
    BitField,
    BloomFilter,
    ConsumerGroup,
    Hash,
    HyperLogLog,
    List,
    Set,
    Stream,
    ZSet,
)
from .containers.factories import ContainerFactories
from .retry import (
    connection_class_for,
    install,
    outcome_unknown_since,
    pop_retry_options,
    resend_mark,
)
from .script_host import REQUEST_ID_TTL_MS, ScriptHost  # noqa: F401  (importable from here)
from .urls import (
    CLUSTER_SCHEMES,
    SCHEMES,
    SENTINEL_SCHEMES,
    SERVER_SCHEMES,
    parse_cluster_url,
    parse_sentinel_url,
    unsupported_scheme,
    url_retry_options,
    url_scheme,
)

if TYPE_CHECKING:  # pragma: no cover
    from .cache import Cache
    from .lock import Lock

__all__ = ["AtomicPipe", "ClusterDatabase", "Database", "DatabaseBase", "TransactionLocal"]


class TransactionLocal(threading.local):
    """Per-thread stack of open ``atomic()`` pipelines."""

    def __init__(self) -> None:
        self.pipes: list[Any] = []

    @property
    def pipe(self) -> Any:
        """The innermost open pipeline, or None."""
        return self.pipes[-1] if self.pipes else None

    def commit(self) -> list[Any]:
        """Execute and drop the innermost pipeline (IndexError when none is open).
        1 round trip (the innermost pipeline's execute)."""
        return cast(list[Any], self.pipes.pop().execute())

    def abort(self) -> None:
        """Discard the innermost pipeline (IndexError when none is open). No Redis work."""
        self.pipes.pop().reset()


class AtomicPipe:
    """What ``with db.atomic() as a`` and its asyncio twin bind: ``a.pipe``, the level's
    transaction pipeline, and the pipeline's other attributes on ``a`` itself (``a.set``
    queues like ``a.pipe.set``). No Redis work."""

    _pipe: Any = None

    @property
    def pipe(self) -> Any:
        """The pipeline of this level (None outside the block; a fresh one after
        ``commit()``/``clear()`` with ``begin_new``). No Redis work."""
        return self._pipe

    def __getattr__(self, name: str) -> Any:
        pipe = self.__dict__.get("_pipe")
        if pipe is None:
            raise AttributeError(name)
        return getattr(pipe, name)


class _Atomic(AtomicPipe):
    """Context manager behind ``Database.atomic()``: one MULTI/EXEC per level.

    ``with db.atomic() as a:`` binds this object, as upstream does: queue commands on
    ``a.pipe`` (the level's pipeline). Other attributes are looked up on that pipeline too,
    so ``a.set(...)`` queues like ``a.pipe.set(...)``.
    """

    def __init__(self, database: DatabaseBase) -> None:
        self.database = database
        self._pipe = None

    def __enter__(self) -> _Atomic:
        self._pipe = self.database.push_transaction()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.clear(begin_new=False)
        else:
            self.commit(begin_new=False)

    def commit(self, begin_new: bool = True) -> list[Any]:
        """Execute what was queued so far; optionally keep a fresh pipeline open."""
        result = self.database.commit_transaction()
        self._pipe = self.database.push_transaction() if begin_new else None
        return result

    def clear(self, begin_new: bool = True) -> None:
        """Drop what was queued so far."""
        self.database.clear_transaction()
        self._pipe = self.database.push_transaction() if begin_new else None


class DatabaseBase(ClientCalls, ContainerFactories, ScriptHost):
    """The walrus extras shared by ``Database`` and ``ClusterDatabase`` (a mixin placed
    before the redis-py client class).

    ``is_cluster`` says which kind of server it talks to; ``tag(name)`` gives the hash-tagged
    form of a name on a cluster (``"{name}"``) and the name unchanged otherwise, which the
    helpers use so that the keys of one operation share a slot.
    """

    #: True on ``ClusterDatabase``.
    is_cluster: bool = False
    script_dir: str | Path | None

    if TYPE_CHECKING:  # pragma: no cover - provided by the redis-py client class

        def eval(self, *args: Any, **kwargs: Any) -> Any:
            """redis-py's EVAL: 1 round trip (walrus's own scripts go through ``run_script``)."""
            ...

        def evalsha(self, *args: Any, **kwargs: Any) -> Any:
            """redis-py's EVALSHA: 1 round trip."""
            ...

        def register_script(self, *args: Any, **kwargs: Any) -> Any:
            """redis-py's: no Redis work until the script runs."""
            ...

        def pipeline(self, *args: Any, **kwargs: Any) -> Any:
            """redis-py's: no Redis work until ``execute()``, which is 1 round trip."""
            ...

        def scan_iter(self, *args: Any, **kwargs: Any) -> Any:
            """redis-py's SCAN iterator: 1 round trip per batch."""
            ...

        def type(self, *args: Any, **kwargs: Any) -> Any:
            """redis-py's TYPE: 1 round trip."""
            ...

        def execute_command(self, *args: Any, **kwargs: Any) -> Any:
            """redis-py's: 1 round trip."""
            ...

        def __getitem__(self, name: Any) -> Any: ...

    def _init_walrus(self, script_dir: str | Path | None, request_ids: bool = False) -> None:
        self._init_scripts(script_dir, request_ids)
        self._transaction_local = TransactionLocal()

    @property
    def is_embedded(self) -> bool:
        """True when this Database runs on the in-process ``memory://`` engine."""
        return False

    @property
    def connection_options(self) -> dict[str, Any]:
        """The keyword arguments every connection is made with (socket_timeout, db, ...)."""
        raise NotImplementedError  # pragma: no cover

    def disconnect(self) -> None:
        """Close every pooled connection (they reconnect on next use); e.g. after a fork.
        No Redis command: closes sockets."""
        raise NotImplementedError  # pragma: no cover

    def tag(self, name: Any) -> Any:
        """``"{name}"`` on a cluster (unchanged when ``name`` already has a ``{tag}``), ``name``
        itself otherwise. Keys built around the same tagged name share one cluster slot.
        No Redis work."""
        return hash_tag(name) if self.is_cluster else name

    # -- scripts ------------------------------------------------------------------------

    def run_script(
        self,
        script_name: str,
        keys: list[Any] | tuple[Any, ...] | None = None,
        args: list[Any] | tuple[Any, ...] | None = None,
        client: Any = None,
    ) -> Any:
        """Run the named Lua script: always one round trip.

        The first run from this Database sends the source (EVAL, which also caches it on the
        server); later runs send its SHA (EVALSHA), falling back to EVAL once when the server
        forgot it (``SCRIPT FLUSH``, restart, failover). ``client`` may be a pipeline: the
        script is queued there as EVAL, which cannot fail with NOSCRIPT mid-pipeline.
        Reported to ``walrus.events`` (kind ``script``, with its seconds) when anyone listens.
        """
        if events.listeners:
            return self._run_script_observed(script_name, keys, args, client)
        return self._send_script(script_name, keys, args, client)

    def _run_script_observed(self, script_name: str, keys: Any, args: Any, client: Any) -> Any:
        started = time.perf_counter()
        try:
            result = self._send_script(script_name, keys, args, client)
        except Exception:
            events.emit("script", script_name, "error", time.perf_counter() - started)
            raise
        events.emit("script", script_name, "ok", time.perf_counter() - started)
        return result

    def _send_script(self, script_name: str, keys: Any, args: Any, client: Any) -> Any:
        call = self._prepare_script(script_name, keys, args)
        if client is not None and client is not self:
            # EVAL through execute_command: cluster pipelines have no eval() of their own.
            options = self._pipeline_script_options(call.keys)
            return client.execute_command(*call.eval_command, **options)
        # Straight to execute_command: redis-py's eval()/evalsha() wrappers add nothing here
        # but a few calls, which are a visible share of a loopback round trip.
        if call.loaded:
            try:
                return self.execute_command(*call.evalsha_command)
            except NoScriptError:
                self._loaded_scripts.discard(call.marker)
        result = self.execute_command(*call.eval_command)
        self._loaded_scripts.add(call.marker)
        return result

    # -- transactions -------------------------------------------------------------------

    def atomic(self) -> _Atomic:
        """Context manager: commands sent through ``db.pipe`` run in one MULTI/EXEC on exit.
        On a cluster every key of one transaction must share a hash slot.
        No Redis work until the block ends: then 1 round trip (MULTI/EXEC)."""
        return _Atomic(self)

    def push_transaction(self) -> Any:
        # transaction=True explicitly: a cluster pipeline defaults to no MULTI/EXEC.
        """No Redis work."""
        pipe = self.pipeline(transaction=True)
        self._transaction_local.pipes.append(pipe)
        return pipe

    get_transaction = push_transaction  # upstream's name

    def pop_transaction(self) -> Any:
        """No Redis work."""
        return self._transaction_local.pipes.pop()

    def commit_transaction(self) -> list[Any]:
        """1 round trip (the queued commands in one MULTI/EXEC)."""
        return cast(list[Any], self.pop_transaction().execute())

    def clear_transaction(self) -> None:
        """No Redis work."""
        self.pop_transaction().reset()

    @property
    def pipe(self) -> Any:
        """The innermost open ``atomic()`` pipeline of this thread, or None."""
        pipes = self._transaction_local.pipes
        return pipes[-1] if pipes else None

    # -- helpers ---------------------------------------------------------------------------

    def cache(
        self, name: str = "cache", default_timeout: int | None = 3600, **kwargs: Any
    ) -> Cache:
        """No Redis work: builds the helper."""
        from .cache import Cache

        return Cache(self._db, name, default_timeout, **kwargs)

    def lock(self, name: str, ttl: int | None = None, lock_id: str | None = None) -> Lock:
        """No Redis work: builds the helper."""
        from .lock import Lock

        return Lock(self._db, name, ttl, lock_id)

    # -- pub/sub and monitoring ------------------------------------------------------------

    def listener(self, channels: Any = None, patterns: Any = None, is_async: bool = False) -> Any:
        """Decorator running a function for each pub/sub message until it raises StopIteration.
        No Redis work until the decorated function runs: then 1 round trip to subscribe and
        one read per message."""
        from .pubsub import make_listener

        return make_listener(self._db, channels, patterns, is_async)

    def stream_log(self, callback: Any, connection_id: str = "monitor") -> None:
        """Feed each command the server runs (MONITOR) to ``callback`` until it returns False
        or raises StopIteration; the monitor connection is released afterwards.
        ``walrus.pubsub.MonitorUnavailableError`` on the ``memory://`` engine and on a
        Redis Cluster client (no MONITOR there), before anything is sent.
        1 round trip (MONITOR), then one read per command the server runs."""
        from .pubsub import stream_log

        stream_log(self._db, callback, connection_id)


if TYPE_CHECKING:  # pragma: no cover
    from abc import ABCMeta as _RedisMeta
else:
    _RedisMeta = type(redis.Redis)  # typing's protocol metaclass (an ABCMeta)


class _DatabaseMeta(_RedisMeta):
    """Makes ``isinstance(cluster_db, Database)`` True without making ClusterDatabase a
    subclass (an ``issubclass``/``register`` answer would leak into ``redis.Redis``'s own
    isinstance checks, through ABCMeta's walk over ``Redis.__subclasses__()``)."""

    def __instancecheck__(cls, instance: Any) -> bool:  # noqa: N805  (a metaclass method)
        if cls is Database and isinstance(instance, ClusterDatabase):
            return True
        return super().__instancecheck__(instance)


class Database(DatabaseBase, redis.Redis, metaclass=_DatabaseMeta):  # type: ignore[misc]  # lock() is walrus's
    """Redis client with walrus extras, on one server (or a Sentinel-managed primary, or the
    embedded ``memory://`` engine).

    Accepts every ``redis.Redis`` argument plus ``script_dir``: a folder whose ``<name>.lua``
    files ``run_script`` prefers over the packaged scripts.
    """

    def __init__(self, *args: Any, script_dir: str | Path | None = None, **kwargs: Any) -> None:
        request_ids = False
        if kwargs.get("connection_pool") is None:
            # Built here from host/port (or unix_socket_path): the same safe reconnection as
            # from_url (redis-py's default Retry would resend any command, INCR included).
            retry_kwargs, request_ids = pop_retry_options(kwargs)
            kwargs.update(retry_kwargs)
            super().__init__(*args, **kwargs)
            install(self.connection_pool)
        else:
            request_ids = bool(kwargs.pop("request_ids", False))
            super().__init__(*args, **kwargs)
        self._init_walrus(script_dir, request_ids)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> Database:
        """Build a client from a URL (creating it does not connect):

        - ``redis://``, ``rediss://``, ``unix://``: one server (a ``Database``);
        - ``memory://NAME/DB``: the embedded in-process engine (no server needed);
        - ``redis+cluster://host:port[,host:port...]`` (or ``rediss+cluster://``): a
          ``ClusterDatabase`` (``isinstance(..., Database)`` holds; see the module docstring);
        - ``redis+sentinel://[password@]host:port[,host:port...]/service_name[/db]`` (or
          ``rediss+sentinel://``): a ``Database`` on the primary the sentinels name, following
          failovers. ``sentinel_kwargs`` (a dict) configures the sentinel connections.

        Reconnection (docs/reliability.md): ``retries`` (default 3), ``retry_backoff`` and
        ``retry_backoff_cap`` (seconds), ``request_ids`` (False), or redis-py's ``retry``
        (a ``Retry``: its backoff and count are kept), as keyword arguments or in the URL's
        query string (``redis://host/0?retries=5``). A command is resent on a fresh
        connection only when that is safe; otherwise ``walrus.OutcomeUnknownError``.

        Other keyword arguments go to the connections. Raises ValueError for an unknown scheme,
        a malformed URL or a bad option value.
        No Redis work (a ``ClusterDatabase`` reads the slot map at once: 1 round trip).
        """
        script_dir = kwargs.pop("script_dir", None)
        scheme = url_scheme(url)
        if scheme == "memory":
            from .embedded import memory_connection_pool

            pool = memory_connection_pool(url, **kwargs)
            return cls._owning(cls(connection_pool=pool, script_dir=script_dir))
        if scheme in CLUSTER_SCHEMES:
            # isinstance(result, Database) is True at runtime (see _DatabaseMeta).
            return cast(Database, ClusterDatabase.from_url(url, script_dir=script_dir, **kwargs))
        if scheme in SENTINEL_SCHEMES:
            return cls._from_sentinel_url(url, script_dir, kwargs)
        if scheme not in SERVER_SCHEMES:
            raise unsupported_scheme(url, SCHEMES)
        url, kwargs = url_retry_options(url, kwargs)
        retry_kwargs, request_ids = pop_retry_options(kwargs)
        pool = redis.ConnectionPool.from_url(url, **kwargs, **retry_kwargs)
        install(pool)
        return cls._owning(
            cls(connection_pool=pool, script_dir=script_dir, request_ids=request_ids)
        )

    @staticmethod
    def _owning(database: Database) -> Database:
        """``database``, closing the pool from_url built for it with itself (``close()``), as
        redis-py's own ``from_url`` clients do."""
        database.auto_close_connection_pool = True
        return database

    @classmethod
    def _from_sentinel_url(cls, url: str, script_dir: Any, kwargs: dict[str, Any]) -> Database:
        from redis.sentinel import Sentinel, SentinelConnectionPool

        url, kwargs = url_retry_options(url, kwargs)
        sentinels, service, connection_kwargs = parse_sentinel_url(url)
        sentinel_kwargs = kwargs.pop("sentinel_kwargs", None)
        connection_kwargs.update(kwargs)
        retry_kwargs, request_ids = pop_retry_options(connection_kwargs)
        sentinel = Sentinel(sentinels, sentinel_kwargs=sentinel_kwargs, **connection_kwargs)
        # The same pool master_for() builds, owned by a Database that keeps script_dir.
        pool = SentinelConnectionPool(
            service, sentinel, **{**sentinel.connection_kwargs, **retry_kwargs, "is_master": True}
        )
        install(pool)
        return cls._owning(
            cls(connection_pool=pool, script_dir=script_dir, request_ids=request_ids)
        )

    @property
    def is_embedded(self) -> bool:
        """True when this Database runs on the in-process ``memory://`` engine."""
        return "server" in self.connection_pool.connection_kwargs

    @property
    def connection_options(self) -> dict[str, Any]:
        """The keyword arguments every connection is made with (socket_timeout, db, ...)."""
        return dict(self.connection_pool.connection_kwargs)

    def disconnect(self) -> None:
        """Close every pooled connection (they reconnect on next use); e.g. after a fork.
        No Redis command: closes sockets."""
        self.connection_pool.disconnect()


class ClusterDatabase(DatabaseBase, RedisCluster):  # type: ignore[misc]  # lock() is walrus's
    """Redis Cluster client with the walrus extras (``redis.cluster.RedisCluster``'s arguments
    plus ``script_dir``).

    Each helper keeps the keys one operation touches in one hash slot (see docs/cluster.md);
    keyspace scans and flushes visit every primary. ``isinstance(db, Database)`` is True (a
    see ``_DatabaseMeta``) but it is not a ``redis.Redis``: there is no
    ``connection_pool``, ``atomic()`` transactions must stay within one slot, and MONITOR
    (``stream_log``) is not available.
    """

    is_cluster = True

    def __init__(
        self,
        *args: Any,
        script_dir: str | Path | None = None,
        request_ids: bool = False,
        **kwargs: Any,
    ) -> None:
        require_cluster_transactions()
        # Node connections track what they sent: a lost reply of a command that is not safe
        # to resend raises OutcomeUnknownError, which redis-py's cluster loop does not retry
        # (it retries exactly ConnectionError and TimeoutError, not their subclasses).
        base = kwargs.get("connection_class") or (
            redis.SSLConnection if kwargs.get("ssl") else redis.Connection
        )
        kwargs["connection_class"] = connection_class_for(base)
        # The walrus retry policy drives redis-py's cluster retry loop, whoever builds the
        # client: retries / retry_backoff / retry_backoff_cap (or redis-py's retry=, whose
        # count and backoff are kept), as from_url and Database(host=...) take them.
        retry_kwargs, ids = pop_retry_options(kwargs)
        kwargs["retry"] = retry_kwargs["retry"]
        request_ids = bool(request_ids) or ids
        if _REFRESH_INTERVAL_ARG:
            kwargs.setdefault("topology_refresh_min_interval", TOPOLOGY_REFRESH_MIN_INTERVAL)
        super().__init__(*args, **kwargs)
        # redis-py sends KEYS and DBSIZE to one node: they must see the whole keyspace (its
        # result callbacks already merge the primaries' replies).
        self.command_flags = {
            **self.command_flags,
            "KEYS": self.PRIMARIES,
            "DBSIZE": self.PRIMARIES,
        }
        self._init_walrus(script_dir, request_ids)

    def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        """redis-py's cluster ``execute_command``; when a write was resent after its reply
        was lost and the command then fails anyway, ``OutcomeUnknownError`` instead of the
        last attempt's error (the lost attempt may have been applied; see walrus.retry).
        1 round trip (to the node owning the command's slot)."""
        mark = resend_mark()
        try:
            return super().execute_command(*args, **kwargs)
        except NoScriptError:
            raise  # run_script sends the source at once, with the same request id
        except (RedisError, RedisClusterException) as exc:
            unknown = outcome_unknown_since(mark, exc)
            if unknown is not None:
                try:
                    raise unknown from exc
                finally:
                    del unknown  # else frame<->traceback cycle: client kept until GC
            raise

    def determine_slot(self, *args: Any) -> int | None:
        """The slot of a command; XREAD/XREADGROUP and the numkeys sorted-set/set commands are
        resolved locally (redis-py would ask the server: one more round trip per call)."""
        keys = command_keys(args)
        if not keys:
            return super().determine_slot(*args)
        check_same_slot(self, keys, str(args[0]))
        # redis-py leaves keyslot and the node helpers below unannotated.
        return cast(int, cast(Any, self).keyslot(keys[0]))

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> ClusterDatabase:
        """``redis+cluster://[[user:]password@]host:port[,host:port...]`` (or
        ``rediss+cluster://``); plain ``redis://host:port`` and ``rediss://`` name one startup
        node. Other keyword arguments go to ``RedisCluster``. Unlike ``Database``, creating it
        connects: redis-py's cluster client reads the slot map at once (1 round trip)."""
        script_dir = kwargs.pop("script_dir", None)
        scheme = url_scheme(url)
        if scheme in ("redis", "rediss"):
            url = url.replace("://", "+cluster://", 1)
        url, kwargs = url_retry_options(url, kwargs)
        hosts, options = parse_cluster_url(url)
        options.update(kwargs)
        # The walrus retry counts and backoff drive redis-py's cluster retry loop, which
        # re-reads the slot map between attempts (docs/reliability.md, "Redis Cluster").
        retry_kwargs, request_ids = pop_retry_options(options)
        options.setdefault("retry", retry_kwargs["retry"])
        nodes = [ClusterNode(host, port) for host, port in hosts]
        return cls(startup_nodes=nodes, script_dir=script_dir, request_ids=request_ids, **options)

    @property
    def connection_options(self) -> dict[str, Any]:
        """The keyword arguments every node connection is made with."""
        return dict(self.nodes_manager.connection_kwargs)

    def disconnect(self) -> None:
        """Close every pooled connection of every node (they reconnect on next use).
        No Redis command: closes sockets."""
        cast(Any, self).disconnect_connection_pools()

    def _pipeline_script_options(self, keys: list[Any]) -> dict[str, Any]:
        # Name the node of the first key: redis-py's non-transactional cluster pipeline would
        # otherwise send COMMAND GETKEYS for every queued EVAL (one extra round trip each).
        return {"target_nodes": cast(Any, self).get_node_from_key(keys[0])} if keys else {}

    def _script_scope(self, script_name: str, keys: list[Any]) -> Hashable:
        if not keys:
            return None  # any node: EVALSHA, reloading on NOSCRIPT
        check_same_slot(self, keys, f"script {script_name!r}")
        node = self.nodes_manager.get_node_from_slot(cast(Any, self).keyslot(keys[0]))
        return node.name if node is not None else None


# -- module helpers -------------------------------------------------------------------------

#: Seconds between two topology refreshes that errors ask for, on a cluster client (redis-py's
#: ``topology_refresh_min_interval``; its own default, 1 s, lets a client wait up to a second
#: past a failover before it learns the promoted replica: see docs/reliability.md).
TOPOLOGY_REFRESH_MIN_INTERVAL = 0.25
_REFRESH_INTERVAL_ARG = (
    "topology_refresh_min_interval" in inspect.signature(RedisCluster.__init__).parameters
)
