"""walrus.models: ForeignKeyField, ManyToManyField, reverse accessors and on_delete."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from walrus import Database
from walrus.exceptions import WalrusError
from walrus.models import (
    FieldTypeError,
    ForeignKeyField,
    IntegerField,
    ManyToManyField,
    MissingReferenceError,
    Model,
    ModelError,
    ProtectedError,
    RelatedSet,
    SetField,
    TextField,
)
from walrus.roundtrips import RoundTripCounter


def snapshot(db: Database) -> dict[bytes, Any]:
    return {key: db.dump(key) for key in db.scan_iter()}


def make_blog(db: Database) -> dict[str, type[Model]]:
    class User(Model):
        __database__ = db
        name = TextField(index=True)

    class Note(Model):
        __database__ = db
        author = ForeignKeyField("User", on_delete="cascade", related_name="notes")
        editor = ForeignKeyField(User, on_delete="set_null", related_name="edited")
        tags = ManyToManyField("Tag", related_name="notes")
        text = TextField()

    class Comment(Model):  # cascades one level further
        __database__ = db
        note = ForeignKeyField(Note, on_delete="cascade", related_name="comments")
        body = TextField()

    class Tag(Model):  # defined after Note: resolved when it appears
        __database__ = db
        name = TextField(primary_key=True)

    class Invoice(Model):
        __database__ = db
        customer = ForeignKeyField(User, on_delete="protect")  # reverse: user.invoice_set
        amount = IntegerField()

    return {"User": User, "Note": Note, "Comment": Comment, "Tag": Tag, "Invoice": Invoice}


def test_foreign_key_stores_the_key_and_loads_the_row(db: Database) -> None:
    m = make_blog(db)
    User, Note = m["User"], m["Note"]
    ada = User.create(name="ada")
    note = Note.create(author=ada, text="x")
    assert db.hgetall(note.get_hash_id()) == {b"_id": b"1", b"author": b"1", b"text": b"x"}
    assert db.smembers(b"note:author.absolute.1") == {b"note:id.1"}
    loaded = Note.load(note._id)
    assert loaded.author_id == 1
    with RoundTripCounter() as rt:
        assert loaded.author == ada and loaded.author.name == "ada"
    assert rt.count == 1  # loaded once, then cached
    assert loaded.editor is None
    loaded.author = 1  # a primary key works too
    assert loaded.author_id == 1
    by_key = Note.create(author=ada.get_id(), text="y")
    assert [n.text for n in Note.query(Note.author == ada)] == ["x", "y"]
    assert [n.text for n in Note.query(Note.author == 1, order_by=Note.text.desc())] == ["y", "x"]
    assert by_key.author_id == 1


def test_reverse_foreign_key_is_a_lazy_query(db: Database) -> None:
    m = make_blog(db)
    User, Note = m["User"], m["Note"]
    ada, bob = User.create(name="ada"), User.create(name="bob")
    Note.create(author=ada, text="a1")
    Note.create(author=ada, editor=bob, text="a2")
    Note.create(author=bob, text="b1")
    with RoundTripCounter() as rt:
        query = ada.notes
    assert rt.count == 0
    assert sorted(n.text for n in query) == ["a1", "a2"]
    assert ada.notes.count() == 2
    assert [n.text for n in bob.edited] == ["a2"]
    assert [n.text for n in ada.notes.filter(Note.editor == bob)] == ["a2"]
    assert m["User"].invoice_set is not None  # default reverse name <model>_set
    with pytest.raises(ValueError, match="save it first"):
        _ = User(name="new").notes


def test_foreign_key_to_a_missing_row_is_refused_atomically(db: Database) -> None:
    m = make_blog(db)
    User, Note = m["User"], m["Note"]
    ada = User.create(name="ada")
    Note.create(author=ada, text="warm")
    before = snapshot(db)
    with pytest.raises(
        MissingReferenceError, match="Note.author: no User with primary key 42"
    ) as info:
        Note.create(author=42, text="x")
    assert isinstance(info.value, WalrusError) and isinstance(info.value, ValueError)
    assert info.value.field == "author"
    assert snapshot(db) == before  # no row, no pk allocated
    with pytest.raises(FieldTypeError, match="author"):
        Note(author="not a number")
    with pytest.raises(FieldTypeError, match="User"):
        Note(author=m["Tag"](name="t"))
    with pytest.raises(ValueError, match="save it first"):
        Note(author=User(name="unsaved"))


def test_on_delete_cascade_follows_every_level(db: Database) -> None:
    m = make_blog(db)
    User, Note, Comment = m["User"], m["Note"], m["Comment"]
    ada, bob = User.create(name="ada"), User.create(name="bob")
    n1 = Note.create(author=ada, text="a1")
    n2 = Note.create(author=bob, text="b1")
    Comment.create(note=n1, body="c1")
    Comment.create(note=n1, body="c2")
    Comment.create(note=n2, body="c3")
    ada.delete()
    assert [u.name for u in User.all()] == ["bob"]
    assert [n.text for n in Note.all()] == ["b1"]
    assert [c.body for c in Comment.all()] == ["c3"]
    for model in (User, Note, Comment):
        assert model.check_indexes() == []
    assert not db.exists(b"note:author.absolute.1")


def test_on_delete_set_null_clears_the_field(db: Database) -> None:
    m = make_blog(db)
    User, Note = m["User"], m["Note"]
    ada, bob = User.create(name="ada"), User.create(name="bob")
    note = Note.create(author=ada, editor=bob, text="x")
    bob.delete()
    loaded = Note.load(note._id)
    assert loaded.editor is None and loaded.editor_id is None
    assert b"editor" not in db.hgetall(note.get_hash_id())
    assert loaded.text == "x" and loaded.author_id == ada._id
    assert Note.check_indexes() == []
    assert list(Note.query(Note.editor == 2)) == []


def test_on_delete_protect_raises_and_deletes_nothing(db: Database) -> None:
    m = make_blog(db)
    User, Note, Invoice = m["User"], m["Note"], m["Invoice"]
    ada = User.create(name="ada")
    Note.create(author=ada, text="x")
    invoice = Invoice.create(customer=ada, amount=10)
    before = snapshot(db)
    with pytest.raises(ProtectedError, match="Invoice.customer") as info:
        ada.delete()
    assert isinstance(info.value, WalrusError)
    assert info.value.protected == [("Invoice", "customer", invoice.get_hash_id())]
    assert snapshot(db) == before
    with pytest.raises(ProtectedError):
        User.query_delete()
    assert snapshot(db) == before
    invoice.delete()
    ada.delete()
    assert User.count() == 0 and Note.count() == 0


def test_many_to_many_links_both_sides(db: Database) -> None:
    m = make_blog(db)
    User, Note, Tag = m["User"], m["Note"], m["Tag"]
    ada = User.create(name="ada")
    n1, n2 = Note.create(author=ada, text="a"), Note.create(author=ada, text="b")
    py, redis_tag = Tag.create(name="py"), Tag.create(name="redis")
    assert isinstance(n1.tags, RelatedSet)
    with RoundTripCounter() as rt:
        assert n1.tags.add(py, "redis") == 2
    assert rt.count == 1
    assert n1.tags.add(py) == 0  # already linked
    n2.tags.add("py")
    assert db.smembers(b"note:container.tags.note:id.1") == {b"tag:id.py", b"tag:id.redis"}
    assert db.smembers(b"tag:container.notes.tag:id.py") == {b"note:id.1", b"note:id.2"}
    assert [t.name for t in n1.tags] == ["py", "redis"]
    assert sorted(n.text for n in py.notes) == ["a", "b"]
    assert len(n1.tags) == 2 and n1.tags.count() == 2
    assert py in n1.tags and "redis" in n1.tags and py in n2.tags and redis_tag not in n2.tags
    assert n1.tags.remove(redis_tag) == 1
    assert [n.text for n in redis_tag.notes] == []
    py.notes.add(n1)  # the reverse side works both ways too
    assert py.notes.remove(n2) == 1
    assert n2.tags.keys() == []
    assert n1.tags.clear() == 1
    assert not db.exists(b"note:container.tags.note:id.1")
    assert py.notes.count() == 0


def test_many_to_many_refuses_missing_rows_atomically(db: Database) -> None:
    m = make_blog(db)
    User, Note, Tag = m["User"], m["Note"], m["Tag"]
    note = Note.create(author=User.create(name="ada"), text="x")
    Tag.create(name="py")
    before = snapshot(db)
    with pytest.raises(MissingReferenceError, match="tag:id.nope"):
        note.tags.add("py", "nope")
    assert snapshot(db) == before
    with pytest.raises(FieldTypeError):
        note.tags.add(note)
    with pytest.raises(ValueError, match="save it first"):
        _ = Note(text="unsaved").tags


def test_deleting_either_side_of_many_to_many_removes_the_links(db: Database) -> None:
    m = make_blog(db)
    User, Note, Tag = m["User"], m["Note"], m["Tag"]
    ada = User.create(name="ada")
    n1, n2 = Note.create(author=ada, text="a"), Note.create(author=ada, text="b")
    py, rd = Tag.create(name="py"), Tag.create(name="redis")
    n1.tags.add(py, rd)
    n2.tags.add(py)
    n1.delete()
    assert py.notes.keys() == [n2.get_hash_id()]
    assert rd.notes.keys() == []
    assert not db.exists(b"note:container.tags.note:id.1")
    py.delete()  # cascade: unlinks, keeps the notes
    assert n2.tags.keys() == []
    assert [n.text for n in Note.all()] == ["b"]
    assert not db.exists(b"tag:container.notes.tag:id.py")


def test_many_to_many_protect(db: Database) -> None:
    class Label(Model):
        __database__ = db
        name = TextField()

    class Item(Model):
        __database__ = db
        labels = ManyToManyField(Label, on_delete="protect")

    label = Label.create(name="x")
    item = Item.create()
    item.labels.add(label)
    before = snapshot(db)
    with pytest.raises(ProtectedError, match="Item.labels"):
        label.delete()
    assert snapshot(db) == before
    assert [i.get_id() for i in label.item_set] == [item.get_id()]
    item.labels.remove(label)
    label.delete()
    assert Label.count() == 0


def test_delete_is_guarded_against_rows_added_meanwhile(db: Database) -> None:
    """A note created between the delete's read and its write makes the write retry, so
    the cascade never leaves a note pointing at a deleted user."""
    m = make_blog(db)
    User, Note = m["User"], m["Note"]
    ada = User.create(name="ada")
    Note.create(author=ada, text="first")
    stop = threading.Event()
    created: list[int] = []
    refused: list[int] = []

    def writer() -> None:
        while not stop.is_set():
            try:
                created.append(Note.create(author=ada.get_id(), text="late")._id)
            except MissingReferenceError:
                refused.append(1)
                return
            # A pause between notes: a delete retried after each note it missed must get
            # through between two of them even on a loaded machine (a note per millisecond
            # starved it there); the guard itself is proven by the deterministic test below.
            time.sleep(0.01)

    thread = threading.Thread(target=writer)
    thread.start()
    while len(created) < 5:
        time.sleep(0.001)
    ada.delete()
    stop.set()
    thread.join()
    assert User.count() == 0
    assert Note.count() == 0  # every note that got in was cascaded
    assert Note.check_indexes() == []


def test_a_row_added_between_the_deletes_read_and_write_is_cascaded_too(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from walrus.models import writer as writer_module

    class User(Model):
        __database__ = db
        __cluster_tag__ = "blog"
        name = TextField()

    class Note(Model):
        __database__ = db
        __cluster_tag__ = "blog"
        author = ForeignKeyField(User, on_delete="cascade", related_name="notes")
        text = TextField()

    ada = User.create(name="ada")
    Note.create(author=ada, text="first")
    run = writer_module.Writer.run
    calls: list[int] = []

    def racing_run(self: Any, client: Any = None, queue: bool = False) -> Any:
        calls.append(1)
        if len(calls) == 1:  # after the delete planned from its read, before its script
            Note.create(author=ada.get_id(), text="late")
        return run(self, client=client, queue=queue)

    monkeypatch.setattr(writer_module.Writer, "run", racing_run)
    ada.delete()
    monkeypatch.undo()
    assert len(calls) >= 3  # the late note's create, the refused delete, its retry
    assert User.count() == 0 and Note.count() == 0
    assert Note.check_indexes() == [] and User.check_indexes() == []


def test_self_reference_and_query_delete_cascade(db: Database) -> None:
    class Node(Model):
        __database__ = db
        name = TextField(index=True)
        parent = ForeignKeyField("self", on_delete="cascade", related_name="children")

    root = Node.create(name="root")
    a = Node.create(name="a", parent=root)
    Node.create(name="a1", parent=a)
    Node.create(name="b", parent=root)
    Node.create(name="other")
    assert sorted(n.name for n in root.children) == ["a", "b"]
    assert Node.query_delete(Node.name == "root") == 1
    assert [n.name for n in Node.all()] == ["other"]
    assert Node.check_indexes() == []


def test_relation_definition_errors(db: Database) -> None:
    class Target(Model):
        __database__ = db
        name = TextField()

    with pytest.raises(ValueError, match="on_delete"):
        ForeignKeyField(Target, on_delete="restrict")
    with pytest.raises(ValueError, match="on_delete"):
        ManyToManyField(Target, on_delete="set_null")
    with pytest.raises(TypeError, match="always indexed"):
        ForeignKeyField(Target, index=False)
    with pytest.raises(TypeError, match="Model subclass"):
        ForeignKeyField(3)
    with pytest.raises(ValueError, match="related_name"):
        ForeignKeyField(Target, related_name="not valid")
    with pytest.raises(TypeError, match="related_name"):
        type(
            "Twice",
            (Model,),
            {"__database__": db, "a": ForeignKeyField(Target), "b": ForeignKeyField(Target)},
        )
    with pytest.raises(TypeError, match="is a field of Target"):
        type(
            "Clash",
            (Model,),
            {"__database__": db, "a": ForeignKeyField(Target, related_name="name")},
        )

    class Dangling(Model):
        __database__ = db
        ref = ForeignKeyField("NeverDefined")

    with pytest.raises(ModelError, match="'NeverDefined' is not defined"):
        Dangling(ref=1)


# -- on_delete values -----------------------------------------------------------------------


def test_on_delete_values_are_checked_and_default_to_cascade(db: Database) -> None:
    class Target(Model):
        __database__ = db
        __cluster_tag__ = "shop"
        name = TextField()

    for bad in ("restrict", "CASCADE", "set null", "", None, 1):
        with pytest.raises(
            ValueError,
            match=r"ForeignKeyField\(on_delete=\.\.\.\) must be one of 'cascade', 'set_null', "
            r"'protect' \(default 'cascade'\)",
        ):
            ForeignKeyField(Target, on_delete=bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="many-to-many link has no field to clear"):
        ManyToManyField(Target, on_delete="set_null")
    with pytest.raises(
        ValueError, match=r"ManyToManyField\(on_delete=\.\.\.\) must be one of 'cascade', 'protect'"
    ):
        ManyToManyField(Target, on_delete="restrict")
    assert ForeignKeyField(Target).on_delete == "cascade"
    assert ManyToManyField(Target).on_delete == "cascade"
    assert ForeignKeyField(Target, on_delete="set-null").on_delete == "set_null"

    class Order(Model):
        __database__ = db
        __cluster_tag__ = "shop"
        target = ForeignKeyField(Target, on_delete="set-null", related_name="orders")
        kept = ForeignKeyField(Target, related_name="kept_orders")  # default: cascade

    first, second = Target.create(name="a"), Target.create(name="b")
    cleared = Order.create(target=first, kept=second)
    Order.create(kept=first)
    first.delete()
    assert Order.load(cleared._id).target is None  # set-null spelled with a hyphen works
    assert Order.count() == 1  # the row kept through "kept" was cascaded
    assert Order.check_indexes() == []


# -- query_delete in batches ------------------------------------------------------------------


def test_query_delete_past_one_batch(db: Database) -> None:
    class Row(Model):
        __database__ = db
        n = IntegerField(index=True)
        tags = SetField()

    for i in range(450):
        row = Row.create(n=i)
        if i % 50 == 0:
            row.tags.add("x")
    with RoundTripCounter() as rt:
        assert Row.query_delete(Row.n < 430) == 430
    assert rt.count == 1 + 3 * 2  # the query, then a read and a script per 200 rows
    assert [r.n for r in Row.all()] == list(range(430, 450))
    assert [k for k in db.scan_iter(match=Row._make_key("container", "*"))] == []
    assert Row.check_indexes() == []


def make_owned(db: Database, rule: str) -> tuple[type[Model], type[Model]]:
    class Owner(Model):
        __database__ = db
        __cluster_tag__ = "own"
        code = IntegerField(primary_key=True)

    class Claim(Model):
        __database__ = db
        __cluster_tag__ = "own"
        owner = ForeignKeyField(Owner, on_delete=rule, related_name="claims")

    with db.pipeline() as pipe:
        for code in range(1, 251):
            Owner.create(code=code, pipeline=pipe)
        pipe.execute()
    return Owner, Claim


def test_query_delete_checks_protection_of_every_batch_before_deleting(db: Database) -> None:
    Owner, Claim = make_owned(db, "protect")
    claim = Claim.create(owner=240)  # 240 falls in the second batch of 200
    before = snapshot(db)
    with pytest.raises(ProtectedError) as info:
        Owner.query_delete()
    assert info.value.deleted == 0
    assert info.value.protected == [("Claim", "owner", claim.get_hash_id())]
    assert snapshot(db) == before  # not even the first batch was deleted
    assert Owner.query_delete(Owner.code != 240) == 249
    assert [o.code for o in Owner.all()] == [240]


def test_query_delete_reports_rows_gone_when_a_later_batch_is_refused(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from walrus.models import deletion

    Owner, Claim = make_owned(db, "protect")
    check = deletion.check_deletable

    def check_then_race(model: type[Model], keys: list[bytes]) -> None:
        check(model, keys)
        Claim.create(owner=240)  # a referring row appears after the check

    monkeypatch.setattr(deletion, "check_deletable", check_then_race)
    with pytest.raises(ProtectedError) as info:
        Owner.query_delete()
    assert info.value.deleted == 200
    assert [o.code for o in Owner.all()] == list(range(201, 251))
    assert Owner.check_indexes() == [] and Claim.check_indexes() == []


def test_query_delete_rows_of_the_set_do_not_protect_each_other_across_batches(
    db: Database,
) -> None:
    class Node(Model):
        __database__ = db
        code = IntegerField(primary_key=True)
        parent = ForeignKeyField("self", on_delete="protect", related_name="children")

    with db.pipeline() as pipe:
        for code in range(1, 250):
            Node.create(code=code, pipeline=pipe)
        pipe.execute()
    Node.create(code=250, parent=1)  # protects node 1 (first batch) from the second batch
    with pytest.raises(ProtectedError):
        Node.query_delete(Node.code < 200)
    assert Node.count() == 250
    assert Node.query_delete() == 250
    assert Node.count() == 0 and Node.check_indexes() == []


def test_query_delete_counts_rows_a_cascade_removed_from_later_batches(db: Database) -> None:
    class Node(Model):
        __database__ = db
        code = IntegerField(primary_key=True)
        parent = ForeignKeyField("self", on_delete="cascade", related_name="children")

    with db.pipeline() as pipe:
        for code in range(1, 201):
            Node.create(code=code, pipeline=pipe)
        pipe.execute()
    with db.pipeline() as pipe:
        for code in range(201, 251):  # children of first-batch rows, in the second batch
            Node.create(code=code, parent=code - 200, pipeline=pipe)
        pipe.execute()
    Node.create(code=251)  # not matched
    assert Node.query_delete(Node.code <= 250) == 250
    assert [n.code for n in Node.all()] == [251]
    assert Node.check_indexes() == []
