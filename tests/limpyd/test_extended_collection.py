"""ExtendedCollectionManager (redis-limpyd 2.x): intersect, sort by score, values,
values_list, store / from_stored; each evaluation is one MULTI/EXEC."""

from __future__ import annotations

import time
from typing import Any

import pytest

from limpyd import fields, model
from limpyd.contrib.collection import SORTED_SCORE, ExtendedCollectionManager
from limpyd.database import RedisDatabase
from limpyd.exceptions import DoesNotExist
from walrus.roundtrips import RoundTripCounter


@pytest.fixture
def models(limpyd_db: RedisDatabase) -> Any:
    class Group(model.RedisModel):
        database = limpyd_db
        collection_manager = ExtendedCollectionManager
        name = fields.InstanceHashField()
        active = fields.InstanceHashField(indexable=True, default=1)

    class Container(model.RedisModel):
        database = limpyd_db
        groups = fields.SortedSetField()
        group_set = fields.SetField()
        group_list = fields.ListField()

    for name, active in [("foo", 1), ("bar", 1), ("baz", 0), ("qux", 1)]:
        Group(name=name, active=active)
    return Group, Container


def test_intersect_sources(models: Any, raw: Any) -> None:
    Group, Container = models  # noqa: N806
    box = Container(groups={"1": 30, "2": 10, "9": 5}, group_set=["1", "3", "9"], group_list=["4"])
    assert list(Group.collection().intersect(box.groups)) == ["2", "1"]  # score order
    assert set(Group.collection().intersect(box.group_set)) == {"1", "3"}
    assert set(Group.collection(active=1).intersect(box.group_set, ["1", "2"])) == {"1"}
    assert list(Group.collection().intersect(box.group_list)) == ["4"]
    raw.sadd("ext:set", "2", "4", "50")
    assert set(Group.collection().intersect("ext:set")) == {"2", "4"}
    assert set(Group.collection().intersect("ext:none")) == set()
    assert set(Group.collection().intersect(())) == set()
    raw.set("ext:str", "x")
    with pytest.raises(ValueError, match="ext:str"):
        list(Group.collection().intersect("ext:str"))
    with pytest.raises(ValueError):
        Group.collection().intersect(3.5)
    with pytest.raises(ValueError, match="bound"):
        Group.collection().intersect(Container.get_field("groups"))
    base = Group.collection()
    assert base.intersect(["1"]) is not base and base.filter(active=1) is not base
    assert not [key for key in raw.keys() if "temp" in key]  # temporary keys deleted


def test_sort_by_score_values_and_values_list(models: Any) -> None:
    Group, Container = models  # noqa: N806
    box = Container(groups={"1": 1000, "2": 200, "3": 3000, "4": 40})
    by_score = Group.collection().sort(by_score=box.groups)
    assert list(by_score) == ["4", "2", "1", "3"]
    assert list(Group.collection().sort(by_score=box.groups, desc=True)) == ["3", "1", "2", "4"]
    assert by_score[1:3] == ["2", "1"]
    active = Group.collection(active=1).sort(by_score=box.groups)
    assert list(active.values_list("name", flat=True)) == ["qux", "bar", "foo"]
    assert list(active.values("name", SORTED_SCORE)) == [
        {"name": "qux", SORTED_SCORE: "40.0"},
        {"name": "bar", SORTED_SCORE: "200.0"},
        {"name": "foo", SORTED_SCORE: "1000.0"},
    ]
    assert list(Group.collection(pk=2).values()) == [{"pk": "2", "name": "bar", "active": "1"}]
    assert list(Group.collection(active=0).values_list("pk", "name")) == [("3", "baz")]
    assert list(Group.collection(active=0).values_list("name").primary_keys()) == ["3"]
    with pytest.raises(ValueError, match="flat"):
        Group.collection().values_list("pk", "name", flat=True)
    with pytest.raises(ValueError):
        Container.collection(manager=ExtendedCollectionManager).values("groups")
    with pytest.raises(ValueError, match="by_score"):
        Group.collection().sort(by="name", by_score=box.groups)
    with RoundTripCounter() as rt:
        list(Group.collection(active=1).intersect(["1", "2"]).sort(by_score=box.groups).values())
    assert rt.count == 1


def test_store_and_from_stored(models: Any, raw: Any) -> None:
    Group, _ = models  # noqa: N806
    stored = Group.collection(active=1).sort(by="-name", alpha=True).store()
    assert stored.stored_key.startswith(":group:__collection__:store:")
    assert raw.lrange(stored.stored_key, 0, -1) == ["4", "1", "2"]
    assert 0 < raw.ttl(stored.stored_key) <= 60
    assert list(stored) == ["4", "1", "2"] and len(stored) == 3
    assert list(stored.filter(pk=1)) == ["1"]
    assert list(stored.values_list("name", flat=True)) == ["qux", "foo", "bar"]
    kept = Group.collection(active=0).store(key="mine", ttl=None)
    assert kept.stored_key == "mine" and raw.ttl("mine") == -1 and kept.stored_key_exists()
    short = Group.collection(active=1).store(ttl=1)
    time.sleep(1.1)
    with pytest.raises(DoesNotExist):
        list(short)
    empty = Group.collection(active=5).store()
    assert list(empty) == []


def test_filter_values_from_fields_are_read_at_evaluation(models: Any) -> None:
    Group, _ = models  # noqa: N806
    probe = Group(name="foo", active=1)
    collection = Group.collection(active=probe.active)
    probe.active.hset(0)  # changed after the collection was built: the new value counts
    assert set(collection) == {"3", "5"}
    assert len(collection) == 2
    with pytest.raises(ValueError, match="not indexable|no field"):
        Group.collection(nope=probe.active)
