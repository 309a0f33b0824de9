"""walrus.keys.call_key: one key per logical call, whichever way the arguments are spelled.

The fast binder for plain signatures must give exactly the key that binding through
inspect.Signature gives; the reference here binds with inspect directly.
"""

from __future__ import annotations

import hashlib
import inspect
from typing import Any

import pytest

from walrus.keys import call_key, canonical_json, qualified_name


def reference_key(
    fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], skip_first: bool = False
) -> str:
    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    items = list(bound.arguments.items())
    if skip_first:
        items = items[1:]
    digest = hashlib.sha1(canonical_json(dict(items)).encode("utf-8")).hexdigest()
    return f"{qualified_name(fn)}:{digest}"


def plain(a, b, c=3, d=None):  # type: ignore[no-untyped-def]
    return a


def no_params():  # type: ignore[no-untyped-def]
    return 1


def starred(a, *rest, key=1, **extra):  # type: ignore[no-untyped-def]
    return a


def positional_only(a, /, b=2):  # type: ignore[no-untyped-def]
    return a


def keyword_only(a, *, b, c=4):  # type: ignore[no-untyped-def]
    return a


CALLS = [
    (plain, (1, 2), {}),
    (plain, (1, 2, 3, 4), {}),
    (plain, (1,), {"b": 2}),
    (plain, (), {"d": [1, {"x": 2}], "b": 2, "a": 1}),
    (plain, (1, 2), {"d": "x"}),
    (no_params, (), {}),
    (starred, (1, 2, 3), {"z": 9}),
    (starred, (1,), {"key": 5}),
    (positional_only, (1,), {}),
    (positional_only, (1,), {"b": 7}),
    (keyword_only, (1,), {"b": 2}),
    (keyword_only, (), {"a": 1, "b": 2, "c": 3}),
]


@pytest.mark.parametrize(("fn", "args", "kwargs"), CALLS)
def test_key_matches_inspect_binding(
    fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    assert call_key(fn, args, kwargs) == reference_key(fn, args, kwargs)
    if inspect.signature(fn).parameters:
        assert call_key(fn, args, kwargs, skip_first=True) == reference_key(
            fn, args, kwargs, skip_first=True
        )


def test_spellings_of_one_call_share_a_key() -> None:
    keys = {
        call_key(plain, (1, 2), {}),
        call_key(plain, (1, 2, 3), {}),
        call_key(plain, (1,), {"b": 2}),
        call_key(plain, (), {"b": 2, "a": 1}),
        call_key(plain, (), {"a": 1, "b": 2, "c": 3, "d": None}),
    }
    assert len(keys) == 1
    assert call_key(plain, (1, 2, 4), {}) not in keys
    assert call_key(plain, (2, 1), {}) not in keys


def test_skip_first_ignores_self_however_it_is_passed() -> None:
    first = call_key(plain, ("self-a", 2), {}, skip_first=True)
    assert call_key(plain, (), {"a": "self-b", "b": 2}, skip_first=True) == first
    assert call_key(plain, ("self-a", 3), {}, skip_first=True) != first


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((1, 2, 3, 4, 5), {}, "too many positional arguments"),
        ((1,), {}, "missing a required argument: 'b'"),
        ((1, 2), {"a": 1}, "multiple values for argument 'a'"),
        ((1, 2), {"e": 1}, "unexpected keyword argument 'e'"),
    ],
)
def test_calls_that_do_not_fit_raise_naming_the_function(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError) as info:
        call_key(plain, args, kwargs)
    assert str(info.value).startswith(qualified_name(plain) + ": ")
    assert message in str(info.value)


def test_builtin_without_signature_keys_on_what_was_given() -> None:
    # max has no introspectable signature: the key is built from the arguments as given.
    assert call_key(max, (1, 2), {}) == call_key(max, (1, 2), {})
    assert call_key(max, (1, 2), {}) != call_key(max, (2, 1), {})


def test_unstable_argument_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot build a stable key from a object argument"):
        call_key(plain, (object(), 2), {})
