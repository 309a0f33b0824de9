"""RedisDatabase.from_url beyond one server: memory:// (walrus's embedded engine) and
redis+sentinel:// (the primary the sentinels name, followed across a failover)."""

from __future__ import annotations

import uuid

import pytest

from limpyd import fields, model
from limpyd.database import RedisDatabase
from limpyd.exceptions import UniquenessError
from limpyd.indexes import NumberRangeIndex
from tests.support.sentinel_server import start_sentinel_setup


def _model(db: RedisDatabase) -> type[model.RedisModel]:
    class Boat(model.RedisModel):
        database = db
        namespace = f"urls{uuid.uuid4().hex[:6]}"
        name = fields.InstanceHashField(indexable=True, unique=True)
        length = fields.InstanceHashField(indexable=True, indexes=[NumberRangeIndex])
        tags = fields.SetField(indexable=True)

    return Boat


def _exercise(Boat: type[model.RedisModel]) -> None:  # noqa: N803  a model class
    one = Boat(name="a", length=3, tags=["x"])
    Boat(name="b", length=5)
    assert list(Boat.collection(name="a")) == [one.pk.get()]
    assert len(Boat.collection(length__gte=4)) == 1
    assert list(Boat.collection(tags="x")) == [one.pk.get()]
    assert Boat.collection().sort(by="length").instances()[0].name.hget() == "a"
    with pytest.raises(UniquenessError):
        Boat(name="a")
    assert len(Boat.collection()) == 2


def test_memory_url() -> None:
    database = RedisDatabase.from_url(f"memory://limpyd-{uuid.uuid4().hex[:8]}")
    assert database.direct_connection.is_embedded
    _exercise(_model(database))
    database.close()


def test_sentinel_url_follows_a_failover() -> None:
    setup = start_sentinel_setup()
    try:
        database = RedisDatabase.from_url(setup.url(0), retries=10, retry_backoff=0.1)
        Boat = _model(database)
        _exercise(Boat)
        setup.fail_over()  # once the replica has every row
        Boat(name="c", length=7)  # written on the promoted replica
        assert sorted(Boat.collection(length__gte=4)) == sorted(
            Boat.collection(name__in=["b", "c"])
        )
        assert len(Boat.collection()) == 3
        database.close()
    finally:
        setup.stop()


@pytest.mark.parametrize(
    ("url", "message"),
    [("ftp://x", "unsupported scheme .ftp."), ("redis+sentinel://", "empty host")],
    ids=["unknown-scheme", "sentinel-without-service"],
)
def test_bad_urls_are_refused_before_connecting(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RedisDatabase.from_url(url).direct_connection  # noqa: B018 - building it parses the URL


def test_url_keyword_takes_only_url_schemes() -> None:
    with pytest.raises(ValueError, match="url= takes a memory:// or redis\\+sentinel:// URL"):
        RedisDatabase(url="redis://localhost:6379/0")
