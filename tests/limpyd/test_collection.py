"""Collections: filters, sorting, slicing, instances, laziness and round trips."""

from __future__ import annotations

import pytest

from limpyd import fields, model
from limpyd.database import RedisDatabase
from walrus.roundtrips import RoundTripCounter


@pytest.fixture
def Person(limpyd_db: RedisDatabase):  # noqa: N802 - a model class
    class Person(model.RedisModel):
        database = limpyd_db
        firstname = fields.HashableField(indexable=True)
        lastname = fields.HashableField(indexable=True)
        birth_year = fields.StringField(indexable=True)
        nickname = fields.StringField()
        tags = fields.SetField(indexable=True)

    for first, last, year, tags in [
        ("John", "Smith", 1960, ["a"]),
        ("John", "Doe", 1965, ["a", "b"]),
        ("Emily", "Smith", 1950, ["b"]),
        ("Susan", "Doe", 1960, []),
    ]:
        Person(firstname=first, lastname=last, birth_year=year, nickname=first.lower(), tags=tags)
    return Person


def test_filters(Person) -> None:  # noqa: N803
    assert list(Person.collection()) == ["1", "2", "3", "4"]
    assert list(Person.collection(lastname="Doe")) == ["2", "4"]
    assert list(Person.collection(lastname="Doe", birth_year=1960)) == ["4"]
    assert list(Person.collection(tags="a", lastname="Smith")) == ["1"]
    assert list(Person.collection(pk=2)) == ["2"]
    assert list(Person.collection(pk=2, lastname="Doe")) == ["2"]
    assert list(Person.collection(pk=2, lastname="Smith")) == []
    assert list(Person.collection(pk=99)) == []
    assert list(Person.collection(firstname="Nobody")) == []
    # filters can also be added by calling the collection, in several steps
    assert list(Person.collection(lastname="Doe")(birth_year=1960)) == ["4"]
    # the same field twice: both values must match (redis-limpyd 2.x)
    assert list(Person.collection(lastname="Doe")(lastname="Smith")) == []
    assert list(Person.collection(lastname="Doe")(lastname="Doe")) == ["2", "4"]


def test_a_pk_only_collection_is_one_sismember(Person, raw) -> None:  # noqa: N803
    """Only a pk: one SISMEMBER (no filter script, no sort), for rows, slices and len; any
    other filter beside it, or instances() (which prefetch values), keep the collection
    query."""

    def commands() -> int:
        return int(raw.info("stats")["total_commands_processed"])

    for query, expected in [
        (lambda: list(Person.collection(pk=2)), ["2"]),
        (lambda: list(Person.collection(pk__eq="3")), ["3"]),
        (lambda: list(Person.collection(pk=99)), []),
        (lambda: Person.collection(pk=2)[0:1], ["2"]),
        (lambda: Person.collection(pk=2)[1:], []),
        (lambda: len(Person.collection(pk=4)), 1),
        (lambda: len(Person.collection(pk=98)), 0),
    ]:
        before = commands()
        with RoundTripCounter() as rt:
            got = query()
        ran = commands() - before - 1  # less the INFO
        assert (got, rt.count, ran) == (expected, 1, 1), query
    assert list(Person.collection(pk=2, lastname="Smith")) == []  # the collection query
    assert [p.get_pk() for p in Person.collection(pk=1).instances()] == ["1"]


def test_filter_errors_are_raised_before_any_query(Person) -> None:  # noqa: N803
    with RoundTripCounter() as rt:
        with pytest.raises(ValueError, match="Person.nickname is not indexable"):
            Person.collection(nickname="john")
        with pytest.raises(ValueError, match="no field 'zz'"):
            Person.collection(zz=1)
        # redis-limpyd 2.x: two filters on one field are and-ed (no error, checked below)
        Person.collection(lastname="Doe")(lastname="Smith")
        with pytest.raises(TypeError, match="Person.lastname"):
            Person.collection(lastname=None)
        with pytest.raises(ValueError, match="sort by"):
            Person.collection().sort(by="zz")
        with pytest.raises(ValueError, match="SetField"):
            Person.collection().sort(by="tags")
    assert rt.count == 0


def test_sorting(Person) -> None:  # noqa: N803
    assert list(Person.collection().sort(by="birth_year")) == ["3", "1", "4", "2"]
    assert list(Person.collection().sort(by="-birth_year"))[0] == "2"
    assert list(Person.collection().sort(by="nickname", alpha=True)) == ["3", "1", "2", "4"]
    assert list(Person.collection().sort(by="-lastname", alpha=True)) in (
        ["1", "3", "2", "4"],
        ["3", "1", "4", "2"],
        ["1", "3", "4", "2"],
        ["3", "1", "2", "4"],
    )
    assert list(Person.collection().sort(by="-pk")) == ["4", "3", "2", "1"]
    assert sorted(Person.collection().sort(by="nosort")) == ["1", "2", "3", "4"]


def test_slicing_and_indexing(Person) -> None:  # noqa: N803
    people = Person.collection().sort(by="birth_year")
    with RoundTripCounter() as rt:
        assert people[0] == "3"
        assert people[1:3] == ["1", "4"]
        assert people[2:] == ["4", "2"]
        assert people[3:1] == []
    assert rt.count == 3  # each one SORT ... LIMIT
    assert people[-1] == "2" and people[::2] == ["3", "4"] and people[-2:] == ["4", "2"]
    with pytest.raises(IndexError):
        Person.collection(lastname="Nobody")[0]
    with pytest.raises(TypeError):
        people["a"]


def test_instances_prefetch_and_chaining(Person) -> None:  # noqa: N803
    with RoundTripCounter() as rt:
        people = list(
            Person.collection(lastname="Doe").instances().sort(by="firstname", alpha=True)
        )
        assert [p.get_pk() for p in people] == ["2", "4"]
        assert [p.hmget("firstname", "lastname") for p in people] == [
            ["John", "Doe"],
            ["Susan", "Doe"],
        ]
        assert [p.nickname.get() for p in people] == ["john", "susan"]
    assert rt.count == 1  # values came with the SORT ... GET
    with RoundTripCounter() as rt:
        assert people[0].tags.smembers() == {"a", "b"}
    assert rt.count == 1
    chained = Person.collection().sort(by="birth_year").instances()(lastname="Smith")
    assert [p.get_pk() for p in chained] == ["3", "1"]


def test_evaluation_round_trips(Person) -> None:  # noqa: N803
    with RoundTripCounter() as rt:
        collection = Person.collection(lastname="Doe", birth_year=1960, tags="a")
    assert rt.count == 0
    with RoundTripCounter() as rt:
        assert list(collection) == []
        assert len(collection) == 0
    assert rt.count == 1  # a collection keeps its rows once evaluated
    with RoundTripCounter() as rt:
        everyone = Person.collection().instances()
        assert len(everyone) == 4 and len(list(everyone)) == 4
    assert rt.count == 1


def test_no_temporary_key_is_left(Person, raw) -> None:  # noqa: N803
    before = set(raw.keys())
    list(Person.collection(lastname="Doe", birth_year=1960))
    list(Person.collection(pk=1, lastname="Smith").instances())
    assert set(raw.keys()) == before


def test_collection_reflects_updates_and_deletions(Person) -> None:  # noqa: N803
    john = Person(1)
    john.lastname.hset("Doe")
    assert list(Person.collection(lastname="Doe")) == ["1", "2", "4"]
    assert list(Person.collection(lastname="Smith")) == ["3"]
    Person(2).delete()
    assert list(Person.collection(lastname="Doe")) == ["1", "4"]
    assert list(Person.collection(tags="b")) == ["3"]


def test_instances_of_a_model_without_cache(limpyd_db: RedisDatabase) -> None:
    class Log(model.RedisModel):
        database = limpyd_db
        cacheable = False
        level = fields.StringField(indexable=True)
        text = fields.HashableField()

    Log(level="info", text="a")
    Log(level="info", text="b")
    with RoundTripCounter() as rt:
        logs = list(Log.collection(level="info").instances())
    assert rt.count == 1
    with RoundTripCounter() as rt:
        assert [log.text.hget() for log in logs] == ["a", "b"]
    assert rt.count == 2  # nothing was prefetched: no cache to put it in


def test_2x_collection_api(Person) -> None:  # noqa: N803
    from redis.exceptions import ResponseError

    from limpyd.collection import CollectionResults

    base = Person.collection(lastname="Doe")
    assert base.sort(by="firstname", alpha=True) is not base and base.instances() is not base
    assert base == ["2", "4"] and base == {"4", "2"} and ["2", "4"] == base
    results = iter(Person.collection())
    assert isinstance(results, CollectionResults) and len(results) == 4
    assert repr(results) == "<CollectionResults ['1', '2', '3', '4']>"
    assert next(results) == "1" and list(results) == ["2", "3", "4"]
    assert list(base.sort(desc=True)) == ["4", "2"]
    assert list(base.sort(by=Person.get_field("firstname"), alpha=True)) == ["2", "4"]
    assert list(base.instances().primary_keys()) == ["2", "4"]
    unsortable = Person.collection(lastname="Doe").sort(by="lastname")  # text without alpha
    assert len(unsortable) == 2  # counted on the server when SORT refuses
    with pytest.raises(ResponseError):
        list(unsortable)
    assert len(Person.collection(lastname="Doe", pk__in=[2, 3]).sort(by="lastname")) == 1


def test_repr_is_redis_limpyd_2x(Person, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: N803
    """``<CollectionManager [...]>`` (a subclass shows its own name), truncated after
    ``CollectionResults.MAX_REPR_ITEMS`` rows; it costs what iteration costs."""
    from limpyd.collection import CollectionResults
    from limpyd.contrib.collection import ExtendedCollectionManager

    collection = Person.collection().sort()
    with RoundTripCounter() as rt:
        assert repr(collection) == "<CollectionManager ['1', '2', '3', '4']>"
    assert rt.count == 1  # one evaluation, as list(collection)
    with RoundTripCounter() as rt:
        assert repr(collection) == "<CollectionManager ['1', '2', '3', '4']>"
        assert list(collection) == ["1", "2", "3", "4"]
    assert rt.count == 0  # the collection keeps its rows
    monkeypatch.setattr(CollectionResults, "MAX_REPR_ITEMS", 2)
    expected = "<CollectionManager ['1', '2', '... (2 remaining elements truncated)...']>"
    assert repr(collection) == expected
    assert repr(iter(collection)) == expected.replace("CollectionManager", "CollectionResults")
    assert repr(Person.collection(lastname="Doe")) == "<CollectionManager ['2', '4']>"
    assert repr(Person.collection(lastname="Nobody")) == "<CollectionManager []>"
    assert repr(Person.collection(lastname="Doe").instances()) == (
        "<CollectionManager [<Person pk='2'>, <Person pk='4'>]>"
    )
    extended = Person.collection(manager=ExtendedCollectionManager, lastname="Doe")
    assert repr(extended) == "<ExtendedCollectionManager ['2', '4']>"
    assert repr(extended.values_list("firstname", flat=True)) == (
        "<ExtendedCollectionManager ['John', 'Susan']>"
    )
