"""The "cluster" backend of the ``db`` fixture: which tests get it, and which do not and why.

Every test under ``tests/core/`` that takes ``db`` also runs on the session's real local
3-primary Redis Cluster, through ``Database.from_url("redis+cluster://...")``, except:

- tests marked ``single_node("reason")``;
- tests listed in ``EXCLUDED`` below, keyed ``"<file>::<test>"`` (or
  ``"<file>::<Class>::<test>"``), each with a category and a one-line reason.

Categories (exclude only what cannot work on a cluster; never to hide a failure):

- ``CROSS_SLOT``: one command, transaction or script of the test touches untagged keys of
  several hash slots (set algebra between ``"a"`` and ``"b"``, models related across tags);
  Redis Cluster refuses that by design, and ``tests/cluster/`` covers the tagged form and
  the ``CrossSlotError``.
- ``KEY_LAYOUT``: the test names keys of the single-server (upstream-compatible) layout,
  e.g. ``"lock:job"``; on a cluster those keys carry a hash tag (``"lock:{job}"``, see
  docs/cluster.md), which ``tests/cluster/`` checks.
- ``SINGLE_SERVER``: the test uses what only one server has (MONITOR, a connection pool,
  a per-node counter such as PUBSUB NUMPAT).
- ``LIBRARY_BUG``: walrus is wrong on a cluster where it should not be; excluded only until
  fixed, and reported. Keep this list short and empty it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, NoReturn

import pytest

__all__ = [
    "CATEGORIES",
    "CLUSTER_SUITES",
    "CROSS_SLOT",
    "EXCLUDED",
    "KEY_LAYOUT",
    "LIBRARY_BUG",
    "SINGLE_SERVER",
    "cluster_exclusion",
    "registry_key",
    "unavailable",
]

CROSS_SLOT: Final = "cross-slot by design"
KEY_LAYOUT: Final = "single-server key layout"
SINGLE_SERVER: Final = "single-server feature"
LIBRARY_BUG: Final = "library bug"
CATEGORIES: Final = (CROSS_SLOT, KEY_LAYOUT, SINGLE_SERVER, LIBRARY_BUG)

# Folders under tests/ whose ``db`` tests get the cluster backend. Elsewhere ``db`` means a
# single server on purpose (e.g. tests/cluster/ compares the two).
CLUSTER_SUITES: Final = ("core",)

_LAYOUT = "names keys of the single-server layout"
_UPSTREAM = "reads or writes upstream walrus's single-server keys directly"

EXCLUDED: Final[dict[str, tuple[str, str]]] = {
    # -- containers ---------------------------------------------------------------------------
    "test_set.py::test_operators": (CROSS_SLOT, "set algebra between untagged keys a, b, c"),
    "test_set.py::test_store_methods_return_containers": (
        CROSS_SLOT,
        "SINTERSTORE & co. over untagged keys",
    ),
    "test_set.py::test_round_trips": (CROSS_SLOT, "interstore between untagged keys"),
    "test_zset.py::test_store_operations": (
        CROSS_SLOT,
        "ZUNIONSTORE/ZINTERSTORE over untagged keys",
    ),
    "test_hyperloglog.py::test_merge_count_and_ior": (
        CROSS_SLOT,
        "PFCOUNT/PFMERGE over untagged keys",
    ),
    "test_hyperloglog.py::test_round_trips": (CROSS_SLOT, "PFMERGE over untagged keys"),
    "test_container_errors.py::test_wrong_type_names_the_other_key": (
        CROSS_SLOT,
        "set/zset stores over untagged keys",
    ),
    "test_container_errors.py::test_plain_string_is_not_a_hyperloglog": (
        CROSS_SLOT,
        "PFMERGE over untagged keys",
    ),
    "test_consumer_group.py::test_two_consumers_share_the_work": (
        CROSS_SLOT,
        "XREADGROUP over untagged streams",
    ),
    "test_consumer_group.py::test_read_blocks_until_a_message_arrives": (
        CROSS_SLOT,
        "XREADGROUP over untagged streams",
    ),
    "test_consumer_group.py::test_set_id_reset_and_destroy": (
        CROSS_SLOT,
        "XREADGROUP over untagged streams",
    ),
    "test_consumer_group.py::test_one_round_trip_per_operation": (
        CROSS_SLOT,
        "XREADGROUP over untagged streams",
    ),
    "test_consumer_group.py::test_read_as_another_consumer": (
        CROSS_SLOT,
        "XREADGROUP over untagged streams",
    ),
    "test_time_series.py::test_group_reads_messages": (
        CROSS_SLOT,
        "XREADGROUP over untagged streams",
    ),
    # -- database, keyspace, pub/sub ----------------------------------------------------------
    "test_database.py::test_atomic_commits_on_exit_and_discards_on_error": (
        CROSS_SLOT,
        "MULTI/EXEC over untagged keys a, b",
    ),
    "test_database.py::test_script_dir_override": (
        SINGLE_SERVER,
        "builds a Database on db.connection_pool",
    ),
    "test_pubsub.py::test_sync_listener_blocks_until_stop_iteration": (
        SINGLE_SERVER,
        "PUBSUB NUMPAT counts one node's pattern subscriptions",
    ),
    "test_pubsub.py::test_stream_log_feeds_commands_and_releases_its_connection": (
        SINGLE_SERVER,
        "MONITOR",
    ),
    "test_pubsub.py::test_stream_log_stops_on_stop_iteration": (SINGLE_SERVER, "MONITOR"),
    "test_pubsub.py::test_stream_log_refused_by_the_server_is_a_clear_error": (
        SINGLE_SERVER,
        "MONITOR",
    ),
    # -- helpers ------------------------------------------------------------------------------
    "test_autocomplete.py::test_key_layout": (KEY_LAYOUT, _LAYOUT),
    "test_autocomplete.py::test_defaults_and_json": (KEY_LAYOUT, _LAYOUT),
    "test_autocomplete.py::test_boosts_by_object_type_and_per_search": (KEY_LAYOUT, _LAYOUT),
    "test_autocomplete.py::test_custom_and_disabled_stopwords": (KEY_LAYOUT, _LAYOUT),
    "test_lock.py::test_acquire_release_and_key_layout": (KEY_LAYOUT, _LAYOUT),
    "test_lock.py::test_ttl_is_milliseconds_and_zero_means_none": (KEY_LAYOUT, _LAYOUT),
    "test_lock.py::test_same_lock_id_is_the_same_owner": (KEY_LAYOUT, _LAYOUT),
    "test_lock.py::test_non_owner_release_raises_and_keeps_the_lock": (KEY_LAYOUT, _LAYOUT),
    "test_lock.py::test_wake_up_list_expires": (KEY_LAYOUT, _LAYOUT),
    "test_lock.py::test_extend_and_renew": (KEY_LAYOUT, _LAYOUT),
    "test_lock.py::test_existing_lock_key_is_respected": (KEY_LAYOUT, _UPSTREAM),
    "test_rate_limit.py::test_limit_allows_then_refuses_and_is_one_round_trip": (
        KEY_LAYOUT,
        _LAYOUT,
    ),
    "test_rate_limit.py::test_stacked_limits_are_all_or_nothing": (KEY_LAYOUT, _LAYOUT),
    "test_rate_limit.py::test_reads_upstream_timestamps": (KEY_LAYOUT, _UPSTREAM),
    # -- models -------------------------------------------------------------------------------
    "test_models.py::test_implicit_id_and_autoincrement": (KEY_LAYOUT, _LAYOUT),
    "test_models.py::test_datetime_is_utc": (KEY_LAYOUT, _LAYOUT),
    "test_models.py::test_delete_and_query_delete": (KEY_LAYOUT, _LAYOUT),
    "test_models.py::test_container_fields": (KEY_LAYOUT, _LAYOUT),
    "test_models.py::test_namespace_and_separator": (KEY_LAYOUT, _LAYOUT),
    "test_models_atomic.py::test_auto_pk_skips_ids_taken_by_explicit_rows": (KEY_LAYOUT, _LAYOUT),
    "test_models_atomic.py::test_key_layout_matches_upstream": (KEY_LAYOUT, _LAYOUT),
    "test_models_atomic.py::test_rows_written_by_upstream_read_back": (KEY_LAYOUT, _UPSTREAM),
    "test_models_atomic.py::test_check_and_rebuild_indexes": (KEY_LAYOUT, _LAYOUT),
    "test_models_constraints.py::test_check_indexes_reports_duplicate_combinations": (
        KEY_LAYOUT,
        _LAYOUT,
    ),
    "test_models_pipeline.py::test_save_and_delete_of_loaded_rows_are_queued": (
        CROSS_SLOT,
        "one MULTI/EXEC holds a model row and the untagged key 'unrelated'",
    ),
    "test_models_pipeline.py::test_a_watching_pipe_before_multi_runs_the_save_at_once": (
        CROSS_SLOT,
        "WATCHes the untagged key 'something' and saves a row of another slot on that pipe",
    ),
    **{
        f"test_models_relations.py::{name}": (
            CROSS_SLOT,
            "relations between models without a shared __cluster_tag__",
        )
        for name in (
            "test_foreign_key_stores_the_key_and_loads_the_row",
            "test_reverse_foreign_key_is_a_lazy_query",
            "test_foreign_key_to_a_missing_row_is_refused_atomically",
            "test_on_delete_cascade_follows_every_level",
            "test_on_delete_set_null_clears_the_field",
            "test_on_delete_protect_raises_and_deletes_nothing",
            "test_many_to_many_links_both_sides",
            "test_many_to_many_refuses_missing_rows_atomically",
            "test_deleting_either_side_of_many_to_many_removes_the_links",
            "test_many_to_many_protect",
            "test_delete_is_guarded_against_rows_added_meanwhile",
        )
    },
}


def registry_key(path: Path, name: str, cls: str | None = None) -> str:
    """The registry key of a test function: ``file::name`` or ``file::Class::name``."""
    return "::".join(part for part in (path.name, cls, name) if part)


def cluster_exclusion(metafunc: pytest.Metafunc) -> str | None:
    """Why this test does not run on the cluster backend (None when it does)."""
    path = Path(metafunc.definition.path)
    if path.parent.name not in CLUSTER_SUITES or path.parent.parent.name != "tests":
        return "not a core suite"
    marker = metafunc.definition.get_closest_marker("single_node")
    if marker is not None:
        return str(marker.args[0]) if marker.args else "marked single_node"
    cls = metafunc.cls.__name__ if metafunc.cls is not None else None
    entry = EXCLUDED.get(registry_key(path, metafunc.function.__name__, cls))
    return f"{entry[0]}: {entry[1]}" if entry is not None else None


def unavailable(reason: str) -> NoReturn:
    """Skip for want of redis-server / redis-cli, except under CI, where it is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"CI needs redis-server and redis-cli for the cluster tests: {reason}")
    pytest.skip(reason)
