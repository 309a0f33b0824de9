"""``manage.py walrus_info``: server summary, keys and memory per prefix, cache reads and
rate-limit decisions (every process's, as flushed with ``WALRUS_METRICS = True``) and held
locks: the figures of the admin's server page, as tables."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from redis.exceptions import RedisError

from walrus.events import by_name, read_totals
from walrus.keyspace import prefix_memory, server_summary
from walrus.lock import held_locks

from ...admin.charts import human_bytes
from ...conf import alias_settings, get_database, safe_url


class Command(BaseCommand):  # type: ignore[misc]  # Django ships no types: Any base
    help = "Show the Redis server behind a WALRUS alias and how many keys each prefix holds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--alias", default="default")
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument(
            "--sample",
            type=int,
            default=None,
            help="count at most this many keys (for large databases)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["alias"]
        try:
            url = safe_url(alias_settings(alias)["URL"])
            database = get_database(alias)
            summary = server_summary(database)
            stats = prefix_memory(database, limit=options["sample"])
            totals = read_totals(database)
            locks = [lock.name for lock in held_locks(database, "")]
        except KeyError as exc:
            raise CommandError(str(exc.args[0])) from None
        except RedisError as exc:
            raise CommandError(f"cannot reach {url}: {exc}") from None
        caches, limits = by_name(totals, "cache"), by_name(totals, "rate_limit")
        data = {
            "alias": alias, "url": url, "server": summary,
            "prefixes": {prefix: keys for prefix, (keys, _) in stats.items()},
            "prefix_memory": {prefix: size for prefix, (_, size) in stats.items()},
            "caches": caches, "rate_limits": limits, "locks_held": len(locks),
        }  # fmt: skip
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, default=str))
            return
        self.stdout.write(f"Alias {alias}: {url}")
        for name, value in summary.items():
            self.stdout.write(f"  {name}: {value}")
        self.stdout.write(f"{'Prefix':<40} {'Keys':>10} {'Memory (est.)':>14}")
        for prefix, (keys, size) in stats.items():
            memory = "-" if size is None else human_bytes(size)
            self.stdout.write(f"{prefix:<40} {keys:>10} {memory:>14}")
        if caches:
            self.stdout.write(
                f"{'Cache':<40} {'Hits':>10} {'Misses':>10} {'Errors':>8} {'Hit ratio':>10}"
            )
            for name, c in sorted(caches.items()):
                hits, misses = c.get("hit", 0), c.get("miss", 0)
                ratio = f"{hits / (hits + misses):.0%}" if hits + misses else "-"
                self.stdout.write(
                    f"{name:<40} {hits:>10} {misses:>10} {c.get('error', 0):>8} {ratio:>10}"
                )
        if limits:
            self.stdout.write(f"{'Rate limit':<40} {'Allowed':>10} {'Refused':>10}")
            for name, c in sorted(limits.items()):
                self.stdout.write(f"{name:<40} {c.get('allowed', 0):>10} {c.get('refused', 0):>10}")
        if not totals:
            self.stdout.write("Cache and rate-limit figures: none yet (set WALRUS_METRICS = True).")
        self.stdout.write(f"Locks held: {len(locks)}")
