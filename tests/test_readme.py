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
    limiter = namespace["limiter"]
    assert [limiter.limit("x") for _ in range(6)] == [False] * 5 + [True]  # type: ignore[attr-defined]


def test_models_sample(redis_url: str) -> None:
    code = _sample("walrus core").replace("redis://localhost:6379/0", redis_url)
    code += "\n" + _sample("Models")
    namespace: dict[str, object] = {}
    exec(compile(code, "README models sample", "exec"), namespace)
    note = namespace["Note"]
    rows = list(note.query((note.author == "ada") & (note.stars >= 2)))  # type: ignore[attr-defined]
    assert [r.title for r in rows] == ["Caching with Redis"]
    assert note.query(note.title.search("redis cache")).count() == 1  # type: ignore[attr-defined]


def test_asyncio_sample(redis_url: str) -> None:
    code = _sample("asyncio").replace("redis://localhost:6379/0", redis_url)
    code = code.replace("asyncio.run(main())", "result = asyncio.run(main())")
    namespace: dict[str, object] = {}
    exec(compile(code, "README asyncio sample", "exec"), namespace)
    profile, popular, refused = namespace["result"]  # type: ignore[misc]
    assert profile == {"name": "Ada", "visits": "1"}
    assert popular == ["/"] and refused is False


@pytest.mark.parametrize("heading", ["limpyd"])
def test_limpyd_sample(heading: str, redis_server: object) -> None:
    host, port = redis_server.host, redis_server.port  # type: ignore[attr-defined]
    code = _sample(heading).replace(
        'host="localhost", port=6379, db=0', f'host="{host}", port={port}, db=10'
    )
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


def test_core_sample_catches_query_error(redis_url: str) -> None:
    code = _sample("walrus core").replace("redis://localhost:6379/0", redis_url)
    namespace: dict[str, object] = {}
    exec(compile(code, "README core sample", "exec"), namespace)
    assert "unterminated quote" in str(namespace["problem"])
    assert "QueryError" in README.split("### Models", 1)[0]


def test_install_commands_work_from_a_checkout() -> None:
    """The distribution is not on PyPI: the README installs from the checkout or a wheel."""
    section = README.split("## Installing", 1)[1].split("\n## ", 1)[0]
    assert "pip install 'walrus-suite[" not in README
    assert "pip install '.[all]'" in section and "python -m build --wheel" in section
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(
        encoding="utf-8"
    )
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)  # type: ignore[union-attr]
    assert f"dist/walrus_suite-{version}-py3-none-any.whl[all]" in section
    extras = section.split("pick extras:", 1)[1].split("\n", 1)[0]
    for extra in re.findall(r"\w+", extras):
        assert re.search(rf"^{extra} = \[", pyproject, re.M), extra


def test_readme_gives_the_test_durations() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make quick" in quick_start and re.search(r"make quick .*about \d+ minutes", quick_start)
    assert re.search(r"make test .*about \d+ minutes", quick_start) and "make help" in quick_start
