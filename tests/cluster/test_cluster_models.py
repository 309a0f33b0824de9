"""walrus.models on a real 3-primary Redis Cluster: every key of a model shares one hash tag,
queries sort inside the script (the cluster refuses SORT BY), relations need a shared tag."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from walrus import Database
from walrus.cluster import CrossSlotError, key_slot
from walrus.database import ClusterDatabase
from walrus.models import (
    ClusterTagError,
    FloatField,
    ForeignKeyField,
    HashField,
    IntegerField,
    ManyToManyField,
    MissingReferenceError,
    Model,
    ModelError,
    ProtectedError,
    SetField,
    TextField,
    UniqueError,
)
from walrus.roundtrips import RoundTripCounter

pytestmark = pytest.mark.cluster


def all_keys(db: ClusterDatabase) -> set[bytes]:
    return set(db.scan_iter())


def slots_of(keys: set[bytes]) -> set[int]:
    return {key_slot(key) for key in keys}


def make_note(db: Any, **attrs: Any) -> type[Model]:
    namespace = {
        "__database__": db,
        "__namespace__": "ns",
        "title": TextField(index=True),
        "body": TextField(fts=True),
        "score": FloatField(index=True),
        "views": IntegerField(default=0),
        "rank": IntegerField(index=True),
        "email": TextField(unique=True),
        "tags": SetField(),
        "meta": HashField(),
        **attrs,
    }
    return type("UserNote", (Model,), namespace)


# -- layout ---------------------------------------------------------------------------------


def test_every_key_of_a_model_shares_the_default_tag(cluster_db: ClusterDatabase) -> None:
    Note = make_note(cluster_db)
    first = Note.create(title="alpha", body="the quick brown fox", score=1.5, rank=3, email="a@x")
    Note.create(title="beta", body="lazy dogs sleep", score=2.5, rank=1, email="b@x")
    first.tags.add("red", "blue")
    first.meta["k"] = "v"
    keys = all_keys(cluster_db)
    assert b"{ns|usernote}:id.1" in keys and b"{ns|usernote}:all" in keys
    assert b"{ns|usernote}:title.absolute.alpha" in keys
    assert b"{ns|usernote}:score.continuous" in keys
    assert b"{ns|usernote}:body.fts.quick" in keys
    assert b"{ns|usernote}:_id._sequence" in keys
    assert b"{ns|usernote}:container.tags.{ns|usernote}:id.1" in keys
    assert slots_of(keys) == {key_slot("{ns|usernote}")}
    assert first.get_hash_id() == b"{ns|usernote}:id.1"


def test_a_chosen_tag_prefixes_the_plain_prefix(cluster_db: ClusterDatabase) -> None:
    Note = make_note(cluster_db, __cluster_tag__="users")
    note = Note.create(title="t", body="b", score=1, rank=1, email="e")
    assert note.get_hash_id() == b"{users}:ns|usernote:id.1"
    assert slots_of(all_keys(cluster_db)) == {key_slot("{users}")}
    assert Note.load(1).title == "t"


@pytest.mark.parametrize("tag", ["", "{x}", "a}b", 7])
def test_a_bad_cluster_tag_is_refused_at_class_definition(tag: Any) -> None:
    with pytest.raises(TypeError, match="__cluster_tag__"):
        type("Bad", (Model,), {"__cluster_tag__": tag, "name": TextField()})


def test_models_on_different_tags_spread_over_the_nodes(cluster_db: ClusterDatabase) -> None:
    nodes = set()
    for i in range(12):
        model: Any = type(f"Spread{i}", (Model,), {"__database__": cluster_db, "name": TextField()})
        row = model.create(name="x")
        nodes.add(cluster_db.get_node_from_key(row.get_hash_id()).name)
    assert len(nodes) == 3


# -- rows -----------------------------------------------------------------------------------


def test_create_load_save_delete_and_incr(cluster_db: ClusterDatabase) -> None:
    Note = make_note(cluster_db)
    with RoundTripCounter() as rt:
        note = Note.create(title="a", body="hello world", score=1.0, rank=5, email="a@x")
    assert rt.count == 1  # one script: it allocates the key
    loaded = Note.load(note._id)
    assert (loaded.title, loaded.score, loaded.rank, loaded.views) == ("a", 1.0, 5, 0)
    loaded.title = "b"
    loaded.save()
    assert Note.get(Note.title == "b")._id == note._id
    assert not Note.query(Note.title == "a").exists()
    assert loaded.incr("views", 3) == 3  # unindexed: HINCRBY
    assert loaded.incr("rank", 2) == 7  # indexed: moves the index entry
    assert [n._id for n in Note.query(Note.rank == 7)] == [note._id]
    assert loaded.incr(Note.score, 0.5) == 1.5
    loaded.tags.add("x")
    loaded.delete()
    with pytest.raises(KeyError):
        Note.load(note._id)
    assert Note.count() == 0
    assert {k for k in all_keys(cluster_db) if not k.endswith(b"._sequence")} == set()


def test_create_over_an_existing_key_replaces_the_row_cleanly(cluster_db: ClusterDatabase) -> None:
    class Item(Model):
        __database__ = cluster_db
        code = TextField(primary_key=True)
        color = TextField(index=True)

    Item.create(code="c1", color="red")
    Item.create(code="c1", color="blue")
    assert Item.query(Item.color == "red").count() == 0
    assert [i.code for i in Item.query(Item.color == "blue")] == ["c1"]
    assert Item.check_indexes() == []


# -- queries --------------------------------------------------------------------------------


def _notes(db: Any) -> type[Model]:
    Note = make_note(db)
    rows = [
        ("delta", "red fox jumps", 4.0, 2),
        ("alpha", "blue fox sleeps", 1.0, 2),
        ("charlie", "red dog runs", 3.0, 9),
        ("bravo", "green dog sleeps", 2.0, 5),
        ("echo", "red red red", -1.5, 5),
    ]
    for i, (title, body, score, rank) in enumerate(rows):
        Note.create(title=title, body=body, score=score, rank=rank, email=f"{i}@x")
    Note.create(title="zulu", body="nothing here", email="z@x")  # no score, no rank
    return Note


def titles(query: Any) -> list[str]:
    return [row.title for row in query]


def test_queries_filter_and_order_in_one_slot(cluster_db: ClusterDatabase) -> None:
    Note = _notes(cluster_db)
    assert titles(Note.query(Note.title == "alpha")) == ["alpha"]
    assert titles(Note.query(Note.title != "alpha")) == [
        "delta",
        "charlie",
        "bravo",
        "echo",
        "zulu",
    ]
    assert titles(Note.query(Note.score >= 2, order_by=Note.score)) == ["bravo", "charlie", "delta"]
    assert titles(Note.query(Note.score.between(-2, 1), order_by=Note.title)) == ["alpha", "echo"]
    assert titles(Note.query((Note.rank == 5) & (Note.score > 0))) == ["bravo"]
    assert titles(Note.query((Note.rank == 9) | (Note.title == "alpha"), order_by=Note.title)) == [
        "alpha",
        "charlie",
    ]
    assert titles(Note.query(Note.title.startswith("ch"))) == ["charlie"]
    assert titles(
        Note.query(Note.title.in_(["echo", "delta", "nope"]), order_by=Note.title.desc())
    ) == ["echo", "delta"]
    assert titles(Note.query(Note.body.search("red"))) == [
        "echo",
        "delta",
        "charlie",
    ]  # by relevance
    assert titles(Note.query(Note.body.search("fox"), order_by=Note.title)) == ["alpha", "delta"]
    assert Note.query(Note.body.search("sleeps")).count() == 2
    assert Note.query(Note.rank == 2).count() == 2
    assert titles(Note.query(order_by=Note.title)[1:3]) == ["bravo", "charlie"]
    assert titles(Note.query(order_by="-title")[:2]) == ["zulu", "echo"]
    assert Note.query(Note.rank == 5, order_by=Note.title).values_list("title", flat=True) == [
        "bravo",
        "echo",
    ]
    assert Note.query_delete(Note.rank == 2) == 2
    assert Note.count() == 4 and Note.check_indexes() == []
    temps = [k for k in all_keys(cluster_db) if b"temp." in k]
    assert temps == []  # query temporaries are removed by the script


def _ordered(
    model: type[Model],
    order: str | None,
    expression: Any = None,
    offset: int = 0,
    stop: int | None = None,
) -> list[tuple[Any, frozenset[int]]]:
    """The query's rows as runs of equal sort values: (value, ids of the run). SORT BY
    leaves the order of ties unspecified for alphabetic sorts, so runs are compared as sets."""
    name = (order or "_id").lstrip("-")
    runs: list[tuple[Any, set[int]]] = []
    for row in model.query(expression, order_by=order)[offset:stop]:
        value = getattr(row, name)
        if runs and runs[-1][0] == value:
            runs[-1][1].add(row._id)
        else:
            runs.append((value, {row._id}))
    return [(value, frozenset(ids)) for value, ids in runs]


def test_order_by_matches_sort_by_on_one_server(
    cluster_db: ClusterDatabase, redis_url: str
) -> None:
    """The cluster sorts inside the script; the order must be SORT BY's (missing numbers
    count as 0, missing texts come first; numeric ties by row key)."""
    single = Database.from_url(redis_url)
    rng = random.Random(7)
    models = [make_note(cluster_db), make_note(single)]
    for i in range(60):
        values: dict[str, Any] = {"email": f"{i}@x", "body": "x"}
        if rng.random() < 0.8:
            values["title"] = rng.choice(["a", "b", "B", "c d", "é", "ab"])
        if rng.random() < 0.8:
            values["score"] = rng.choice([-3.25, 0, 0.5, 2, 1e10, 17])
        if rng.random() < 0.8:
            values["rank"] = rng.randint(-3, 3)
        for model in models:
            model.create(**values)
    for order in ["title", "-title", "score", "-score", "rank", "-rank", None, "-_id"]:
        whole = [_ordered(m, order) for m in models]
        assert whole[0] == whole[1], order
        for offset, stop in [(5, 17), (50, 100)]:
            parts = [[value for value, _ in _ordered(m, order, None, offset, stop)] for m in models]
            assert parts[0] == parts[1], (order, offset, stop)
        filtered = [_ordered(m, order, m.rank >= 0) for m in models]
        assert filtered[0] == filtered[1], order
        if order in ("rank", "-rank", "score", "-score", None, "-_id"):  # numeric: ties by row key
            ids = [[row._id for row in m.query(order_by=order)] for m in models]
            assert ids[0] == ids[1], order
    single.close()


# -- uniqueness -----------------------------------------------------------------------------


def test_unique_and_unique_together(cluster_db: ClusterDatabase) -> None:
    class Account(Model):
        __database__ = cluster_db
        __unique_together__ = [("org", "login")]
        email = TextField(unique=True)
        org = TextField()
        login = TextField()

    Account.create(email="a@x", org="o1", login="ann")
    with pytest.raises(UniqueError) as info:
        Account.create(email="a@x", org="o2", login="bob")
    assert info.value.field == "email"
    with pytest.raises(UniqueError) as info:
        Account.create(email="b@x", org="o1", login="ann")
    assert info.value.fields == ("org", "login")
    Account.create(email="b@x", org="o2", login="ann")
    assert Account.count() == 2 and Account.check_indexes() == []


def test_unique_race_with_eight_threads(cluster_db: ClusterDatabase) -> None:
    class Claim(Model):
        __database__ = cluster_db
        slug = TextField(unique=True)
        owner = IntegerField()

    barrier = threading.Barrier(8)
    won: list[int] = []
    refused: list[int] = []
    lock = threading.Lock()

    def claim(index: int) -> None:
        barrier.wait()
        for round_no in range(10):
            try:
                Claim.create(slug=f"slug-{round_no}", owner=index)
            except UniqueError:
                with lock:
                    refused.append(index)
            else:
                with lock:
                    won.append(index)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(won) == 10 and len(refused) == 70
    assert Claim.count() == 10
    assert sorted(c.slug for c in Claim.all()) == sorted(f"slug-{i}" for i in range(10))
    assert Claim.check_indexes() == []


# -- relations --------------------------------------------------------------------------------


def make_library(db: Any, tag: str | None = "library") -> dict[str, type[Model]]:
    class Author(Model):
        __database__ = db
        __cluster_tag__ = tag
        name = TextField(index=True)

    class Book(Model):
        __database__ = db
        __cluster_tag__ = tag
        author = ForeignKeyField(Author, on_delete="cascade", related_name="books")
        editor = ForeignKeyField(Author, on_delete="set_null", related_name="edited")
        shelves = ManyToManyField("Shelf", related_name="books")
        title = TextField(index=True)

    class Shelf(Model):
        __database__ = db
        __cluster_tag__ = tag
        name = TextField(primary_key=True)

    class Loan(Model):
        __database__ = db
        __cluster_tag__ = tag
        book = ForeignKeyField(Book, on_delete="protect")

    return {"Author": Author, "Book": Book, "Shelf": Shelf, "Loan": Loan}


def test_relations_with_a_shared_tag(cluster_db: ClusterDatabase) -> None:
    m = make_library(cluster_db)
    Author, Book, Shelf, Loan = m["Author"], m["Book"], m["Shelf"], m["Loan"]
    ann, bob = Author.create(name="ann"), Author.create(name="bob")
    b1 = Book.create(author=ann, editor=bob, title="one")
    b2 = Book.create(author=ann, title="two")
    with pytest.raises(MissingReferenceError):
        Book.create(author=99, title="ghost")
    top = Shelf.create(name="top")
    with pytest.raises(MissingReferenceError):
        b1.shelves.add(top, "low")  # "low" does not exist yet: nothing is linked
    assert b1.shelves.count() == 0
    Shelf.create(name="low")
    assert b1.shelves.add(top, "low") == 2
    assert [b.title for b in top.books] == ["one"]
    assert sorted(b.title for b in ann.books) == ["one", "two"]
    loan = Loan.create(book=b2)
    with pytest.raises(ProtectedError):
        ann.delete()  # would cascade to b2, which a loan protects
    loan.delete()
    bob.delete()  # set_null on b1.editor
    assert Book.load(b1._id).editor is None
    ann.delete()  # cascades to both books and drops their shelf links
    assert Book.count() == 0 and top.books.count() == 0
    keys = all_keys(cluster_db)
    assert slots_of(keys) == {key_slot("{library}")}
    for model in m.values():
        assert model.check_indexes() == []


def test_relations_across_tags_raise_a_clear_error(cluster_db: ClusterDatabase) -> None:
    m = make_library(cluster_db, tag=None)  # each model on its own default tag
    Author, Book = m["Author"], m["Book"]
    ann = Author.create(name="ann")  # a model alone is fine
    with pytest.raises(ClusterTagError) as info:
        Book.create(author=ann, title="one")
    message = str(info.value)
    assert "Book.author" in message and "Author" in message and "__cluster_tag__" in message
    assert "{book}" in message and "{author}" in message
    assert isinstance(info.value, CrossSlotError) and isinstance(info.value, ModelError)
    with pytest.raises(ClusterTagError):
        ann.delete()  # the cascade would read Book's index
    assert Author.count() == 1  # nothing was written or deleted
    assert [k for k in all_keys(cluster_db) if b"book" in k] == []


def test_a_relation_bound_later_is_checked_on_next_use(cluster_db: ClusterDatabase) -> None:
    class Post(Model):
        __database__ = cluster_db
        topic = ForeignKeyField("Topic")  # not defined yet

    with pytest.raises(ModelError):
        Post.create(topic=1)  # unresolved relation

    class Topic(Model):
        __database__ = cluster_db
        name = TextField()

    with pytest.raises(ClusterTagError):
        Post.count()


# -- indexes and pipelines ----------------------------------------------------------------------


def test_check_and_rebuild_indexes(cluster_db: ClusterDatabase) -> None:
    Note = _notes(cluster_db)
    cluster_db.srem(b"{ns|usernote}:title.absolute.alpha", b"{ns|usernote}:id.2")
    cluster_db.sadd(b"{ns|usernote}:rank.absolute.77", b"{ns|usernote}:id.1")
    cluster_db.zadd(b"{ns|usernote}:score.continuous", {b"{ns|usernote}:id.1": 99})
    problems = Note.check_indexes()
    assert sorted(p.kind for p in problems) == ["missing", "orphan", "wrong-score"]
    assert sorted(p.kind for p in Note.rebuild_indexes()) == ["missing", "orphan", "wrong-score"]
    assert Note.check_indexes() == []
    assert titles(Note.query(Note.title == "alpha")) == ["alpha"]


def test_pipelines_and_atomic(cluster_db: ClusterDatabase) -> None:
    class Event(Model):
        __database__ = cluster_db
        code = TextField(primary_key=True)
        kind = TextField(index=True)

    pipe = cluster_db.pipeline(transaction=False)
    for i in range(5):
        Event.create(pipeline=pipe, code=f"e{i}", kind="a" if i % 2 else "b")
    with RoundTripCounter() as rt:
        pipe.execute()
    # One batch to the one node holding the model: each queued script names its node, so
    # redis-py's cluster pipeline asks no COMMAND GETKEYS first.
    assert rt.count == 1
    assert Event.query(Event.kind == "a").count() == 2
    first = Event.load("e0")
    with RoundTripCounter() as rt:
        with cluster_db.atomic() as tx:
            Event.create(pipeline=tx, code="t1", kind="c")
            first.delete(pipeline=tx)
    assert rt.count == 1  # one MULTI/EXEC on one node
    assert sorted(e.code for e in Event.all()) == ["e1", "e2", "e3", "e4", "t1"]
    assert Event.check_indexes() == []
