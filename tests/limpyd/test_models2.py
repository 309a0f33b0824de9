"""redis-limpyd 2.x model and related-model API: use_database, scans, connection, MetaRedisModel,
available_commands, related_to, calling M2M fields, FK .instance(), fields as values."""

from __future__ import annotations

import pytest

from limpyd import fields, model
from limpyd.contrib import related
from limpyd.contrib.collection import ExtendedCollectionManager
from limpyd.database import RedisDatabase
from limpyd.exceptions import DoesNotExist


def test_use_database_moves_models_and_subclasses(limpyd_db: RedisDatabase) -> None:
    other = RedisDatabase(**limpyd_db.connection_settings)

    class Base(model.RedisModel):
        abstract = True
        namespace = "move"

    class Car(Base):
        database = limpyd_db
        name = fields.StringField()

    class SportCar(Car):
        pass

    assert set(limpyd_db.models) == {"move:car", "move:sportcar"}
    assert Car.use_database(other) == [Car, SportCar]
    assert limpyd_db.models == {} and set(other.models) == {"move:car", "move:sportcar"}
    assert SportCar.database is other
    assert isinstance(model.RedisModel, model.MetaRedisModel)


def test_scans_connection_and_commands(limpyd_db: RedisDatabase) -> None:
    class Bike(model.RedisModel):
        database = limpyd_db
        name = fields.StringField()
        tags = fields.SetField()

    bike = Bike(name="a", tags=["x"])
    assert set(Bike.scan_model_keys()) == {
        ":bike:1:name",
        ":bike:1:tags",
        ":bike:collection",
        ":bike:max_pk",
    }
    assert set(bike.scan_keys()) == {":bike:1:name", ":bike:1:tags"}
    assert set(limpyd_db.scan_keys(":bike:1:*")) == {":bike:1:name", ":bike:1:tags"}
    assert bike.connection is limpyd_db.connection is Bike.get_connection()
    assert {"get", "set", "ttl", "expire"} <= fields.StringField.available_commands
    assert Bike._redis_attr_name is Bike.get_field("name")
    assert limpyd_db.redis_version >= (6, 2)
    bike.delete()
    assert not bike.pk.exists()


def test_related_2x_api(limpyd_db: RedisDatabase) -> None:
    class Person(related.RelatedModel):
        database = limpyd_db
        namespace = "rel2"
        name = fields.PKField()
        age = fields.StringField(indexable=True)

    class Team(related.RelatedModel):
        database = limpyd_db
        namespace = "rel2"
        name = fields.PKField()
        owner = related.FKInstanceHashField(Person)
        boss = related.FKStringField("Person", related_name="bossed")
        members = related.M2MSetField(Person, related_name="teams")
        ranking = related.M2MSortedSetField(Person, related_name="ranked")

    assert Team.get_field("owner").related_to == "rel2:person"
    ann, bob = Person(name="ann", age=30), Person(name="bob", age=20)
    team = Team(name="t", owner=ann, members=[ann, bob])
    team.boss.set(team.owner)  # a related field as value: its pk
    assert team.boss.get() == "ann" and team.owner.instance() == ann
    assert team.boss.instance(skip_exist_test=True) == ann
    assert set(ann.team_set()) == {"t"}  # default related_name: <model>_set
    assert isinstance(ann.teams, related.RelatedCollection) and set(ann.teams()) == {"t"}
    members = team.members()
    assert isinstance(members, ExtendedCollectionManager)
    assert list(members.sort(by="age")) == ["bob", "ann"]
    assert set(team.members(age=30)) == {"ann"} and set(team.members.collection()) == {"ann", "bob"}
    assert [p.pk.get() for p in team.members().instances()] == ["ann", "bob"]
    team.ranking.zadd({"ann": 2, "bob": 1})
    assert list(team.ranking()) == ["bob", "ann"]
    ann.delete()
    assert team.owner.instance() is None
    Team(name="u").boss.set("ghost")
    with pytest.raises(DoesNotExist):
        Team("u").boss.instance()
    with pytest.raises(TypeError):
        Team("u").boss.set(Team("u").owner)  # an empty related field has no value to give


def test_post_command_get_field_key_and_connected(limpyd_db: RedisDatabase) -> None:
    seen: list[tuple[str, str, tuple[object, ...]]] = []

    class Note(model.RedisModel):
        database = limpyd_db
        text = fields.InstanceHashField()
        count = fields.StringField()

        def post_command(self, sender, name, result, args, kwargs):  # type: ignore[no-untyped-def]
            seen.append((sender.name, name, args))
            return f"<{result}>" if name == "hget" else result

    note = Note(text="hi")
    assert note.text.hget() == "<hi>"
    note.count.incr(2)
    assert seen == [("text", "hget", ()), ("count", "incrby", (2,))]
    assert note.key == ":note:1:hash"
    assert Note.get_field("text") is Note._redis_fields["text"]
    assert note.get_field("text") is note.text and note.get_field("pk") is note.pk
    lazy = Note.lazy_connect(1)
    assert not lazy.connected
    lazy.count.set(3)
    assert lazy.connected


def test_metaclass_subclass_and_redeclaration(limpyd_db: RedisDatabase) -> None:
    from limpyd.exceptions import ImplementationError

    class Meta(model.MetaRedisModel):
        def __new__(mcs, name, bases, attrs):  # type: ignore[no-untyped-def]
            return super().__new__(mcs, name, bases, attrs)

    class Thing(model.RedisModel, metaclass=Meta):
        database = limpyd_db

    with pytest.raises(ImplementationError, match="already defined"):

        class Thing(model.RedisModel, metaclass=Meta):  # type: ignore[no-redef]  # noqa: F811
            database = limpyd_db
