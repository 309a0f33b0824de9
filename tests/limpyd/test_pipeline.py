"""contrib.database.PipelineDatabase: pipeline routing and transactions with retries."""

from __future__ import annotations

import threading

import pytest

from limpyd import fields, model
from limpyd.contrib.database import PipelineDatabase
from limpyd.exceptions import ImplementationError
from walrus.roundtrips import RoundTripCounter


@pytest.fixture
def Page(pipeline_db: PipelineDatabase):  # noqa: N802 - a model class
    class Page(model.RedisModel):
        database = pipeline_db
        url = fields.StringField(indexable=True)
        hits = fields.StringField()
        title = fields.HashableField()
        tags = fields.SetField()

    return Page


def test_pipeline_routes_field_commands(pipeline_db: PipelineDatabase, Page, raw) -> None:  # noqa: N803
    page = Page(url="/", hits=1, title="t")
    assert page.hits.get() == "1"  # cached now: the pipeline must not use the cache
    with RoundTripCounter() as rt:
        with pipeline_db.pipeline() as pipe:
            assert pipeline_db.has_pipeline() and pipeline_db.connection is pipe
            page.hits.incr()
            page.hits.get()
            page.tags.sadd("a", "b")
            page.hmset(title="new")
            page.hmget("title")
            page.title.hget()
            results = pipe.execute()
    assert rt.count == 1
    assert results == [2, "2", 2, 0, ["new"], "new"]
    assert not pipeline_db.has_pipeline()
    assert page.hits.get() == "2"  # the cache was cleared by the queued write
    assert raw.smembers(":page:1:tags") == {"a", "b"}


def test_pipeline_refuses_what_needs_reads(
    pipeline_db: PipelineDatabase,
    Page,  # noqa: N803  a model class fixture
    raw,
    helpers,
) -> None:
    page = Page(url="/")
    before = helpers.snapshot(raw)
    with pipeline_db.pipeline() as pipe:
        with pytest.raises(ImplementationError, match="Page.url is indexable"):
            page.url.set("/other")
        with pytest.raises(ImplementationError, match="created inside a pipeline"):
            Page(url="/x")
        with pytest.raises(ImplementationError, match="no pk yet"):
            Page().hits.set(1)
        with pytest.raises(ImplementationError, match="deleted inside a pipeline"):
            page.delete()
        assert len(pipe) == 0
    assert helpers.snapshot(raw) == before


def test_pipeline_is_per_thread(pipeline_db: PipelineDatabase, Page) -> None:  # noqa: N803
    page = Page(hits=5)
    seen: list[object] = []
    with pipeline_db.pipeline():
        thread = threading.Thread(target=lambda: seen.append(Page(page.get_pk()).hits.get()))
        thread.start()
        thread.join()
    assert seen == ["5"]


def test_transaction_retries_on_concurrent_change(pipeline_db: PipelineDatabase, Page, raw) -> None:  # noqa: N803
    page = Page(hits=0)
    calls: list[str | None] = []

    def incr(pipe) -> None:
        value = page.hits.get()
        calls.append(value)
        if len(calls) == 1:
            raw.set(page.hits.key, "10")  # someone else writes between read and EXEC
        pipe.multi()
        page.hits.set(int(value) + 1)

    assert pipeline_db.transaction(incr, page.hits) == [True]
    assert calls == ["0", "10"]
    assert page.hits.get() == "11"
    assert not pipeline_db.has_pipeline()


def test_transaction_accepts_key_names_and_returns_callable_value(
    pipeline_db: PipelineDatabase,
    Page,  # noqa: N803
) -> None:
    page = Page(hits=1)

    def read(pipe):
        value = page.hits.get()
        pipe.multi()
        page.tags.sadd("x")
        return value

    assert pipeline_db.transaction(read, page.hits.key, value_from_callable=True) == "1"
    assert page.tags.smembers() == {"x"}


def test_plain_database_has_no_pipeline_routing(limpyd_db) -> None:
    assert not limpyd_db.has_pipeline()
    assert limpyd_db.connection is limpyd_db.direct_connection


def test_hmset_of_an_indexable_field_is_refused_in_a_pipeline(
    pipeline_db: PipelineDatabase, raw, helpers
) -> None:
    class Doc(model.RedisModel):
        database = pipeline_db
        slug = fields.InstanceHashField(indexable=True)
        body = fields.InstanceHashField()

    doc = Doc(slug="a", body="x")
    before = helpers.snapshot(raw)
    with pipeline_db.pipeline() as pipe:
        with pytest.raises(ImplementationError, match="Doc.slug is indexable"):
            doc.hmset(slug="b", body="y")
        doc.hmset(body="y")  # no index involved: queued
        assert len(pipe) == 1
        assert helpers.snapshot(raw) == before
        assert pipe.execute() == [0]  # HSET: no new hash field
    assert doc.hmget("slug", "body") == ["a", "y"]
