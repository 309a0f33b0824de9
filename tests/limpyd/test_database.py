"""RedisDatabase and PipelineDatabase settings and registry."""

from __future__ import annotations

import threading

import pytest
import redis

from limpyd import fields, model
from limpyd.contrib.database import PipelineDatabase
from limpyd.database import RedisDatabase
from walrus import Database


def test_settings_are_checked_and_replaceable(redis_server, raw) -> None:
    with pytest.raises(ValueError, match="decode_responses"):
        RedisDatabase(decode_responses=False)
    with pytest.raises(ValueError, match="encoding_errors"):
        RedisDatabase(encoding_errors="strict")
    with pytest.raises(ValueError, match="connection_pool"):
        RedisDatabase(connection_pool=object())
    database = RedisDatabase(host=redis_server.host, port=redis_server.port, db=3)
    assert isinstance(database.connection, Database)
    first = database.connection
    database.connect(host=redis_server.host, port=redis_server.port, db=10)
    assert database.connection is not first
    assert database.connection_settings["db"] == 10
    database.connection.set("k", "v")
    assert raw.get("k") == "v"
    database.close()


def test_get_model(limpyd_db: RedisDatabase) -> None:
    class Thing(model.RedisModel):
        database = limpyd_db
        namespace = "ns"

    assert limpyd_db.get_model("Thing", "ns") is Thing
    with pytest.raises(KeyError, match="Thing"):
        limpyd_db.get_model("Thing")


def test_shared_pipeline_is_seen_by_other_threads(pipeline_db: PipelineDatabase) -> None:
    class Thing(model.RedisModel):
        database = pipeline_db
        value = fields.StringField()

    thing = Thing(value="v")
    with pipeline_db.pipeline(share_in_threads=True) as pipe:
        worker = threading.Thread(target=lambda: Thing.lazy_connect(thing.get_pk()).value.get())
        worker.start()
        worker.join()
        assert pipe.execute() == ["v"]
    assert not pipeline_db.has_pipeline()


def test_from_url_single_server_schemes(redis_server, raw) -> None:
    from redis.connection import SSLConnection, UnixDomainSocketConnection

    database = RedisDatabase.from_url(f"redis://{redis_server.host}:{redis_server.port}/{10}")
    try:
        assert not database.is_cluster and database.connection_settings["db"] == 10
        database.connection.set("from-url", "v")
        assert database.connection.get("from-url") == "v"
    finally:
        database.connection.delete("from-url")
        database.close()
    # Creating a client does not connect, so the TLS and socket-file forms are checked by the
    # connection class they configure.
    tls = RedisDatabase.from_url("rediss://user:secret@cache.example:6380/3")
    pool = tls.connection.connection_pool
    assert issubclass(pool.connection_class, SSLConnection)
    assert (pool.connection_kwargs["host"], pool.connection_kwargs["port"]) == (
        "cache.example",
        6380,
    )
    assert pool.connection_kwargs["db"] == 3 and pool.connection_kwargs["password"] == "secret"
    unix = RedisDatabase.from_url("unix:///run/redis/redis.sock?db=2")
    pool = unix.connection.connection_pool
    assert issubclass(pool.connection_class, UnixDomainSocketConnection)
    assert pool.connection_kwargs["path"] == "/run/redis/redis.sock"
    assert pool.connection_kwargs["db"] == 2
    with pytest.raises(ValueError, match="scheme"):
        RedisDatabase.from_url("memcached://h:1")


def test_connections_pack_with_walrus_fast_packer_binary_safe(
    limpyd_db: RedisDatabase, raw: redis.Redis
) -> None:
    """On redis-py releases that encode before hiredis, limpyd's connections use walrus'
    FastPacker (it encodes with the connection's surrogateescape rule); older hiredis packers
    get limpyd's own binary-safe wrapper. Either way a non-UTF-8 value round-trips."""
    from redis.connection import HiredisRespSerializer
    from redis.utils import HIREDIS_AVAILABLE

    from walrus.packing import FastPacker, encodes_in_python

    class Blob(model.RedisModel):
        database = limpyd_db
        data = fields.StringField()

    blob = Blob(data=b"\xff\xfe raw".decode("utf-8", "surrogateescape"))
    # a connection as the pool makes them (never connected)
    packer = limpyd_db.connection.connection_pool.make_connection()._command_packer
    if HIREDIS_AVAILABLE and encodes_in_python(HiredisRespSerializer()):
        assert isinstance(packer, FastPacker)
    elif HIREDIS_AVAILABLE:
        assert type(packer).__name__ == "_SurrogateSafePacker"
    else:
        assert not isinstance(packer, FastPacker)
    assert raw.execute_command("GET", blob.data.key, NEVER_DECODE=True) == b"\xff\xfe raw"
    assert Blob(blob.get_pk()).data.get() == b"\xff\xfe raw".decode("utf-8", "surrogateescape")
