"""Helpers shared by the test folders, imported as ``tests.support.<module>``.

The server processes (``redis_server``, ``sentinel_server``, ``cluster_server``), the cluster
backend's exclusion list, the fault suite's injectors and workloads, the other Pythons and
upstream walrus used by the compatibility tests, and the Django test project (settings,
URLs, walrus models and their admin).
"""
