"""contrib.related: FK and M2M fields, related collections, propagation of deletions."""

from __future__ import annotations

import pytest

from limpyd import fields, model
from limpyd.contrib import related
from limpyd.database import RedisDatabase
from limpyd.exceptions import ImplementationError


def test_field_flags_and_aliases(limpyd_db: RedisDatabase) -> None:
    assert related.FKHashableField is related.FKInstanceHashField
    field = related.FKStringField("X", indexable=False, cacheable=True)
    assert field.indexable and not field.cacheable
    with pytest.raises(ImplementationError, match="`to`"):
        related.FKStringField(3)
    with pytest.raises(ImplementationError, match="related_name"):
        related.FKStringField("X", related_name=3)


@pytest.fixture
def models(limpyd_db: RedisDatabase):
    class Person(related.RelatedModel):
        database = limpyd_db
        name = fields.PKField()

    class Group(related.RelatedModel):
        database = limpyd_db
        name = fields.PKField()
        owner = related.FKHashableField(Person, related_name="owned")
        members = related.M2MSetField(Person, related_name="membership")
        queue = related.M2MListField(Person, related_name="queued_in")
        ranking = related.M2MSortedSetField(Person, related_name="ranked_in")
        parent = related.FKStringField("self", related_name="children")

    return Person, Group


def test_m2m_fields_and_reverse_collections(models, raw, helpers) -> None:
    Person, Group = models
    a, b, c = Person(name="a"), Person(name="b"), Person(name="c")
    group = Group(name="g", owner=a, members=[a, "b"], queue=[c, a, c], ranking={b: 2, c: 1})
    other = Group(name="h", members=[b], parent=group)
    assert group.members.smembers() == {"a", "b"}
    assert group.queue.lrange(0, -1) == ["c", "a", "c"]
    assert group.ranking.zrange(0, -1) == ["c", "b"]
    assert group.ranking.zadd({a: 3}) == 1 and group.ranking.zscore(a) == 3.0
    assert group.members.sismember(b) is True
    assert list(a.owned()) == ["g"]
    assert list(b.membership()) == ["g", "h"]
    assert list(c.queued_in()) == ["g"]
    assert list(a.ranked_in()) == ["g"]
    assert list(group.children()) == ["h"]
    assert list(b.membership(parent=group)) == ["h"]
    assert [g.get_pk() for g in b.membership().instances()] == ["g", "h"]
    assert other.parent.get() == "g"
    for name in ("owner", "members", "queue", "ranking", "parent"):
        helpers.assert_index_consistent(raw, Group, name)
    with pytest.raises(ValueError, match="already filtered"):
        a.owned(owner="b")


def test_wrong_instance_type_is_refused(models, limpyd_db: RedisDatabase, raw, helpers) -> None:
    Person, Group = models

    class Other(related.RelatedModel):
        database = limpyd_db

    group = Group(name="g")
    before = helpers.snapshot(raw)
    with pytest.raises(TypeError, match="Group.owner expects a Person instance or pk, got a Other"):
        group.owner.hset(Other())
    assert {k for k in helpers.snapshot(raw) if not k.startswith(":other")} == set(before)


def test_deletion_propagates(models, raw, helpers) -> None:
    Person, Group = models
    a, b = Person(name="a"), Person(name="b")
    g = Group(name="g", owner=a, members=[a, b], queue=[a, b, a], ranking={a: 1, b: 2})
    h = Group(name="h", owner=a, parent=g)
    a.delete()
    assert g.owner.hget() is None and h.owner.hget() is None
    assert g.members.smembers() == {"b"}
    assert g.queue.lrange(0, -1) == ["b"]
    assert g.ranking.zrange(0, -1) == ["b"]
    for name in ("owner", "members", "queue", "ranking", "parent"):
        helpers.assert_index_consistent(raw, Group, name)
    g.delete()  # 'self' relation: h.parent is cleared
    assert h.parent.get() is None
    assert list(Group.collection()) == ["h"]
    assert not [k for k in raw.keys() if k.startswith(":person:a") or ":a" == k[-2:]]


def test_update_moves_between_related_collections(models) -> None:
    Person, Group = models
    a, b = Person(name="a"), Person(name="b")
    g = Group(name="g", owner=a)
    g.owner.hset(b)
    assert list(a.owned()) == [] and list(b.owned()) == ["g"]
    g.hmset(owner=a)
    assert list(a.owned()) == ["g"] and list(b.owned()) == []
    g.owner.delete()
    assert list(a.owned()) == []


def test_lazy_resolution_of_names(limpyd_db: RedisDatabase) -> None:
    class Book(related.RelatedModel):
        database = limpyd_db
        author = related.FKStringField("Author")

    with pytest.raises(ImplementationError, match="no related model 'Author'"):
        Book.get_field("author").related_model  # noqa: B018

    class Author(related.RelatedModel):
        database = limpyd_db

    assert Book.get_field("author").related_model is Author
    writer = Author()
    book = Book(author=writer)
    assert list(writer.book_set()) == [book.get_pk()]


def test_related_name_errors(limpyd_db: RedisDatabase) -> None:
    class Person(related.RelatedModel):
        database = limpyd_db
        name = fields.StringField()

    class Plain(model.RedisModel):
        database = limpyd_db

    with pytest.raises(ImplementationError, match="already used"):

        class Club(related.RelatedModel):
            database = limpyd_db
            a = related.FKStringField(Person, related_name="clubs")
            b = related.FKStringField(Person, related_name="clubs")

    with pytest.raises(ImplementationError, match="clashes"):

        class Team(related.RelatedModel):
            database = limpyd_db
            a = related.FKStringField(Person, related_name="name")

    with pytest.raises(ImplementationError, match="identifier"):

        class Bad(related.RelatedModel):
            database = limpyd_db
            a = related.FKStringField(Person, related_name="not valid")

    with pytest.raises(ImplementationError, match="RelatedModel"):

        class ToPlain(related.RelatedModel):
            database = limpyd_db
            a = related.FKStringField("Plain")


def test_target_on_another_database_or_abstract_is_refused(
    limpyd_db: RedisDatabase, redis_server
) -> None:
    other_db = RedisDatabase(host=redis_server.host, port=redis_server.port, db=11)

    class Elsewhere(related.RelatedModel):
        database = other_db
        name = fields.PKField()

    class Base(related.RelatedModel):
        abstract = True
        database = limpyd_db

    class Crossing(related.RelatedModel):  # as redis-limpyd: accepted, linked once moved
        database = limpyd_db
        a = related.FKStringField(Elsewhere, related_name="crossings")

    assert not hasattr(Elsewhere, "crossings")
    with pytest.raises(ImplementationError, match="Elsewhere must be on the same database"):
        _ = Crossing.get_field("a").related_model

    with pytest.raises(ImplementationError, match="Base is abstract"):

        class ToAbstract(related.RelatedModel):
            database = limpyd_db
            a = related.FKStringField(Base)

    other_db.close()


def test_use_database_relinks_relations(limpyd_db: RedisDatabase, redis_server, raw) -> None:
    other_db = RedisDatabase(host=redis_server.host, port=redis_server.port, db=11)
    other_db.direct_connection.flushdb()

    class Author(related.RelatedModel):
        database = limpyd_db
        namespace = "relink"
        name = fields.InstanceHashField()

    class Book(related.RelatedModel):
        database = limpyd_db
        namespace = "relink"
        author = related.FKInstanceHashField(Author, related_name="books")

    class Review(related.RelatedModel):
        database = other_db
        namespace = "relink"
        book = related.FKInstanceHashField(Book, related_name="reviews")

    assert hasattr(Author, "books") and not hasattr(Book, "reviews")
    Book.use_database(other_db)  # Book joins Review, leaves Author
    assert hasattr(Book, "reviews") and not hasattr(Author, "books")
    book = Book(author="1")
    review = Review(book=book)
    assert list(book.reviews()) == [review.pk.get()]
    assert raw.dbsize() == 0  # Book's rows went to the other database
    with pytest.raises(ImplementationError, match="Author must be on the same database"):
        _ = Book.get_field("author").related_model
    Book.use_database(limpyd_db)
    assert hasattr(Author, "books") and not hasattr(Book, "reviews")
    other_db.direct_connection.flushdb()
    other_db.close()


def test_related_writes_inside_a_pipeline(pipeline_db, raw, helpers) -> None:
    """An FK is indexable (its reverse collection is an index): setting it needs reads, so a
    pipeline refuses it before queuing; nothing is written."""

    class Owner(related.RelatedModel):
        database = pipeline_db
        name = fields.PKField()

    class Car(related.RelatedModel):
        database = pipeline_db
        owner = related.FKInstanceHashField(Owner, related_name="cars")
        riders = related.M2MSetField(Owner, related_name="rides")

    ada, bob = Owner(name="ada"), Owner(name="bob")
    car = Car(owner=ada)
    before = helpers.snapshot(raw)
    with pipeline_db.pipeline() as pipe:
        with pytest.raises(ImplementationError, match="indexable"):
            car.owner.hset(bob)
        with pytest.raises(ImplementationError, match="indexable"):
            car.riders.sadd(bob)
        with pytest.raises(ImplementationError, match="indexable"):
            car.hmset(owner=bob)
        assert len(pipe) == 0
    assert helpers.snapshot(raw) == before
    assert list(ada.cars()) == [car.pk.get()] and list(bob.cars()) == []
