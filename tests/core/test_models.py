"""walrus.models: the documented Model API, fields and query expressions."""

from __future__ import annotations

import datetime
import uuid

import pytest

from walrus import Database
from walrus.containers import Hash, List, Set, ZSet
from walrus.models import (
    AutoIncrementField,
    BooleanField,
    ByteField,
    DateField,
    DateTimeField,
    FilterError,
    FloatField,
    HashField,
    IntegerField,
    JSONField,
    ListField,
    Model,
    SetField,
    TextField,
    UUIDField,
    ZSetField,
)
from walrus.query import OP_AND, OP_OR, Expression


def make_models(db: Database) -> dict[str, type[Model]]:
    class User(Model):
        __database__ = db
        __namespace__ = "app"
        username = TextField(primary_key=True)
        admin = BooleanField(index=True, default=False)
        age = IntegerField(index=True)
        score = FloatField(index=True)
        bio = TextField(fts=True)
        joined = DateTimeField(index=True)
        birthday = DateField(index=True)
        prefs = JSONField()
        avatar = ByteField()
        token = UUIDField(index=True)

    class Note(Model):
        __database__ = db
        title = TextField(index=True)
        content = TextField(fts=True, stemmer=True)
        hits = IntegerField(index=True, default=0)
        tags = SetField()
        meta = HashField()
        log = ListField()
        ranks = ZSetField()

    return {"User": User, "Note": Note}


def test_create_load_roundtrip_every_field_type(db: Database) -> None:
    User = make_models(db)["User"]
    token = uuid.uuid4()
    joined = datetime.datetime(2024, 2, 29, 23, 59, 58, 123456)
    u = User.create(
        username="charlie",
        age=33,
        score=1.5,
        bio="likes redis",
        joined=joined,
        birthday=datetime.date(1990, 1, 2),
        prefs={"a": [1, 2]},
        avatar=b"\x00\xff",
        token=token,
    )
    loaded = User.load("charlie")
    assert loaded._data == u._data
    assert loaded.admin is False and loaded.age == 33 and loaded.score == 1.5
    assert loaded.joined == joined and loaded.birthday == datetime.date(1990, 1, 2)
    assert loaded.prefs == {"a": [1, 2]} and loaded.avatar == b"\x00\xff" and loaded.token == token
    assert loaded.bio == "likes redis" and isinstance(loaded.bio, str)
    assert User.count() == 1
    with pytest.raises(KeyError):
        User.load("nobody")


def test_implicit_id_and_autoincrement(db: Database) -> None:
    Note = make_models(db)["Note"]
    assert Note._primary_key == "_id"
    assert isinstance(Note._fields["_id"], AutoIncrementField)
    a, b = Note.create(title="a"), Note.create(title="b")
    assert (a._id, b._id) == (1, 2)
    assert Note.load(2).title == "b"
    assert Note.load("2").title == "b"  # a text pk from a URL converts
    assert a.get_id() == 1 and a.get_hash_id() == b"note:id.1"


def test_datetime_is_utc(db: Database) -> None:
    User = make_models(db)["User"]
    aware = datetime.datetime(
        2024, 1, 1, 12, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    User.create(username="a", joined=aware)
    assert User.load("a").joined == datetime.datetime(2024, 1, 1, 10, 0)
    raw = db.hget(b"app|user:id.a", "joined")
    assert (
        raw
        == str(
            int(datetime.datetime(2024, 1, 1, 10, tzinfo=datetime.timezone.utc).timestamp())
        ).encode()
        + b".000000"
    )
    User.create(username="b", joined=datetime.datetime(1969, 12, 31, 23, 59, 59, 500000))
    assert User.load("b").joined == datetime.datetime(1969, 12, 31, 23, 59, 59, 500000)
    got = [u.username for u in User.query(User.joined < datetime.datetime(1970, 1, 1))]
    assert got == ["b"]


def test_get_requires_exactly_one(db: Database) -> None:
    Note = make_models(db)["Note"]
    Note.create(title="x", hits=1)
    Note.create(title="x", hits=2)
    assert Note.get(Note.hits == 2).hits == 2
    with pytest.raises(ValueError):
        Note.get(Note.title == "x")
    with pytest.raises(ValueError):
        Note.get(Note.title == "nope")


def test_expressions(db: Database) -> None:
    Note = make_models(db)["Note"]
    for i, title in enumerate(["apple", "banana", "cherry", "apricot", "date"]):
        Note.create(title=title, hits=i * 10)

    def titles(expr: object, **kw: object) -> list[str]:
        return [n.title for n in Note.query(expr, **kw)]  # type: ignore[arg-type]

    assert titles(Note.title == "banana") == ["banana"]
    assert titles(Note.title != "banana") == ["apple", "cherry", "apricot", "date"]
    assert titles(Note.hits < 20) == ["apple", "banana"]
    assert titles(Note.hits <= 20) == ["apple", "banana", "cherry"]
    assert titles(Note.hits > 20) == ["apricot", "date"]
    assert titles(Note.hits >= 30) == ["apricot", "date"]
    assert titles(Note.hits.between(10, 30)) == ["banana", "cherry", "apricot"]
    assert titles(Note.title.startswith("ap")) == ["apple", "apricot"]
    assert titles(Note.title.in_(["date", "apple", "zzz"])) == ["apple", "date"]
    assert titles(Note.hits.in_([])) == []
    assert titles(Note.title << ["cherry"]) == ["cherry"]
    assert titles((Note.hits > 0) & (Note.title.startswith("a"))) == ["apricot"]
    assert titles((Note.hits == 0) | (Note.title == "date")) == ["apple", "date"]
    assert titles(Note.title > "banana") == ["cherry", "date"]
    assert titles(Note.title.between("b", "cherry")) == ["banana", "cherry"]
    assert titles(None, order_by=Note.title.desc()) == [
        "date",
        "cherry",
        "banana",
        "apricot",
        "apple",
    ]
    assert titles(None, order_by=Note.hits.desc())[0] == "date"
    expr = (Note.hits == 1) & (Note.hits == 2)
    assert isinstance(expr, Expression) and expr.op == OP_AND
    assert ((Note.hits == 1) | (Note.hits == 2)).op == OP_OR
    with pytest.raises(TypeError):
        bool(Note.hits == 1)


def test_filter_errors(db: Database) -> None:
    models = make_models(db)
    User, Note = models["User"], models["Note"]
    User.create(username="a")
    with pytest.raises(FilterError, match="prefs.*not indexed"):
        list(User.query(User.prefs == {"a": 1}))
    with pytest.raises(FilterError, match="startswith"):
        list(User.query(User.age.startswith(1)))
    with pytest.raises(FilterError, match="None"):
        list(User.query(User.age == None))  # noqa: E711
    with pytest.raises(FilterError):
        list(User.query(Note.title == "x"))
    with pytest.raises(TypeError):
        list(User.query(User.age == "not an int"))
    with pytest.raises(TypeError):
        User.username.search("x")  # no full-text index on this field


def test_full_text_search(db: Database) -> None:
    Note = make_models(db)["Note"]
    Note.create(title="1", content="Python and Redis are friends")
    Note.create(title="2", content="redis redis redis")
    Note.create(title="3", content="walrus uses python")
    Note.create(title="4", content="python redis walrus")

    def titles(expr: object) -> list[str]:
        return [n.title for n in Note.query(expr)]  # type: ignore[arg-type]

    assert titles(Note.content.search("redis")) == ["2", "1", "4"]  # best first; ties by key
    assert sorted(titles(Note.content.search("python AND (redis OR walrus)"))) == ["1", "3", "4"]
    assert sorted(titles(Note.content.search("python walrus", "or"))) == ["1", "3", "4"]
    assert sorted(titles(Note.content.match("walrus"))) == ["3", "4"]
    assert titles(Note.content.search('"redis walrus"')) == ["4"]
    assert titles(Note.content.search('"walrus redis"')) == []
    assert Note.query(Note.content.search('"redis python"')).count() == 0
    assert Note.query(Note.content.search('"python redis"')).count() == 2  # stopwords skipped
    assert titles(Note.content.search("the")) == []  # stopwords only
    assert sorted(titles(Note.content.search("friend"))) == ["1"]  # stemmed
    assert titles(Note.content.search("redis") & (Note.title != "2")) == ["1", "4"]


def test_save_updates_indexes(db: Database) -> None:
    Note = make_models(db)["Note"]
    n = Note.create(title="old", hits=1, content="alpha")
    n.title, n.hits, n.content = "new", 2, "beta"
    n.save()
    assert [x.title for x in Note.query(Note.title == "old")] == []
    assert [x.title for x in Note.query(Note.title == "new")] == ["new"]
    assert [x.hits for x in Note.query(Note.hits < 2)] == []
    assert list(Note.query(Note.content.search("alpha"))) == []
    assert Note.check_indexes() == []
    n.title = None
    n.save()
    assert "title" not in {k.decode() for k in db.hkeys(n.get_hash_id())}
    assert Note.load(n._id).title is None
    assert Note.check_indexes() == []


def test_delete_and_query_delete(db: Database) -> None:
    Note = make_models(db)["Note"]
    notes = [Note.create(title=f"t{i}", hits=i) for i in range(5)]
    notes[0].tags.add("a")
    notes[0].delete()
    with pytest.raises(KeyError):
        Note.load(notes[0]._id)
    assert not db.exists(Note._container_key("tags", notes[0].get_hash_id()))  # type: ignore[arg-type]
    assert Note.query_delete(Note.hits >= 3) == 2
    assert sorted(n.hits for n in Note.all()) == [1, 2]
    assert Note.query_delete() == 2
    assert Note.count() == 0
    assert sorted(db.keys()) == [b"note:_id._sequence"]


def test_incr(db: Database) -> None:
    models = make_models(db)
    Note, User = models["Note"], models["User"]
    n = Note.create(title="x", hits=5)
    assert n.incr(Note.hits) == 6
    assert n.incr("hits", 10) == 16
    assert Note.load(n._id).hits == 16
    assert [x.hits for x in Note.query(Note.hits == 16)] == [16]
    assert Note.check_indexes() == []
    u = User.create(username="u", score=1.0)
    assert u.incr(User.score, 0.5) == 1.5
    assert User.get(User.score == 1.5).username == "u"
    with pytest.raises(TypeError):
        n.incr(Note.title)
    with pytest.raises(TypeError):
        n.incr(Note.hits, 1.5)
    n.delete()
    with pytest.raises(KeyError):
        n.incr(Note.hits)
    assert not db.exists(n.get_hash_id())


def test_container_fields(db: Database) -> None:
    Note = make_models(db)["Note"]
    n = Note.create(title="c")
    assert isinstance(n.tags, Set) and isinstance(n.meta, Hash)
    assert isinstance(n.log, List) and isinstance(n.ranks, ZSet)
    assert n.tags.key == b"note:container.tags.note:id.1"
    n.tags.add("x", "y")
    n.ranks.add({"a": 1})
    assert Note.load(1).tags.members() == {b"x", b"y"}
    with pytest.raises(ValueError):
        _ = Note(title="unsaved").tags
    with pytest.raises(AttributeError):
        n.tags = {"z"}  # type: ignore[assignment]


def test_to_hash_and_data(db: Database) -> None:
    Note = make_models(db)["Note"]
    n = Note.create(title="h", hits=3)
    h = n.to_hash()
    assert isinstance(h, Hash)
    assert h.as_dict(decode=True) == {"_id": "1", "title": "h", "hits": "3"}
    assert n._data == {"_id": 1, "title": "h", "content": None, "hits": 3}


def test_lazy_query_object(db: Database) -> None:
    Note = make_models(db)["Note"]
    for i in range(10):
        Note.create(title=f"t{i}", hits=i % 3)
    q = Note.query(Note.hits >= 1)
    assert q.count() == 6
    assert [n._id for n in q[1:3]] == [3, 5]
    assert q[0]._id == 2
    with pytest.raises(IndexError):
        q[100]
    assert q.order_by(Note.hits.desc())[:2].count() == 2
    assert [n.hits for n in q.order_by("-hits")][:3] == [2, 2, 2]
    assert q.filter(Note.hits == 2).count() == 3
    assert q.first()._id == 2  # type: ignore[union-attr]
    assert Note.query(Note.hits > 5).first() is None
    assert q.values_list("_id", flat=True) == [2, 3, 5, 6, 8, 9]
    assert q[:2].values("title", Note.hits) == [
        {"title": "t1", "hits": 1},
        {"title": "t2", "hits": 2},
    ]
    assert next(Note.query(Note.hits == 0))._id == 1
    assert q.exists() and not Note.query(Note.hits == 7).exists()
    assert q.filter(Note.hits == 1).delete() == 3
    assert Note.count() == 7


def test_namespace_and_separator(db: Database) -> None:
    class Item(Model):
        __database__ = db
        __namespace__ = "ns"
        index_separator = ":"
        name = TextField(index=True)

    Item.create(name="x")
    assert sorted(db.keys()) == sorted(
        [
            b"ns|item:id:1",
            b"ns|item:all",
            b"ns|item:name:absolute:x",
            b"ns|item:name:lex",
            b"ns|item:_id:continuous",
            b"ns|item:_id:absolute:1",
            b"ns|item:_id:_sequence",
        ]
    )
    assert Item.get(Item.name == "x").name == "x"


@pytest.mark.backends("resp2", "resp3", "memory", "valkey", reason="single-server key names")
def test_keys_follow_a_namespace_separator_or_database_changed_after_use(db: Database) -> None:
    """The key prefix is remembered per class; changing what it is made of is seen at once."""

    class Item(Model):
        __database__ = db
        __namespace__ = "ns"
        name = TextField()

    Item.create(name="a")
    Item.__namespace__, Item.index_separator = "other", ":"
    Item.create(name="b")
    assert db.exists("ns|item:id.1", "other|item:id:1") == 2  # (a counter of its own)
    elsewhere = Database.from_url("memory://prefix-cache/0")
    try:
        Item.__database__ = elsewhere
        Item.create(name="c")
        assert elsewhere.hget("other|item:id:1", "name") == b"c"
        assert db.hget("other|item:id:1", "name") == b"b"  # not overwritten there
    finally:
        elsewhere.flushall()
        elsewhere.close()


def test_model_definition_errors(db: Database) -> None:
    with pytest.raises(TypeError, match="several primary keys"):

        class A(Model):
            a = TextField(primary_key=True)
            b = TextField(primary_key=True)

    with pytest.raises(TypeError, match="reserved"):

        class B(Model):
            container = TextField()

    with pytest.raises(TypeError, match="'id'"):

        class C(Model):
            id = TextField(index=True)

    with pytest.raises(TypeError, match="hides"):

        class D(Model):
            save = TextField()

    with pytest.raises(TypeError, match="separator"):

        class E(Model):
            __database__ = db
            locals()["a.b"] = TextField()

    class F(Model):
        __database__ = db
        id = AutoIncrementField()

    assert F.create()._data == {"id": 1}


def test_inheritance_copies_fields(db: Database) -> None:
    class Base(Model):
        __database__ = db
        name = TextField(index=True)

    class Child(Base):
        extra = IntegerField()

    assert Child._fields["name"] is not Base._fields["name"]
    assert Child._fields["name"].model is Child
    Child.create(name="c", extra=1)
    Base.create(name="b")
    assert [c.name for c in Child.query(Child.name == "c")] == ["c"]
    assert list(Base.query(Base.name == "c")) == []
