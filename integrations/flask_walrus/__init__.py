"""flask_walrus: the walrus suite as a Flask extension.

::

    from flask import Flask
    from flask_walrus import Walrus

    w = Walrus()

    def create_app():
        app = Flask(__name__)
        app.config["WALRUS_URL"] = "redis://localhost:6379/0"   # or "memory://dev"
        w.init_app(app)
        return app

    @bp.get("/search")
    @w.rate_limited("5/minute")
    def search(): ...

See docs/flask.md for the configuration keys and the ``flask walrus`` commands.
"""

from __future__ import annotations

from .caching import cache_key
from .config import DEFAULTS
from .extension import Walrus, WalrusState
from .ratelimit import Limit, RateLimitExceeded, client_address, forwarded_address

__all__ = [
    "DEFAULTS",
    "Limit",
    "RateLimitExceeded",
    "Walrus",
    "WalrusState",
    "cache_key",
    "client_address",
    "forwarded_address",
]
