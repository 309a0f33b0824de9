"""``RedisDatabase``: the connection settings and the model registry of limpyd models."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from redis.cluster import ClusterNode
from redis.connection import HiredisRespSerializer
from redis.utils import HIREDIS_AVAILABLE

from walrus import Database
from walrus.database import ClusterDatabase
from walrus.packing import encodes_in_python
from walrus.urls import (
    CLUSTER_SCHEMES,
    SENTINEL_SCHEMES,
    SERVER_SCHEMES,
    parse_cluster_url,
    server_kwargs,
    url_scheme,
)

from .exceptions import ImplementationError
from .scripts import script_dir
from .utils import ENCODING, ENCODING_ERRORS, to_bytes

if TYPE_CHECKING:  # pragma: no cover
    from .model import RedisModel

__all__ = ["DEFAULT_CONNECTION_SETTINGS", "RedisDatabase"]

DEFAULT_CONNECTION_SETTINGS: dict[str, Any] = {"host": "localhost", "port": 6379, "db": 0}
"""The settings ``RedisDatabase()`` uses when given none (redis-limpyd's defaults)."""


class _SurrogateSafePacker:
    """Command packer encoding ``str`` arguments with ``surrogateescape`` before hiredis packs
    them (hiredis encodes str strictly, which would refuse binary values read back as str)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def pack(self, *args: Any) -> Any:
        return self._inner.pack(
            *(a.encode(ENCODING, ENCODING_ERRORS) if isinstance(a, str) else a for a in args)
        )


def _needs_escaping(packer: Any) -> bool:
    """True for a hiredis packer of a redis-py release that hands ``str`` arguments to hiredis
    (strict UTF-8, which refuses binary values read back as str). redis-py's pure-Python
    packer, its hiredis packer in releases that encode first, and walrus' FastPacker built on
    that one encode through the connection's encoder (``surrogateescape`` here). No Redis
    work."""
    return (
        HIREDIS_AVAILABLE
        and isinstance(packer, HiredisRespSerializer)
        and not encodes_in_python(packer)
    )


def _install_binary_safe_packer(connection: Database) -> None:
    """Make the (not yet connected) pool's connections send surrogate-escaped text as the
    original bytes, when the packer redis-py would give them does not (``_needs_escaping``)."""
    if _needs_escaping(HiredisRespSerializer()):
        connection.connection_pool.connection_kwargs["command_packer"] = _SurrogateSafePacker(
            HiredisRespSerializer()
        )


class _LimpydClusterDatabase(ClusterDatabase):
    """The walrus cluster client whose connections send surrogate-escaped text as the original
    bytes (redis-py builds the node pools itself, so the packer is swapped on connect, before
    any command is sent on the connection)."""

    def on_connect(self, connection: Any) -> None:
        if _needs_escaping(connection._command_packer):
            connection._command_packer = _SurrogateSafePacker(connection._command_packer)
        cast(Any, super()).on_connect(connection)  # unannotated in redis-py


def _check_nodes(nodes: Any) -> list[tuple[str, int]]:
    if isinstance(nodes, (str, bytes)) or not isinstance(nodes, Sequence) or not nodes:
        raise ValueError(
            f"RedisDatabase: cluster_nodes must be a non-empty list of (host, port), got {nodes!r}"
        )
    checked: list[tuple[str, int]] = []
    for node in nodes:
        if (
            not isinstance(node, (tuple, list))
            or len(node) != 2
            or not isinstance(node[0], str)
            or isinstance(node[1], bool)
            or not isinstance(node[1], int)
        ):
            raise ValueError(
                f"RedisDatabase: each cluster node must be a (host: str, port: int) pair, got "
                f"{node!r}"
            )
        checked.append((node[0], node[1]))
    return checked


# Schemes walrus's Database.from_url builds the client for (see RedisDatabase.from_url).
_URL_SCHEMES = ("memory", *SENTINEL_SCHEMES)


def _same_declaration(old: Any, new: Any) -> bool:
    """True when two model classes come from the same ``class`` statement (same module,
    qualified name and source line)."""
    return (
        old.__module__ == new.__module__
        and old.__qualname__ == new.__qualname__
        and getattr(old, "_creation_source", None) == getattr(new, "_creation_source", None)
    )


class RedisDatabase:
    """Where limpyd models live: redis-py connection settings plus a registry of models.

    ``RedisDatabase(host=..., port=..., db=..., ...)`` takes the keyword arguments of
    ``redis.Redis``. Values are decoded to ``str`` (``decode_responses=True``) with the
    ``surrogateescape`` error handler, so binary values round-trip; asking for other decoding
    raises ``ValueError``. Creating it does not connect: the first command does.

    ``connection`` is the client fields talk to, a :class:`walrus.Database` (it also runs
    limpyd's Lua scripts). Two models with the same namespace and name cannot share a database.

    Redis Cluster: ``RedisDatabase(cluster_nodes=[(host, port), ...], **settings)`` (or
    :meth:`from_url` with ``redis+cluster://h:p,h:p``) talks to a cluster through a
    :class:`walrus.database.ClusterDatabase` (``settings`` are ``redis.cluster.RedisCluster``
    arguments). Creating it still does not connect; the first command reads the slot map.
    On a cluster every key of one model carries one hash tag (see ``RedisModel.cluster_tag``).
    """

    def __init__(self, **connection_settings: Any) -> None:
        self._connection: Database | None = None
        self._cluster_nodes: list[tuple[str, int]] | None = None
        self._url: str | None = None
        self._lock = threading.Lock()
        self._models: dict[str, type[RedisModel]] = {}
        self.connection_settings: dict[str, Any] = {}
        self.connect(**(connection_settings or DEFAULT_CONNECTION_SETTINGS))

    # -- connection ---------------------------------------------------------------------

    @classmethod
    def from_url(cls, url: str, **connection_settings: Any) -> RedisDatabase:
        """A database from a URL: ``redis://``, ``rediss://``, ``unix://`` (one server),
        ``redis+cluster://[[user:]password@]host:port[,host:port...]`` (``rediss+cluster://``
        for TLS) for a cluster, ``redis+sentinel://host:port[,...]/service[/db]`` (the primary
        the sentinels name, following failovers) or ``memory://name`` (walrus's embedded
        engine). Keyword arguments override the URL's options. Does not connect.
        No Redis work.
        """
        scheme = url_scheme(url)
        if scheme in CLUSTER_SCHEMES:
            hosts, options = parse_cluster_url(url)
            options.update(connection_settings)
            return cls(cluster_nodes=hosts, **options)
        if scheme in _URL_SCHEMES:
            # memory:// and Sentinel: walrus builds the client from the URL (the embedded
            # engine's pool, or one on the primary the sentinels name, following failovers)
            return cls(url=url, **connection_settings)
        if scheme not in SERVER_SCHEMES:
            raise ValueError(
                f"RedisDatabase.from_url: unsupported scheme {scheme!r} in {url!r}: expected "
                "redis://, rediss://, unix://, memory://, redis+cluster:// or redis+sentinel://"
            )
        options = server_kwargs(url)
        options.update(connection_settings)
        return cls(**options)

    @property
    def is_cluster(self) -> bool:
        """True when this database talks to a Redis Cluster (keys are then hash-tagged)."""
        return self._cluster_nodes is not None

    def reset(self, **connection_settings: Any) -> None:
        """redis-limpyd's name for :meth:`connect`: new settings, used from the next command. No
        Redis work."""
        self.connect(**connection_settings)

    def connect(self, **connection_settings: Any) -> Database:
        """Replace the connection settings (``cluster_nodes=[(host, port), ...]`` for a
        cluster); the new client connects on first use. No Redis work."""
        settings = dict(connection_settings)
        url = settings.pop("url", None)
        if url is not None and (not isinstance(url, str) or url_scheme(url) not in _URL_SCHEMES):
            raise ValueError(
                f"RedisDatabase: url= takes a memory:// or redis+sentinel:// URL (use from_url "
                f"for the others), got {url!r}"
            )
        nodes = settings.pop("cluster_nodes", None)
        cluster_nodes = None if nodes is None else _check_nodes(nodes)
        if not settings.pop("decode_responses", True):
            raise ValueError("RedisDatabase: decode_responses must stay True (limpyd returns str)")
        for name, wanted in (("encoding", ENCODING), ("encoding_errors", ENCODING_ERRORS)):
            given = settings.pop(name, wanted)
            if given != wanted:
                raise ValueError(
                    f"RedisDatabase: {name} must be {wanted!r} (binary values round-trip "
                    f"through it), got {given!r}"
                )
        if "connection_pool" in settings:
            raise ValueError("RedisDatabase: pass connection settings, not a connection_pool")
        self.connection_settings = settings
        self._cluster_nodes = cluster_nodes
        self._url = url
        with self._lock:
            old, self._connection = self._connection, None
        if old is not None:
            old.close()
        return self.direct_connection

    @property
    def direct_connection(self) -> Database:
        """The walrus ``Database`` client, never a pipeline (created on first access)."""
        connection = self._connection
        if connection is None:
            with self._lock:
                if self._connection is None and self._cluster_nodes is not None:
                    self._connection = self._cluster_connection(self._cluster_nodes)
                elif self._connection is None and self._url is not None:
                    connection = Database.from_url(
                        self._url,
                        script_dir=script_dir(),
                        decode_responses=True,
                        encoding=ENCODING,
                        encoding_errors=ENCODING_ERRORS,
                        **self.connection_settings,
                    )
                    _install_binary_safe_packer(connection)
                    self._connection = connection
                elif self._connection is None:
                    connection = Database(
                        script_dir=script_dir(),
                        decode_responses=True,
                        encoding=ENCODING,
                        encoding_errors=ENCODING_ERRORS,
                        **self.connection_settings,
                    )
                    _install_binary_safe_packer(connection)
                    self._connection = connection
                connection = self._connection
        return connection

    def _cluster_connection(self, nodes: list[tuple[str, int]]) -> Database:
        cluster = _LimpydClusterDatabase(
            startup_nodes=[ClusterNode(host, port) for host, port in nodes],
            script_dir=script_dir(),
            decode_responses=True,
            encoding=ENCODING,
            encoding_errors=ENCODING_ERRORS,
            **self.connection_settings,
        )
        # isinstance(cluster, Database) holds at runtime (walrus' metaclass).
        return cast(Database, cluster)

    @property
    def connection(self) -> Any:
        """The client field commands use: the walrus ``Database`` (a pipeline for
        :class:`limpyd.contrib.database.PipelineDatabase` inside ``pipeline()``)."""
        return self.direct_connection

    @property
    def redis_version(self) -> tuple[int, ...]:
        """The server's version as a tuple of ints (one INFO round trip, then cached)."""
        version = getattr(self, "_redis_version", None)
        if version is None:
            info: Any = self.direct_connection.info("server")
            if self.is_cluster and "redis_version" not in info:
                info = next(iter(info.values()))
            version = tuple(int(part) for part in str(info["redis_version"]).split(".")[:3])
            self._redis_version = version
        return version

    def scan_keys(self, match: str | None = None, count: int | None = None) -> Any:
        """Iterate over the keys matching ``match`` (SCAN; a key may come more than once). 1 round
        trip per SCAN page, as the iterator is consumed."""
        return self.direct_connection.scan_iter(match=match, count=count)

    def has_pipeline(self) -> bool:
        """True when field commands of this thread are being queued in a pipeline. No Redis work."""
        return False

    def run_script(self, name: str, keys: list[Any], args: list[Any]) -> Any:
        """Run one of walrus' Lua scripts on the direct connection (one round trip)."""
        if self.is_cluster:
            # Key names may hold binary values (surrogate-escaped): give the slot check and
            # the router their exact bytes.
            keys = [to_bytes(key) if isinstance(key, str) else key for key in keys]
        return self.direct_connection.run_script(name, keys=keys, args=args)

    def close(self) -> None:
        """Close the pooled connections (a later command reconnects). No Redis command."""
        if self._connection is not None:
            self._connection.close()

    # -- models -------------------------------------------------------------------------

    def _add_model(self, model: type[RedisModel]) -> None:
        """Register a concrete model; its ``namespace:name`` must be free on this database."""
        name = model._name
        with self._lock:
            existing = self._models.get(name)
            if existing is not None and _same_declaration(existing, model):
                # The same class statement run again (a module imported twice, a test
                # re-declaring its models): the new class replaces the old one.
                existing = None
            if existing is not None:
                raise ImplementationError(
                    f"a model named {model.__name__!r} with namespace {model.namespace!r} is "
                    f"already defined on this database ({existing.__module__}."
                    f"{existing.__qualname__}); give one of them another namespace"
                )
            self._models[name] = model
        try:
            self._model_added(model)
        except Exception:
            self._remove_model(model)
            raise

    def _remove_model(self, model: type[RedisModel]) -> None:
        """Forget ``model`` (used when its declaration fails after registration)."""
        with self._lock:
            if self._models.get(model._name) is model:
                del self._models[model._name]

    def _model_added(self, model: type[RedisModel]) -> None:
        """Hook run after a model is registered (related fields resolve pending links here)."""
        for other in list(self._models.values()):
            if other is model:
                continue
            hook = getattr(other, "_on_model_registered", None)
            if hook is not None:
                hook(model)

    def get_model(self, name: str, namespace: str = "") -> type[RedisModel]:
        """The registered model ``name`` (case-insensitive) in ``namespace``; KeyError if none. No
        Redis work."""
        try:
            return self._models[f"{namespace}:{name.lower()}"]
        except KeyError:
            raise KeyError(
                f"no model {name!r} in namespace {namespace!r} on this database"
            ) from None

    @property
    def models(self) -> dict[str, type[RedisModel]]:
        """Registered models by ``namespace:name`` (a copy)."""
        return dict(self._models)
