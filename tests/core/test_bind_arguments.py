"""walrus.keys.bind_arguments: one dict per call, whatever the spelling (cache keys and
Celery lock names are built from it)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from walrus.keys import bind_arguments


def task(x: int, y: int = 2, *rest: int, flag: bool = False, **extra: Any) -> None: ...


SIG = inspect.signature(task)


def test_spellings_of_one_call_bind_alike() -> None:
    expected = {"x": 1, "y": 2, "rest": (), "flag": False, "extra": {}}
    assert bind_arguments(SIG, (1,), {}) == expected
    assert bind_arguments(SIG, (), {"x": 1}) == expected
    assert bind_arguments(SIG, (1, 2), {"flag": False}) == expected


def test_flatten_kwargs_lifts_extra_names() -> None:
    assert bind_arguments(SIG, (1,), {"user": "ann"}) == {
        "x": 1, "y": 2, "rest": (), "flag": False, "extra": {"user": "ann"},
    }  # fmt: skip
    assert bind_arguments(SIG, (1,), {"user": "ann"}, flatten_kwargs=True) == {
        "x": 1, "y": 2, "rest": (), "flag": False, "user": "ann",
    }  # fmt: skip


def test_a_call_that_does_not_fit_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="missing a required argument: 'x'"):
        bind_arguments(SIG, (), {})
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        bind_arguments(SIG, (1,), {"x": 2})
