"""Every example of the limpyd README (the specification), in README order.

Where the README is inconsistent with itself (typos, a collection read as instances, filters
on non-indexable fields) the test says so and runs the closest working form.
"""

from __future__ import annotations

import pytest
import redis

from limpyd import fields, model
from limpyd.contrib import related
from limpyd.contrib.database import PipelineDatabase
from limpyd.database import RedisDatabase
from limpyd.exceptions import DoesNotExist, ImplementationError, UniquenessError
from walrus.roundtrips import RoundTripCounter


def test_intro_bike(limpyd_db: RedisDatabase) -> None:
    """README intro: Bike with HashableField/StringField via ``limpyd.model``."""

    class Bike(model.RedisModel):
        database = limpyd_db
        name = model.HashableField(indexable=True, unique=True)
        color = model.HashableField()
        wheels = model.StringField(default=2)

    mountainbike = Bike(name="mountainbike")
    assert mountainbike.wheels.get() == "2"
    assert mountainbike.wheels.incr() == 3
    assert mountainbike.wheels.get() == "3"
    Bike(name="tricycle", wheels=3)
    # The README indexes the collection and uses the result as an instance; collections
    # return pks unless .instances() is called (as the Collections section says).
    assert Bike.collection(name="tricycle")[0] == "2"
    tricycle = Bike.collection(name="tricycle").instances()[0]
    assert tricycle.wheels.get() == "3"
    assert tricycle.hmset(color="blue") is True
    assert tricycle.hmget("color") == ["blue"]
    assert tricycle.hmget("color", "name") == ["blue", "tricycle"]
    assert tricycle.color.hget() == "blue"
    assert tricycle.color.hset("yellow") == 0
    assert tricycle.hmget("color") == ["yellow"]


def test_database_definition_and_abstract_base_model(redis_server, raw) -> None:
    """README Database: RedisDatabase(host, port, db); abstract base model sharing it."""
    main_database = RedisDatabase(host=redis_server.host, port=redis_server.port, db=10)

    class Example(model.RedisModel):
        database = main_database
        some_field = fields.StringField()

    class BaseModel(model.RedisModel):
        database = main_database
        abstract = True

    class Foo(BaseModel):
        foo_field = fields.StringField()

    class Bar(BaseModel):
        bar_field = fields.StringField()

    assert not Foo.abstract and not Bar.abstract and BaseModel.abstract
    foo = Foo(foo_field="x")
    bar = Bar(bar_field="y")
    assert raw.get(f":foo:{foo.get_pk()}:foo_field") == "x"
    assert raw.get(f":bar:{bar.get_pk()}:bar_field") == "y"
    with pytest.raises(ImplementationError, match="abstract"):
        BaseModel()
    assert isinstance(main_database.connection, redis.Redis)
    assert set(main_database.models) == {":example", ":foo", ":bar"}
    main_database.close()


def test_same_model_name_needs_a_namespace(limpyd_db: RedisDatabase) -> None:
    """README: two models with the same name on one database collide unless namespaced."""

    def make(namespace: str | None) -> type[model.RedisModel]:
        class Example(model.RedisModel):
            database = limpyd_db
            foo = fields.StringField()

        if namespace is not None:
            Example.namespace = namespace
        return Example

    def make_again() -> type[model.RedisModel]:
        class Example(model.RedisModel):  # another class statement, same name
            database = limpyd_db

        return Example

    first = make(None)
    with pytest.raises(ImplementationError, match="namespace"):
        make_again()
    assert limpyd_db.get_model("Example") is first
    # redis-limpyd 2.x: running the same class statement again (a module imported twice, a
    # test re-declaring its models) replaces the registered model instead of failing.
    second = make(None)
    assert second is not first and limpyd_db.get_model("Example") is second

    class Other(model.RedisModel):
        database = limpyd_db
        namespace = "registration"

    class Other2(model.RedisModel):
        database = limpyd_db
        namespace = "payment"

    assert Other._name == "registration:other" and Other2._name == "payment:other2"

    def same_name(namespace: str) -> type[model.RedisModel]:
        cls = type("Example", (model.RedisModel,), {"database": limpyd_db, "namespace": namespace})
        return cls

    assert same_name("payment")._name == "payment:example"
    with pytest.raises(ImplementationError, match="already defined"):
        type("Example", (model.RedisModel,), {"database": limpyd_db, "namespace": "payment"})


def test_models_create_load_and_pk(limpyd_db: RedisDatabase) -> None:
    """README Models: Example(foo=, bar=), pk #1, Example(1)."""

    class Example(model.RedisModel):
        database = limpyd_db
        foo = fields.StringField()
        bar = fields.StringField()

    example = Example(foo="FOO", bar="BAR")
    assert "New example object with pk #%s" % example.pk.get() == "New example object with pk #1"  # noqa: UP031
    again = Example(1)
    assert again.foo.get() == "FOO" and again.bar.get() == "BAR"
    with pytest.raises(DoesNotExist):
        Example(2)
    with pytest.raises(ValueError):  # DoesNotExist is also a ValueError (older limpyd)
        Example(99)


def test_no_arguments_defaults_or_empty_instance(limpyd_db: RedisDatabase, raw) -> None:
    """README: without arguments, defaults are taken and saved (as in redis-limpyd 2.x, at the
    instance's first use, not by ``Model()`` itself); with no default, no pk is set."""

    class WithDefault(model.RedisModel):
        database = limpyd_db
        foo = fields.StringField(default="FOO")

    class NoDefault(model.RedisModel):
        database = limpyd_db
        foo = fields.StringField()

    with RoundTripCounter() as rt:
        saved = WithDefault()
    assert rt.count == 0 and saved._pk is None and not saved.connected and raw.keys() == []
    assert saved.foo.get() == "FOO"  # reading it saves it with its defaults
    assert saved.connected and saved.get_pk() == "1" and raw.get(":withdefault:1:foo") == "FOO"
    empty = NoDefault()
    assert empty._pk is None and not empty.connected
    assert not raw.exists(":nodefault:collection")
    assert empty.foo.get() is None  # reading does not create anything
    assert not raw.exists(":nodefault:collection")


def test_abstract_content_model_with_namespace(limpyd_db: RedisDatabase, raw) -> None:
    """README Models/abstract: Content(namespace="content") -> Article, Image."""

    class Content(model.RedisModel):
        database = limpyd_db
        namespace = "content"
        abstract = True
        title = fields.HashableField()
        pub_date = fields.HashableField()

    class Article(Content):
        content = fields.StringField()

    class Image(Content):
        path = fields.HashableField()

    article = Article(title="t", pub_date="2024", content="body")
    image = Image(title="i", path="/p")
    assert Article._fields == ["pk", "title", "pub_date", "content"]
    assert raw.hgetall("content:article:1:hash") == {"title": "t", "pub_date": "2024"}
    assert raw.get("content:article:1:content") == "body"
    assert raw.hgetall("content:image:1:hash") == {"title": "i", "path": "/p"}
    assert article.get_pk() == image.get_pk() == "1"


def test_field_default(limpyd_db: RedisDatabase) -> None:
    """README Field attributes/default."""

    class Example(model.RedisModel):
        database = limpyd_db
        foo = fields.StringField(default="FOO")
        bar = fields.StringField()

    example = Example(bar="BAR")
    assert example.foo.get() == "FOO" and example.bar.get() == "BAR"


def test_field_indexable(limpyd_db: RedisDatabase) -> None:
    """README Field attributes/indexable: foo filterable, bar not."""

    class Example(model.RedisModel):
        database = limpyd_db
        foo = fields.StringField(indexable=True)
        bar = fields.StringField()

    Example(foo="x", bar="y")
    assert list(Example.collection(foo="x")) == ["1"]
    with pytest.raises(ValueError, match="bar is not indexable"):
        Example.collection(bar="y")


def test_field_unique_error_message(limpyd_db: RedisDatabase, raw) -> None:
    """README Field attributes/unique: the exact UniquenessError message, nothing left."""

    class Example(model.RedisModel):
        database = limpyd_db
        foo = fields.StringField(indexable=True)
        bar = fields.StringField(unique=True)

    Example(foo="FOO", bar="BAR")
    before = {k: raw.type(k) for k in raw.keys()}
    with pytest.raises(
        UniquenessError, match=r"^Key :example:bar:BAR already exists \(for instance 1\)$"
    ):
        Example(foo="FOO", bar="BAR")
    assert {k: raw.type(k) for k in raw.keys()} == before
    assert raw.get(":example:max_pk") == "1"
    assert raw.smembers(":example:foo:FOO") == {"1"}


def test_stringfield_example(limpyd_db: RedisDatabase, raw) -> None:
    """README StringField: Example(name='foo') then delete."""

    class Example(model.RedisModel):
        database = limpyd_db
        name = fields.StringField()

    example = Example(name="foo")
    assert example.name.get() == "foo"
    example.delete()
    assert raw.keys() == [":example:max_pk"]


def test_hashablefield_simple_commands(limpyd_db: RedisDatabase) -> None:
    """README HashableField: hset returns 1 when the hash field was created."""

    class Example(model.RedisModel):
        database = limpyd_db
        foo = fields.HashableField()
        bar = fields.HashableField()

    example = Example()
    assert example.foo.hset("FOO") == 1  # 1 because the hash field was created
    assert example.foo.hget() == "FOO"
    assert example.foo.hdel() == 1
    assert example.foo.hget() is None


def test_hmget_hmset_and_hmget_dict(limpyd_db: RedisDatabase) -> None:
    """README hmget/hmset, with the hmget_dict helper using ``_hashable_fields``."""

    class Example(model.RedisModel):
        database = limpyd_db
        foo = fields.HashableField()
        bar = fields.HashableField()

        def hmget_dict(self, *args):
            values = self.hmget(*args)
            keys = args or self._hashable_fields
            return dict(zip(keys, values, strict=True))

    example = Example(foo="FOO", bar="BAR")
    assert example.hmget("foo", "bar") == ["FOO", "BAR"]
    assert example.hmget_dict("foo", "bar") == {"bar": "BAR", "foo": "FOO"}
    assert example.hmget() == ["FOO", "BAR"]
    assert example.hmget_dict() == {"foo": "FOO", "bar": "BAR"}
    other = Example()
    assert other.hmset(foo="FOO", bar="BAR") is True
    assert other.hmget("foo", "bar") == ["FOO", "BAR"]


def test_setfield_example(limpyd_db: RedisDatabase, raw) -> None:
    """README SetField."""

    class Example(model.RedisModel):
        database = limpyd_db
        stuff = fields.SetField()

    example = Example()
    assert example.stuff.sadd("foo", "bar") == 2
    assert example.stuff.smembers() == {"foo", "bar"}
    assert example.stuff.sismember("bar") is True
    assert example.stuff.srem("bar") == 1
    assert example.stuff.smembers() == {"foo"}
    assert example.stuff.delete() == 1
    assert not raw.exists(":example:1:stuff")


def test_listfield_example(limpyd_db: RedisDatabase, raw) -> None:
    """README ListField."""

    class Example(model.RedisModel):
        database = limpyd_db
        stuff = fields.ListField()

    example = Example()
    assert example.stuff.rpush("foo", "bar") == 2
    assert example.stuff.lrange(0, -1) == ["foo", "bar"]
    assert example.stuff.lindex(1) == "bar"
    assert example.stuff.lrem(1, "bar") == 1
    assert example.stuff.lrange(0, -1) == ["foo"]
    assert example.stuff.delete() == 1
    assert not raw.exists(":example:1:stuff")


def test_sortedsetfield_example(limpyd_db: RedisDatabase, raw) -> None:
    """README SortedSetField, including zadd(member=score)."""

    class Example(model.RedisModel):
        database = limpyd_db
        stuff = fields.SortedSetField()

    example = Example()
    assert example.stuff.zadd(foo=2.5, bar=1.1) == 2
    assert example.stuff.zrange(0, -1) == ["bar", "foo"]
    assert example.stuff.zrangebyscore(1, 2, withscores=True) == [("bar", 1.1)]
    assert example.stuff.zrem("bar") == 1
    assert example.stuff.zrangebyscore(1, 2, withscores=True) == []
    assert example.stuff.delete() == 1
    assert not raw.exists(":example:1:stuff")


def test_pk_fields_examples(limpyd_db: RedisDatabase, raw) -> None:
    """README PKField/AutoPKField: Foo (implicit pk), Bar (id), Baz (name), get_pk."""

    class Foo(model.RedisModel):
        database = limpyd_db

    class Bar(model.RedisModel):
        database = limpyd_db
        id = fields.AutoPKField()

    class Baz(model.RedisModel):
        database = limpyd_db
        name = fields.PKField()

    class Example(model.RedisModel):
        database = limpyd_db
        id = fields.AutoPKField()
        name = fields.StringField()

    assert Foo._pk_field_name == "pk" and isinstance(Foo.pk, fields.AutoPKField)
    assert Bar._pk_field_name == "id" and Bar.pk is Bar.id
    baz = Baz(name="a name")
    assert baz.pk.get() == baz.name.get() == baz.get_pk() == "a name"
    with pytest.raises(ValueError, match="you must fill it"):
        Baz()._create({})
    example = Example(name="foobar")
    assert example.get_pk() == example.pk.get() == example.id.get() == "1"
    assert raw.smembers(":example:collection") == {"1"}
    with pytest.raises(ValueError, match="auto-increment"):
        Example(id=5, name="x")


def test_collections_examples(limpyd_db: RedisDatabase) -> None:
    """README Collections: filtering, slicing, sorting, instances, laziness."""

    class Person(model.RedisModel):
        database = limpyd_db
        firstname = fields.HashableField(indexable=True)
        lastname = fields.HashableField(indexable=True)
        birth_year = fields.HashableField(indexable=True)

        def __repr__(self) -> str:
            return "<[%s] %s %s (%s)>" % tuple(  # noqa: UP031
                [self.get_pk()] + self.hmget("firstname", "lastname", "birth_year")
            )

    assert (
        repr(Person(firstname="John", lastname="Smith", birth_year=1960))
        == "<[1] John Smith (1960)>"
    )
    assert (
        repr(Person(firstname="John", lastname="Doe", birth_year=1965)) == "<[2] John Doe (1965)>"
    )
    assert (
        repr(Person(firstname="Emily", lastname="Smith", birth_year=1950))
        == "<[3] Emily Smith (1950)>"
    )
    assert (
        repr(Person(firstname="Susan", lastname="Doe", birth_year=1960)) == "<[4] Susan Doe (1960)>"
    )

    # Filtering (the README printed the rows as a list; redis-limpyd 2.x's repr names the
    # collection class, as here)
    assert Person.collection(firstname="John") == ["1", "2"]
    assert repr(Person.collection(firstname="John")) == "<CollectionManager ['1', '2']>"
    assert list(Person.collection(firstname="john", lastname="Smith")) == []
    assert list(Person.collection(birth_year=1965)) == ["2"]
    assert list(Person.collection(birth_year=1965, lastname="Smith")) == []
    # Slicing
    assert Person.collection(firstname="John")[1:2] == ["2"]
    # Sorting
    assert list(Person.collection(firstname="John").sort(by="lastname", alpha=True)) == ["2", "1"]
    assert Person.collection(firstname="John").sort(by="lastname", alpha=True)[1:2] == ["1"]
    assert list(Person.collection().sort(by="birth_year")) == ["3", "1", "4", "2"]
    # Instantiating
    assert repr(Person.collection(firstname="John").instances()) == (
        "<CollectionManager [<[1] John Smith (1960)>, <[2] John Doe (1965)>]>"
    )
    expected = "<CollectionManager [<[2] John Doe (1965)>, <[1] John Smith (1960)>]>"
    assert (
        repr(Person.collection(firstname="John").instances().sort(by="lastname", alpha=True))
        == expected
    )
    assert (
        repr(Person.collection(firstname="John").sort(by="lastname", alpha=True).instances())
        == expected
    )
    first = Person.collection(firstname="John").sort(by="lastname", alpha=True).instances()[0]
    assert repr(first) == "<[2] John Doe (1965)>"
    # Lazyness: nothing is sent until the results are needed
    with RoundTripCounter() as rt:
        results = Person.collection(firstname="John").instances()
    assert rt.count == 0
    with RoundTripCounter() as rt:
        assert [p.get_pk() for p in results] == ["1", "2"]
    assert rt.count == 1


def test_cache_example_on_model(limpyd_db: RedisDatabase) -> None:
    """README Cache: get calls Redis, then hits the cache; set clears it."""

    class Example(model.RedisModel):
        database = limpyd_db
        a_field = fields.StringField()

    class NoCache(model.RedisModel):
        database = limpyd_db
        cacheable = False
        a_field = fields.StringField()

    example = Example()
    example.a_field.set("foo")
    with RoundTripCounter() as rt:
        assert example.a_field.get() == "foo"  # call Redis
        assert rt.count == 1
        assert example.a_field.get() == "foo"  # hit the cache
        assert rt.count == 1
        example.a_field.set("bar")  # clear the cache
        assert rt.count == 2
        assert example.a_field.get() == "bar"  # call Redis
        assert rt.count == 3
    uncached = NoCache(a_field="foo")
    with RoundTripCounter() as rt:
        uncached.a_field.get()
        uncached.a_field.get()
    assert rt.count == 2


def test_cache_example_on_fields(limpyd_db: RedisDatabase) -> None:
    """README Cache/On fields: bar = StringField(cacheable=False)."""

    class Example(model.RedisModel):
        database = limpyd_db
        foo = fields.StringField()
        bar = fields.StringField(cacheable=False)

    example = Example(foo="f", bar="b")
    with RoundTripCounter() as rt:
        example.foo.get(), example.foo.get(), example.bar.get(), example.bar.get()
    assert rt.count == 3


def test_cache_is_per_instance(limpyd_db: RedisDatabase) -> None:
    """README Cache warning: another instance updating the object does not clear this cache."""

    class Example(model.RedisModel):
        database = limpyd_db
        foo = fields.StringField()

    first = Example(foo="a")
    assert first.foo.get() == "a"
    Example(first.get_pk()).foo.set("b")
    assert first.foo.get() == "a"
    assert Example(first.get_pk()).foo.get() == "b"


def test_related_first_example(limpyd_db: RedisDatabase) -> None:
    """README related: Person/Group with FKHashableField and M2MSetField(related_name)."""

    class Person(related.RelatedModel):
        database = limpyd_db
        name = fields.PKField()

    class Group(related.RelatedModel):
        database = limpyd_db
        name = fields.PKField()
        # The README filters on ``private`` in related collections: that needs it indexable.
        private = fields.StringField(indexable=True)
        owner = related.FKHashableField("Person")
        members = related.M2MSetField("Person", related_name="membership")

    core_devs = Group(name="limpyd core devs", private=0)
    ybon = Person(name="ybon")
    twidi = Person(name="twidi")
    core_devs.owner.hset(ybon)
    core_devs.members.sadd(twidi, ybon._pk)  # give a limpyd object, or a pk
    assert core_devs.members.smembers() == {"ybon", "twidi"}
    assert list(ybon.group_set(private=0)) == ["limpyd core devs"]
    assert list(twidi.membership()) == ["limpyd core devs"]


def test_related_literal_example_filters_a_non_indexable_field(limpyd_db: RedisDatabase) -> None:
    """README related example as written: ``private`` is not indexable, so filtering on it
    raises a clear error (the issue asks for that) instead of returning wrong results."""

    class Person(related.RelatedModel):
        database = limpyd_db
        name = fields.PKField()

    class Group(related.RelatedModel):
        database = limpyd_db
        name = fields.PKField()
        private = fields.StringField()
        owner = related.FKHashableField("Person")

    ybon = Person(name="ybon")
    Group(name="g", private=0, owner=ybon)
    assert list(ybon.group_set()) == ["g"]
    with pytest.raises(ValueError, match="private is not indexable"):
        ybon.group_set(private=0)


def test_related_to_argument_forms(limpyd_db: RedisDatabase) -> None:
    """README `to`: a model, a name, 'namespace:Name', 'self'."""

    class Person(related.RelatedModel):
        database = limpyd_db
        name = fields.StringField()

    class Group(related.RelatedModel):
        database = limpyd_db
        name = fields.StringField()
        owner = related.FKStringField(Person)
        owner_by_name = related.FKStringField("Person", related_name="named_groups")
        parent = related.FKStringField("self")

    class Person2(related.RelatedModel):  # noqa: N801 - README-like naming
        database = limpyd_db
        namespace = "my_namespace"

    Person2.__name__ = "Person2"

    class Group2(related.RelatedModel):
        database = limpyd_db
        owner = related.FKStringField("my_namespace:Person2")

    person = Person(name="p")
    parent = Group(name="parent")
    child = Group(name="child", owner=person, owner_by_name=person, parent=parent)
    assert list(person.group_set()) == [child.get_pk()]
    assert list(person.named_groups()) == [child.get_pk()]
    assert list(parent.group_set()) == [child.get_pk()]
    other = Person2()
    g2 = Group2(owner=other)
    assert list(other.group2_set()) == [g2.get_pk()]
    assert Group.get_field("owner").related_model is Person
    assert Group2.get_field("owner").related_model is Person2


def test_related_name_formatting_for_subclasses(limpyd_db: RedisDatabase) -> None:
    """README related_name with %(namespace)s_%(model)s_set on an abstract base."""

    class Person(related.RelatedModel):
        database = limpyd_db
        name = fields.StringField()

    class BaseGroup(related.RelatedModel):
        database = limpyd_db
        namespace = "groups"
        abstract = True
        name = fields.StringField()
        owner = related.FKStringField("Person", related_name="%(namespace)s_%(model)s_set")

    class PublicGroup(BaseGroup):
        pass

    class PrivateGroup(BaseGroup):
        pass

    # 'Person' is not in the 'groups' namespace: the global Person is used
    assert PublicGroup.get_field("owner").related_model is Person
    someone = Person(name="someone")
    public = PublicGroup(owner=someone)
    private = PrivateGroup(owner=someone)
    assert list(someone.groups_publicgroup_set()) == [public.get_pk()]
    assert list(someone.groups_privategroup_set()) == [private.get_pk()]


def test_related_collections_example(limpyd_db: RedisDatabase) -> None:
    """README Related collections: owned_groups, with filters; update and deletion."""

    class Person(related.RelatedModel):
        database = limpyd_db
        name = fields.PKStringField()

    class Group(related.RelatedModel):
        database = limpyd_db
        name = fields.PKStringField()
        # README: StringField(defaut=0) (typo) and filtered on: indexable with a default here
        private = fields.StringField(default=0, indexable=True)
        owner = related.FKStringField("Person", related_name="owned_groups")

    group1 = Group(name="group 1")
    group2 = Group(name="group 2", private=1)  # the README reuses 'group 1' (a typo)
    person1 = Person(name="person 1")
    group1.owner.set(person1)
    group2.owner.set(person1)
    assert list(Group.collection(owner=person1.get_pk())) == ["group 1", "group 2"]
    assert list(person1.owned_groups()) == ["group 1", "group 2"]
    assert list(person1.owned_groups(private=1)) == ["group 2"]
    # update: the previous owner loses the group
    person2 = Person(name="person 2")
    group1.owner.set(person2)
    assert list(person1.owned_groups()) == ["group 2"]
    assert list(person2.owned_groups()) == ["group 1"]
    # deletion of the owner clears the groups' owner field
    person1.delete()
    assert group2.owner.get() is None
    assert list(Group.collection(owner="person 1")) == []


def test_pipeline_example(pipeline_db: PipelineDatabase) -> None:
    """README Pipelines: many gets in one call, results from execute()."""

    class Person(model.RedisModel):
        database = pipeline_db
        name = fields.StringField()
        city = fields.StringField(indexable=True)

    Person(name="Jean Dupond", city="Paris")
    Person(name="Francois Martin", city="Paris")
    Person(name="John Smith", city="New York")
    Person(name="John Doe", city="San Franciso")
    Person(name="Paul Durand", city="Paris")
    persons = list(Person.collection(city="Paris").instances())
    with RoundTripCounter() as rt:
        with pipeline_db.pipeline() as pipeline:
            for person in persons:
                person.name.get()
            names = pipeline.execute()
    assert names == ["Jean Dupond", "Francois Martin", "Paul Durand"]
    assert rt.count == 1


def test_transaction_example(pipeline_db: PipelineDatabase) -> None:
    """README Transactions: Page.incr_hits with a watched field; returns [True]."""

    class Page(model.RedisModel):
        database = pipeline_db
        url = fields.StringField(indexable=True)
        hits = fields.StringField()

        def incr_hits(self):
            def do_incr(pipeline):
                previous_value = self.hits.get()
                pipeline.multi()
                self.hits.set((int(previous_value) if previous_value else 0) + 1)

            return self.database.transaction(do_incr, *[self.hits])

    page = Page(url="/")
    assert page.incr_hits() == [True]
    assert page.incr_hits() == [True]
    assert page.hits.get() == "2"
