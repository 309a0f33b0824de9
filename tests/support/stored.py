"""What a test compares before and after a refused write: every key of a client with its data."""

from __future__ import annotations

from typing import Any

__all__ = ["stored"]


def stored(client: Any) -> dict[bytes, Any]:
    """Every key (sorted) with its value: a hash's fields, a set's sorted members, a sorted
    set's (member, score) pairs, a string's value, the type name for other types."""
    found: dict[bytes, Any] = {}
    for key in sorted(client.keys("*")):
        kind = client.type(key)
        if kind == b"hash":
            found[key] = client.hgetall(key)
        elif kind == b"set":
            found[key] = sorted(client.smembers(key))
        elif kind == b"zset":
            found[key] = client.zrange(key, 0, -1, withscores=True)
        else:
            found[key] = client.get(key) if kind == b"string" else kind
    return found
