"""A short tour of the walrus core on the embedded ``memory://`` engine (no server needed).

Run ``python example_projects/core_tour.py``; ``WALRUS_URL=redis://...`` runs it on a real
server instead (it only touches keys under ``demo:``, and removes them at the end). Every
call it makes is public API (it is an example, not part of the package).
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from walrus.database import Database
from walrus.keyspace import delete_matching
from walrus.roundtrips import RoundTripCounter

__all__ = ["main", "tour"]


def tour(db: Database, out: TextIO = sys.stdout) -> None:
    """Print what each area of the core does, with the round trips it took."""

    def show(label: str, value: object, trips: int) -> None:
        out.write(f"  {label:<44} {value!r}  [{trips} round trip{'s' if trips != 1 else ''}]\n")

    out.write("Containers\n")
    user = db.Hash("demo:user:1")
    with RoundTripCounter() as rt:
        user.update(name="Ada", lang="python")
    show("Hash.update(name=..., lang=...)", None, rt.count)
    with RoundTripCounter() as rt:
        fields = user.as_dict(decode=True)
    show("Hash.as_dict(decode=True)", fields, rt.count)
    scores = db.ZSet("demo:scores")
    scores.add({"ada": 3, "bob": 1, "cy": 2})
    with RoundTripCounter() as rt:
        lowest = scores[:2]
    show("ZSet[:2] (lowest two)", lowest, rt.count)

    out.write("Full-text search\n")
    index = db.Index("demo:notes")
    index.add("n1", "Redis streams make durable queues", author="ada")
    index.add("n2", "Caching pages with Redis and Django", author="bob")
    with RoundTripCounter() as rt:
        hits = [doc["content"] for doc in index.search("redis AND (queue OR durable)")]
    show("Index.search('redis AND (queue OR durable)')", hits, rt.count)

    out.write("Cache\n")
    cache = db.cache("demo:cache", default_timeout=60)
    calls: list[int] = []

    @cache.cached()
    def slow_square(n: int) -> int:
        calls.append(n)
        return n * n

    with RoundTripCounter() as rt:
        slow_square(12)
    show("cached slow_square(12), a miss", calls[:], rt.count)
    with RoundTripCounter() as rt:
        square = slow_square(n=12)
    show("cached slow_square(n=12), a hit", square, rt.count)

    out.write("Rate limit\n")
    limit = db.rate_limit("demo:rl", limit=3, per=60)
    with RoundTripCounter() as rt:
        decisions = [limit.limit("client-1") for _ in range(5)]
    show("5 events against 3/minute: refused?", decisions, rt.count)

    delete_matching(db, ["demo:*"])


def main() -> int:
    url = os.environ.get("WALRUS_URL", "memory://demo")
    db = Database.from_url(url)
    print(
        f"walrus tour on {url}" + ("  (embedded engine: no Redis server)" if db.is_embedded else "")
    )
    tour(db)
    print("Done. `make test` runs the whole suite against a real redis-server.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
