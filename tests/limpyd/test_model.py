"""RedisModel: declaration checks, creation/loading semantics, key layout, deletion."""

from __future__ import annotations

import pytest

from limpyd import fields, model
from limpyd.database import RedisDatabase
from limpyd.exceptions import DoesNotExist, ImplementationError, UniquenessError
from walrus.roundtrips import RoundTripCounter


def test_key_layout_follows_redis_limpyd(limpyd_db: RedisDatabase, raw) -> None:
    class Item(model.RedisModel):
        database = limpyd_db
        namespace = "shop"
        name = fields.StringField(indexable=True)
        price = fields.HashableField(indexable=True)
        tags = fields.SetField(indexable=True)
        history = fields.ListField()
        ranks = fields.SortedSetField()

    class Plain(model.RedisModel):
        database = limpyd_db
        name = fields.StringField(unique=True)

    Item(name="n", price=3, tags=["t"], history=["h1", "h2"], ranks={"r": 1})
    Plain(name="p")
    assert sorted(raw.keys()) == sorted(
        [
            "shop:item:collection",
            "shop:item:max_pk",
            "shop:item:1:name",
            "shop:item:1:hash",
            "shop:item:1:tags",
            "shop:item:1:history",
            "shop:item:1:ranks",
            "shop:item:name:n",
            "shop:item:price:3",
            "shop:item:tags:t",
            ":plain:collection",
            ":plain:max_pk",
            ":plain:1:name",
            ":plain:name:p",
        ]
    )
    assert raw.hgetall("shop:item:1:hash") == {"price": "3"}
    assert raw.lrange("shop:item:1:history", 0, -1) == ["h1", "h2"]
    assert raw.smembers("shop:item:price:3") == {"1"}


def test_data_written_by_plain_redis_reads_back(limpyd_db: RedisDatabase, raw) -> None:
    """Data laid out by redis-limpyd (simulated with raw commands) is readable."""
    raw.sadd(":legacy:collection", "7")
    raw.set(":legacy:max_pk", "7")
    raw.set(":legacy:7:name", "old")
    raw.hset(":legacy:7:hash", "color", "red")
    raw.sadd(":legacy:color:red", "7")

    class Legacy(model.RedisModel):
        database = limpyd_db
        name = fields.StringField()
        color = fields.HashableField(indexable=True)

    item = Legacy(7)
    assert item.name.get() == "old" and item.color.hget() == "red"
    assert list(Legacy.collection(color="red")) == ["7"]
    assert Legacy(name="new").get_pk() == "8"


def test_declaration_errors(limpyd_db: RedisDatabase) -> None:
    with pytest.raises(ImplementationError, match="database"):

        class NoDb(model.RedisModel):
            name = fields.StringField()

    with pytest.raises(ImplementationError, match="Only one PKField"):

        class TwoPks(model.RedisModel):
            database = limpyd_db
            a = fields.PKField()
            b = fields.AutoPKField()

    with pytest.raises(ImplementationError, match="reserved"):

        class Reserved(model.RedisModel):
            database = limpyd_db
            delete = fields.StringField()

    with pytest.raises(ImplementationError, match="'pk'"):

        class PkClash(model.RedisModel):
            database = limpyd_db
            id = fields.PKField()
            pk = fields.StringField()

    class Base(model.RedisModel):
        database = limpyd_db
        abstract = True
        name = fields.PKField()

    with pytest.raises(ImplementationError, match="Only one PKField"):

        class Child(Base):
            other = fields.PKField()


def test_fields_are_inherited_and_ordered(limpyd_db: RedisDatabase) -> None:
    class Base(model.RedisModel):
        database = limpyd_db
        abstract = True
        b = fields.StringField()
        a = fields.HashableField()

    class Child(Base):
        c = fields.SetField()
        id = fields.AutoPKField()

    assert Child._fields == ["id", "b", "a", "c"]
    assert Child._instancehash_fields == Child._hashable_fields == ["a"]
    assert Child.get_field("b")._model is Child and Base.get_field("b")._model is Base
    assert Child.get_field("pk") is Child.get_field("id")
    with pytest.raises(AttributeError, match="not a field"):
        Child.get_field("zz")


def test_creation_argument_errors_write_nothing(limpyd_db: RedisDatabase, raw) -> None:
    class Named(model.RedisModel):
        database = limpyd_db
        name = fields.PKField()
        value = fields.StringField()

    class Auto(model.RedisModel):
        database = limpyd_db
        value = fields.StringField()

    with pytest.raises(ValueError, match="args and kwargs"):
        Named("a", value="x")
    with pytest.raises(ValueError, match="only positional"):
        Named("a", "b")
    with pytest.raises(ValueError, match="two values for the primary key"):
        Named(name="a", pk="a")
    with pytest.raises(ValueError, match="you must fill it"):
        Named(value="x")
    with pytest.raises(ValueError, match="empty"):
        Named(name="")
    with pytest.raises(ValueError, match="must not fill it"):
        Auto(pk=3, value="x")
    with pytest.raises(ValueError, match="`nope` is not a valid field name for `Auto`"):
        Auto(nope=1)
    assert raw.keys() == []


def test_pkfield_instances(limpyd_db: RedisDatabase, raw) -> None:
    class Named(model.RedisModel):
        database = limpyd_db
        name = fields.PKField()
        value = fields.StringField(default="d")

    first = Named(name="a")
    assert first.value.get() == "d"
    with pytest.raises(UniquenessError, match="PKField a already exists"):
        Named(name="a", value="other")
    assert raw.get(":named:a:value") == "d"
    later = Named()
    assert later._pk is None
    with pytest.raises(ValueError, match="fill it"):
        later.value.set("x")
    assert later.pk.set("b") == 1 and later.value.get() == "d"
    with pytest.raises(ValueError, match="cannot be updated"):
        later.pk.set("c")
    with pytest.raises(ImplementationError):
        later.pk.delete()
    assert later.pk.exists() and Named.get_field("pk").exists("a")
    assert not Named.get_field("pk").exists("zz")
    assert Named.get_field("pk").collection() == {"a", "b"}
    assert list(Named.collection()) == ["a", "b"]  # alphabetical for non-numeric pks


def test_stale_keys_under_a_reused_pk_do_not_leak(limpyd_db: RedisDatabase, raw) -> None:
    raw.set(":named:x:value", "stale")
    raw.hset(":named:x:hash", "color", "stale")

    class Named(model.RedisModel):
        database = limpyd_db
        name = fields.PKField()
        value = fields.StringField()
        color = fields.HashableField()
        size = fields.HashableField()

    fresh = Named(name="x", size="1")
    assert fresh.value.get() is None
    assert fresh.hmget("color", "size") == [None, "1"]


def test_load_delete_and_dead_instances(limpyd_db: RedisDatabase, raw) -> None:
    class Thing(model.RedisModel):
        database = limpyd_db
        name = fields.HashableField(unique=True)
        tags = fields.SetField(indexable=True)
        note = fields.StringField()

    thing = Thing(name="a", tags=["x", "y"], note="n")
    Thing(name="b", tags=["x"])
    with RoundTripCounter() as rt:
        loaded = Thing(1)
    assert rt.count == 1 and loaded.connected
    with RoundTripCounter() as rt:
        loaded.delete()
    assert rt.count == 1  # one script reads the values and removes their index entries
    assert sorted(raw.keys()) == [
        ":thing:2:hash",
        ":thing:2:tags",
        ":thing:collection",
        ":thing:max_pk",
        ":thing:name:b",
        ":thing:tags:x",
    ]
    assert raw.smembers(":thing:tags:x") == {"2"}
    with pytest.raises(DoesNotExist):
        loaded.get_pk()
    with pytest.raises(DoesNotExist):
        loaded.note.get()
    with pytest.raises(DoesNotExist):
        thing.note.set("again")  # another handle on the deleted object
    with pytest.raises(DoesNotExist):
        Thing.lazy_connect(1).delete()
    with pytest.raises(DoesNotExist):
        Thing.lazy_connect(1).name.hset("z")
    assert Thing(name="a").get_pk() == "3"  # the unique value is free again


def test_get_exists_get_or_connect(limpyd_db: RedisDatabase) -> None:
    class Thing(model.RedisModel):
        database = limpyd_db
        name = fields.HashableField(indexable=True)
        kind = fields.StringField(indexable=True)

    Thing(name="a", kind="k")
    Thing(name="b", kind="k")
    assert Thing.exists(pk=1) and not Thing.exists(pk=9)
    assert Thing.exists(name="a") and not Thing.exists(name="zz")
    with pytest.raises(ValueError):
        Thing.exists()
    assert Thing.get(1).get_pk() == "1" and Thing.get(name="b").get_pk() == "2"
    with pytest.raises(DoesNotExist):
        Thing.get(name="zz")
    with pytest.raises(ValueError, match="More than one"):
        Thing.get(kind="k")
    got, created = Thing.get_or_connect(name="a")
    assert not created and got.get_pk() == "1"
    got, created = Thing.get_or_connect(name="c")
    assert created and got.name.hget() == "c"
    assert Thing.lazy_connect(1) == Thing(1) and Thing(1) != Thing(2)
    assert len({Thing(1), Thing.lazy_connect("1")}) == 1


def test_get_by_pk_filter_is_one_sismember(limpyd_db: RedisDatabase, raw) -> None:
    """``get(pk=...)`` (or the pk field's own name, with or without ``__eq``) is ``get(pk)``:
    one SISMEMBER on the collection, no collection query."""

    class Boat(model.RedisModel):
        database = limpyd_db
        ident = fields.PKField()
        name = fields.StringField(indexable=True)

    Boat(ident="a1", name="x")
    for filters in ({"pk": "a1"}, {"pk__eq": "a1"}, {"ident": "a1"}, {"ident__eq": "a1"}):
        before = int(raw.info("stats")["total_commands_processed"])
        with RoundTripCounter() as rt:
            assert Boat.get(**filters).pk.get() == "a1"
        ran = int(raw.info("stats")["total_commands_processed"]) - before - 1  # less INFO
        assert (rt.count, ran) == (1, 1), filters
        assert raw.info("commandstats")["cmdstat_sismember"]["calls"] >= 1
    with pytest.raises(DoesNotExist):
        Boat.get(pk="zz")
    assert Boat.get(name="x").pk.get() == "a1"  # other filters: the collection


def test_get_pk_saves_an_unsaved_instance(limpyd_db: RedisDatabase, raw) -> None:
    class Thing(model.RedisModel):
        database = limpyd_db
        name = fields.StringField()

    thing = Thing()
    assert thing.get_pk() == "1" and raw.smembers(":thing:collection") == {"1"}
    assert thing.name.key == ":thing:1:name"


def test_loading_by_a_string_pk(limpyd_db) -> None:
    """README: a model whose pk is a PKField is loaded by that value, ``Person('ybon')``."""
    from limpyd.exceptions import DoesNotExist

    class Person(model.RedisModel):
        database = limpyd_db
        login = fields.PKField()
        name = fields.InstanceHashField()

    Person(login="ybon", name="Yohan")
    loaded = Person("ybon")
    assert loaded.pk.get() == loaded.login.get() == "ybon"
    assert loaded.name.hget() == "Yohan"
    with pytest.raises(DoesNotExist):
        Person("nobody")


def test_imports_without_pkg_resources() -> None:
    """redis-limpyd needed pkg_resources (gone from Python 3.12's default tools): ours must
    import and run with it unavailable."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['pkg_resources'] = None\n"
        "import limpyd, limpyd.model, limpyd.fields, limpyd.contrib.related, "
        "limpyd.contrib.database, limpyd.collection\n"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
