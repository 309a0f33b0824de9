"""EqualIndexWith: sets of pks per combination of several fields' values, kept by the write
scripts, used by collections when every combined field is filtered, unique together on demand."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from limpyd import fields, model
from limpyd.contrib.collection import ExtendedCollectionManager
from limpyd.contrib.indexes import EqualIndexWith, _EqualIndexWith_RelatedIndex
from limpyd.database import RedisDatabase
from limpyd.exceptions import ImplementationError, UniquenessError
from limpyd.indexes import EqualIndex


def _combos(raw: redis.Redis, pattern: str) -> dict[str, set[str]]:
    return {key: raw.smembers(key) for key in raw.scan_iter(match=pattern)}


def test_declaration_links_the_fields(limpyd_db: RedisDatabase) -> None:
    class Task(model.RedisModel):
        database = limpyd_db
        priority = fields.InstanceHashField(indexable=True)
        owner = fields.InstanceHashField()
        name = fields.InstanceHashField(
            indexable=True, indexes=[EqualIndexWith.configure(other_fields=["priority", "owner"])]
        )

    with_index = Task.get_field("name").index_classes[0]
    assert with_index.other_fields == [Task.get_field("priority"), Task.get_field("owner")]
    # a field indexed before keeps its index and gets the related one after it
    priority_classes = Task.get_field("priority").index_classes
    assert [issubclass(c, EqualIndex) for c in priority_classes] == [True, False]
    assert issubclass(priority_classes[1], _EqualIndexWith_RelatedIndex)
    # a field that was not indexable becomes indexable through the combination only
    owner = Task.get_field("owner")
    assert owner.indexable and len(owner.index_classes) == 1


@pytest.mark.parametrize(
    ("others", "unique", "message"),
    [
        (["nope"], False, "'nope' is not a field"),
        (["name"], False, "cannot be combined with itself"),
        (["tags"], True, "cannot be unique with a HashField"),
        ([], False, "must name at least one field"),
    ],
    ids=["unknown-field", "itself", "unique-with-hashfield", "no-other-field"],
)
def test_declaration_errors(
    limpyd_db: RedisDatabase, others: list[str], unique: bool, message: str
) -> None:
    with pytest.raises(ImplementationError, match=message):

        class Bad(model.RedisModel):
            database = limpyd_db
            tags = fields.HashField()
            name = fields.InstanceHashField(
                indexable=True,
                indexes=[EqualIndexWith.configure(other_fields=others, unique=unique)],
            )


def test_configure_refuses_bad_arguments() -> None:
    with pytest.raises(TypeError, match="other_fields must be a list"):
        EqualIndexWith.configure(other_fields="priority")
    with pytest.raises(TypeError, match="unique must be True or False"):
        EqualIndexWith.configure(other_fields=["a"], unique="yes")


@pytest.fixture
def queue_model(limpyd_db: RedisDatabase) -> Any:
    class Job(model.RedisModel):
        database = limpyd_db
        collection_manager = ExtendedCollectionManager
        priority = fields.InstanceHashField()
        details = fields.InstanceHashField(indexable=True)
        name = fields.InstanceHashField(
            indexable=True, indexes=[EqualIndexWith.configure(other_fields=["priority"])]
        )

    return Job


def test_keys_and_filters(queue_model: Any, raw: redis.Redis) -> None:
    Job = queue_model
    a = Job(name="foo", priority=1, details="d1").pk.get()
    b = Job(name="foo", priority=1, details="d2").pk.get()
    c = Job(name="foo", priority=2, details="d1").pk.get()
    d = Job(name="bar", priority=1).pk.get()
    prefix = Job._key_prefix()
    assert _combos(raw, f"{prefix}:name:equal-with:*") == {
        f"{prefix}:name:equal-with:foo:1": {a, b},
        f"{prefix}:name:equal-with:foo:2": {c},
        f"{prefix}:name:equal-with:bar:1": {d},
    }
    collection = Job.collection
    assert set(collection(name="foo", priority=1)) == {a, b}
    assert set(collection(name__eq="foo", priority__eq="1")) == {a, b}
    # across calls, in either order
    assert set(collection(priority=1).filter(name="foo")) == {a, b}
    assert set(collection(name="foo").filter(priority=2)) == {c}
    # a field filtered twice must match both values
    assert set(collection(name="foo", priority=1).filter(name="bar")) == set()
    assert set(collection(name="foo", priority=1).filter(name="foo")) == {a, b}
    # with other indexed fields, and with __in on any side
    assert set(collection(name="foo", priority=1, details="d1")) == {a}
    assert set(collection(name="foo", priority__in=[1, 2])) == {a, b, c}
    assert set(collection(name__in=["foo", "bar"], priority=1)) == {a, b, d}
    assert set(collection(name__in=[], priority=1)) == set()
    assert len(collection(name="foo", priority=1)) == 2
    assert list(collection(name="foo", priority__in=[1, 2]).sort(by="details", alpha=True))[:1] in (
        [a],
        [c],
    )


@pytest.mark.parametrize(
    "filters",
    [{"name": "foo"}, {"priority": 1}, {"name__eq": "foo", "details": "d1"}],
    ids=["main-alone", "other-alone", "with-a-foreign-field"],
)
def test_a_combined_field_alone_cannot_be_filtered(queue_model: Any, filters: Any) -> None:
    queue_model(name="foo", priority=1, details="d1")
    collection = queue_model.collection(**filters)  # the rest may come in a later call
    with pytest.raises(ImplementationError, match="can only be filtered together"):
        list(collection)
    with pytest.raises(ImplementationError, match="can only be filtered together"):
        len(collection)


def test_writes_move_the_combination(queue_model: Any, raw: redis.Redis) -> None:
    Job = queue_model
    job = Job(name="foo")
    pk = job.pk.get()
    assert set(Job.collection(name="foo", priority=1)) == set()  # no priority: not indexed
    job.priority.hset(1)
    assert set(Job.collection(name="foo", priority=1)) == {pk}
    job.priority.hset(2)
    job.name.hset("bar")
    assert set(Job.collection(name="foo", priority=1)) == set()
    assert set(Job.collection(name="bar", priority=2)) == {pk}
    job.hmset(name="baz", priority=3)
    assert set(Job.collection(name="baz", priority=3)) == {pk}
    job.delete()
    assert _combos(raw, f"{Job._key_prefix()}:name:equal-with:*") == {}


def test_unique_together(limpyd_db: RedisDatabase, helpers: Any, raw: redis.Redis) -> None:
    class Slot(model.RedisModel):
        database = limpyd_db
        priority = fields.InstanceHashField(indexable=True)
        name = fields.InstanceHashField(
            indexable=True,
            indexes=[EqualIndexWith.configure(other_fields=["priority"], unique=True), EqualIndex],
        )

    first = Slot(name="foo", priority=1)
    before = helpers.snapshot(raw)
    with pytest.raises(UniquenessError):
        Slot(name="foo", priority=1)
    assert helpers.snapshot(raw) == before  # nothing written, no counter move
    second = Slot(name="foo")
    with pytest.raises(UniquenessError):
        second.priority.hset(1)
    assert second.priority.hget() is None
    second.priority.hset(2)
    with pytest.raises(UniquenessError):
        first.priority.hset(2)
    assert first.priority.hget() == "1"
    with pytest.raises(UniquenessError):
        second.hmset(priority=1)
    assert second.priority.hget() == "2"
    first.priority.hset(3)
    second.priority.hset(1)  # freed by the move above
    assert set(Slot.collection(name="foo", priority=1)) == {second.pk.get()}
    assert set(Slot.collection(name="foo")) == {first.pk.get(), second.pk.get()}


def test_multi_value_fields_index_every_combination(
    limpyd_db: RedisDatabase, helpers: Any, raw: redis.Redis
) -> None:
    class Doc(model.RedisModel):
        database = limpyd_db
        tag = fields.InstanceHashField(
            indexable=True,
            indexes=[EqualIndexWith.configure(other_fields=["words", "lang"], unique=True)],
        )
        words = fields.ListField()
        lang = fields.SetField()

    one = Doc(tag="t", words=["a", "b"], lang=["en"])
    two = Doc(tag="u", words=["b"], lang=["en", "fr"])
    assert set(Doc.collection(tag="t", words="b", lang="en")) == {one.pk.get()}
    assert set(Doc.collection(tag__in=["t", "u"], words="b", lang="en")) == {
        one.pk.get(),
        two.pk.get(),
    }
    # a list field filtered twice: both values must be among its items
    assert set(Doc.collection(tag="t", words="a", lang="en")(words="b")) == {one.pk.get()}
    three = Doc(tag="t", words=["c"], lang=["en"])
    before = helpers.snapshot(raw)
    with pytest.raises(UniquenessError):
        three.words.rpush("z", "a")  # ("t", "a", "en") is one's
    assert helpers.snapshot(raw) == before
    with pytest.raises(UniquenessError):
        Doc(tag="t", words=["q", "b"], lang=["de", "en"])
    assert helpers.snapshot(raw) == before
    one.words.delete()
    three.words.rpush("a")
    assert set(Doc.collection(tag="t", words="a", lang="en")) == {three.pk.get()}


def test_hashfields_combine_key_and_value(limpyd_db: RedisDatabase, raw: redis.Redis) -> None:
    class Page(model.RedisModel):
        database = limpyd_db
        meta = fields.HashField(
            indexable=True, indexes=[EqualIndexWith.configure(other_fields=["site"])]
        )
        site = fields.InstanceHashField()

    one = Page(meta={"lang": "en", "kind": "post"}, site="s1")
    two = Page(meta={"lang": "fr"}, site="s1")
    prefix = Page._key_prefix()
    assert raw.smembers(f"{prefix}:meta:equal-with:lang:en:s1") == {one.pk.get()}
    assert set(Page.collection(meta__lang="en", site="s1")) == {one.pk.get()}
    assert set(Page.collection(meta__lang__in=["en", "fr"], site="s1")) == {
        one.pk.get(),
        two.pk.get(),
    }
    assert set(Page.collection(meta__lang="en", meta__kind="post", site="s1")) == {one.pk.get()}
    one.meta.hset("lang", "de")
    assert set(Page.collection(meta__lang="en", site="s1")) == set()
    assert set(Page.collection(meta__lang="de", site="s1")) == {one.pk.get()}


def test_several_combinations_on_one_model(limpyd_db: RedisDatabase) -> None:
    class Cell(model.RedisModel):
        database = limpyd_db
        a = fields.InstanceHashField(
            indexable=True,
            indexes=[EqualIndex, EqualIndexWith.configure(other_fields=["b", "c", "d"])],
        )
        b = fields.InstanceHashField()
        c = fields.InstanceHashField(
            indexable=True,
            indexes=[
                EqualIndexWith.configure(other_fields=["a", "b"]),
                EqualIndexWith.configure(other_fields=["d"]),
            ],
        )
        d = fields.InstanceHashField(indexable=True)

    one = Cell(a=1, b=2, c=3, d=4).pk.get()
    Cell(a=1, b=22, c=333, d=4444)
    assert set(Cell.collection(a=1, b=2, c=3, d=4)) == {one}
    assert set(Cell.collection(a=1, b=2, c=3)) == {one}  # c's (c, a, b)
    assert set(Cell.collection(a=1, c=3, d=4)) == {one}  # c's (c, d) and a's own index
    for partial in ({"a": 1, "b": 2}, {"a": 1, "c": 3}, {"b": 2}, {"c": 3}):
        with pytest.raises(ImplementationError):
            list(Cell.collection(**partial))


def test_rebuild_restores_the_combinations(queue_model: Any, raw: redis.Redis) -> None:
    Job = queue_model
    a = Job(name="foo", priority=1).pk.get()
    Job(name="bar", priority=2)
    index = Job.get_field("name").get_index(EqualIndexWith)
    keys = index.get_all_storage_keys()
    assert len(keys) == 2
    raw.delete(*keys)
    assert set(Job.collection(name="foo", priority=1)) == set()
    Job.get_field("name").rebuild_indexes()
    assert set(Job.collection(name="foo", priority=1)) == {a}
    assert index.get_all_storage_keys() == keys
