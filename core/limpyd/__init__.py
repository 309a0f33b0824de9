"""limpyd: the redis-limpyd model API (``RedisModel``, per-field Redis commands, collections,
related fields, pipelines) built on the walrus core.

Modules: :mod:`limpyd.database`, :mod:`limpyd.model`, :mod:`limpyd.fields`,
:mod:`limpyd.collection`, :mod:`limpyd.indexes`, :mod:`limpyd.exceptions`,
:mod:`limpyd.utils`, :mod:`limpyd.contrib.related`, :mod:`limpyd.contrib.database`,
:mod:`limpyd.contrib.collection`, :mod:`limpyd.contrib.indexes` (the redis-limpyd 2.x API
beside the seed README's names).
"""

from __future__ import annotations

__all__ = ["VERSION", "__version__"]

__version__ = "2.1.0"
"""The redis-limpyd release whose API this package provides."""
VERSION = __version__
"""redis-limpyd's own name for `__version__`."""
