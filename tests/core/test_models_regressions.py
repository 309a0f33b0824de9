"""walrus.models: behaviours that would otherwise regress silently: what a query sends to
Redis (slices pushed down, values() reading only the asked fields), containers kept by
delete(for_update=True), load(convert_key=False), full-text options on a model and the
stored form of dates."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from redis.connection import AbstractConnection

from walrus import Database
from walrus.models import DateField, HashField, IntegerField, Model, SetField, TextField


def parse_commands(data: bytes) -> list[list[bytes]]:
    """The commands in RESP bytes as a client writes them (arrays of bulk strings)."""
    commands, pos = [], 0
    while pos < len(data):
        end = data.index(b"\r\n", pos)
        count, pos = int(data[pos + 1 : end]), end + 2
        args = []
        for _ in range(count):
            end = data.index(b"\r\n", pos)
            length, pos = int(data[pos + 1 : end]), end + 2
            args.append(data[pos : pos + length])
            pos += length + 2
        commands.append(args)
    return commands


@contextmanager
def sent_commands(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[bytes]]]:
    """Every command redis-py writes to a socket while active (command name upper-cased)."""
    log: list[list[bytes]] = []
    original = AbstractConnection.send_packed_command

    def recording(self: AbstractConnection, command: Any, check_health: bool = True) -> None:
        chunks = [command] if isinstance(command, (bytes, bytearray, memoryview)) else command
        for args in parse_commands(b"".join(bytes(c) for c in chunks)):
            log.append([args[0].upper(), *args[1:]])
        original(self, command, check_health)

    with monkeypatch.context() as patch:
        patch.setattr(AbstractConnection, "send_packed_command", recording)
        yield log


def named(log: list[list[bytes]], name: bytes) -> list[list[bytes]]:
    return [command for command in log if command[0] == name]


def make_row(db: Database) -> type[Model]:
    class Row(Model):
        __database__ = db
        n = IntegerField(index=True)
        name = TextField(index=True)
        note = TextField()

    for i in range(30):
        Row.create(n=i, name=f"r{i:02d}", note="x" * 50)
    return Row


# -- what queries send ----------------------------------------------------------------------


def test_slicing_fetches_only_the_sliced_rows(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    Row = make_row(db)
    query = Row.query(Row.n >= 0, order_by=Row.n.desc())[5:8]
    before = server_row_reads(db)
    with sent_commands(monkeypatch) as log:
        rows = list(query)
    assert [r.n for r in rows] == [24, 23, 22]
    # The script reads the page of rows itself: no HGETALL from the client, and (where the
    # server reports its command counts) exactly the 3 sliced rows read on the server.
    assert named(log, b"HGETALL") == []
    assert len(named(log, b"EVAL") + named(log, b"EVALSHA")) == 1  # offset and limit in the script
    after = server_row_reads(db)
    if before is not None and after is not None:
        assert after - before == 3
    with sent_commands(monkeypatch) as log:
        rows = list(Row.query()[10:][2:4])  # chained slices compose
        first = Row.query(Row.name.startswith("r1")).first()
        third = Row.query(order_by=Row.name)[3]
        counted = Row.query()[25:40].count()
    assert [r.n for r in rows] == [12, 13]
    assert first is not None and first.n == 10 and third.n == 3
    assert counted == 5
    assert named(log, b"HGETALL") == []
    assert len(named(log, b"EVAL") + named(log, b"EVALSHA")) == 4


def server_row_reads(db: Database) -> int | None:
    """HGETALL + HMGET calls the server (every node of a cluster) has run, None when it does not
    report command statistics (a cluster client asks a random node)."""
    if getattr(db, "is_cluster", False):
        return None
    try:
        info = db.info("commandstats")
    except Exception:  # the embedded engine may not know the section
        return None
    # A cluster client answers with one section per node.
    nodes = [info] if any(str(k).startswith("cmdstat_") for k in info) else list(info.values())
    total, seen = 0, False
    for node in nodes:
        for name in ("cmdstat_hgetall", "cmdstat_hmget"):
            stat = node.get(name) if isinstance(node, dict) else None
            if isinstance(stat, dict):
                total += int(stat["calls"])
                seen = True
    return total if seen else None


def test_values_fetch_only_the_asked_fields_without_instances(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    Row = make_row(db)

    def no_instances(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("values() built a model instance")

    with sent_commands(monkeypatch) as log:
        monkeypatch.setattr(Row, "_from_raw", classmethod(no_instances))
        monkeypatch.setattr(Row, "__init__", no_instances)
        values = Row.query(Row.n < 3).values("n", Row.name)
        pairs = Row.query(Row.n.between(4, 5)).values_list(Row.name, "n")
        flat = Row.query(Row.n > 27).values_list("n", flat=True)
    assert values == [{"n": 0, "name": "r00"}, {"n": 1, "name": "r01"}, {"n": 2, "name": "r02"}]
    assert pairs == [("r04", 4), ("r05", 5)]
    assert flat == [28, 29]
    assert named(log, b"HGETALL") == []
    hmgets = named(log, b"HMGET")
    assert len(hmgets) == 3 + 2 + 2
    assert [c[2:] for c in hmgets] == [[b"n", b"name"]] * 3 + [[b"name", b"n"]] * 2 + [[b"n"]] * 2


# -- deletes and loads --------------------------------------------------------------------------


def test_delete_for_update_keeps_containers(db: Database) -> None:
    class Note(Model):
        __database__ = db
        code = TextField(primary_key=True)
        title = TextField(index=True)
        tags = SetField()
        meta = HashField()

    note = Note.create(code="n", title="t")
    note.tags.add("x")
    note.meta["k"] = "v"
    containers = [
        Note._container_key("tags", note.get_hash_id()),
        Note._container_key("meta", note.get_hash_id()),
    ]
    note.delete(for_update=True)
    assert Note.count() == 0 and list(Note.query(Note.title == "t")) == []
    assert db.exists(*containers) == 2
    again = Note.create(code="n", title="t2")  # the same key picks its containers up again
    assert again.tags.members() == {b"x"} and again.meta["k"] == b"v"
    again.delete()
    assert db.exists(*containers) == 0
    assert Note.check_indexes() == []


def test_load_with_convert_key_false_takes_the_row_key(db: Database) -> None:
    class User(Model):
        __database__ = db
        username = TextField(primary_key=True)
        age = IntegerField()

    user = User.create(username="ann", age=3)
    key = user.get_hash_id()
    assert key is not None
    assert User.load(key, convert_key=False)._data == {"username": "ann", "age": 3}
    assert User.load(key.decode(), convert_key=False) == user
    with pytest.raises(KeyError):
        User.load(User._make_key("id", "nobody"), convert_key=False)
    with pytest.raises(KeyError):
        User.load(key)  # converted: read as a primary key, whose row does not exist


# -- full-text options on a model -------------------------------------------------------------


def test_text_field_tokenizer_options_on_a_model(db: Database, tmp_path: Path) -> None:
    stopwords = tmp_path / "stop.txt"
    stopwords.write_text("walrus\n", encoding="utf-8")

    class Doc(Model):
        __database__ = db
        sound = TextField(fts=True, metaphone=True, stemmer=False)
        short = TextField(fts=True, min_word_length=4, stemmer=False, stopwords_file=False)
        custom = TextField(fts=True, stopwords_file=str(stopwords), stemmer=False)

    doc = Doc.create(sound="Smith", short="a big elephant", custom="walrus redis")
    Doc.create(sound="Jones", short="tiny", custom="python")
    assert list(Doc.query(Doc.sound.search("Smyth"))) == [doc]  # sounds alike
    assert list(Doc.query(Doc.sound.search("Brown"))) == []
    assert list(Doc.query(Doc.short.search("elephant"))) == [doc]
    assert list(Doc.query(Doc.short.search("big"))) == []  # shorter than 4: not indexed
    assert not db.exists(Doc._make_key("short", "fts", "big"))
    assert db.exists(Doc._make_key("short", "fts", "elephant"))
    assert list(Doc.query(Doc.custom.search("walrus"))) == []  # a stopword of the file
    assert not db.exists(Doc._make_key("custom", "fts", "walrus"))
    assert list(Doc.query(Doc.custom.search("redis"))) == [doc]
    assert Doc.check_indexes() == []


# -- stored forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_date_is_stored_as_its_utc_midnight(
    db: Database, monkeypatch: pytest.MonkeyPatch, zone: str
) -> None:
    class Day(Model):
        __database__ = db
        code = TextField(primary_key=True)
        day = DateField(index=True)

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        Day.create(code="a", day=datetime.date(2020, 1, 2))
        Day.create(code="b", day=datetime.date(1969, 12, 31))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert db.hget(Day._make_key("id", "a"), "day") == b"1577923200"  # 2020-01-02T00:00:00Z
    assert db.hget(Day._make_key("id", "b"), "day") == b"-86400"
    assert db.zscore(Day._make_key("day", "continuous"), Day._make_key("id", "a")) == 1577923200
    assert db.smembers(Day._make_key("day", "absolute", "1577923200.0")) == {
        Day._make_key("id", "a")
    }
    assert Day.load("a").day == datetime.date(2020, 1, 2)
    assert Day.load("b").day == datetime.date(1969, 12, 31)
