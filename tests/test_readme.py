"""The README's code samples run as written (server addresses swapped for the test server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _sample(heading: str) -> str:
    section = README.split(f"### {heading}", 1)[1].split("\n### ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, f"no python sample under {heading!r}"
    return match.group(1)


def test_core_sample(redis_url: str) -> None:
    code = _sample("walrus core").replace("redis://localhost:6379/0", redis_url)
    namespace: dict[str, object] = {}
    exec(compile(code, "README core sample", "exec"), namespace)
    h = namespace["h"]
    assert h.as_dict(decode=True) == {"name": "Ada", "lang": "python"}  # type: ignore[attr-defined]
    index = namespace["index"]
    assert [d["content"] for d in index.search("redis AND (queue OR durable)")] == [  # type: ignore[attr-defined]
        "Redis streams make durable queues"
    ]
    limit = namespace["limit"]
    assert [limit.limit("x") for _ in range(6)] == [False] * 5 + [True]  # type: ignore[attr-defined]


def test_models_sample(redis_url: str) -> None:
    code = _sample("walrus core").replace("redis://localhost:6379/0", redis_url)
    code += "\n" + _sample("Models")
    namespace: dict[str, object] = {}
    exec(compile(code, "README models sample", "exec"), namespace)
    note = namespace["Note"]
    rows = list(note.query((note.author == "ada") & (note.stars >= 2)))  # type: ignore[attr-defined]
    assert [r.title for r in rows] == ["Caching with Redis"]
    assert note.query(note.title.search("redis cache")).count() == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("heading", ["limpyd"])
def test_limpyd_sample(heading: str, redis_server: object) -> None:
    host, port = redis_server.host, redis_server.port  # type: ignore[attr-defined]
    code = _sample(heading).replace('host="localhost", port=6379, db=0', f'host="{host}", port={port}, db=10')
    namespace: dict[str, object] = {}
    client = redis_server.client(10)  # type: ignore[attr-defined]
    client.flushdb()
    try:
        exec(compile(code, "README limpyd sample", "exec"), namespace)
        bike = namespace["Bike"]
        (found,) = bike.collection(name="tricycle").instances()  # type: ignore[attr-defined]
        assert found.color.hget() == "blue" and found.wheels.get() == "3"
    finally:
        client.flushdb()
        client.close()
