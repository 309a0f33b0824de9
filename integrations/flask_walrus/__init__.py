"""flask_walrus: the walrus suite as a Flask extension.

::

    from flask import Blueprint, Flask
    from flask_walrus import Walrus

    w = Walrus()
    bp = Blueprint("search", __name__)

    @bp.get("/search")
    @w.rate_limited("5/minute")
    def search(): ...

    def create_app():
        app = Flask(__name__)
        app.config["WALRUS_URL"] = "redis://localhost:6379/0"   # or "memory://dev"
        w.init_app(app)
        app.register_blueprint(bp)
        return app

See docs/flask.md for the configuration keys and the ``flask walrus`` commands.
"""

from __future__ import annotations

try:  # the extension needs Flask: say which extra brings it, not a bare error
    import flask as _flask  # noqa: F401 (only checks that it is installed)
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the install
    if exc.name != "flask":
        raise
    raise ModuleNotFoundError(
        "flask_walrus needs Flask: pip install '.[flask]' (in a checkout of the walrus suite) "
        "or pip install 'Flask>=2.3'",
        name="flask",
    ) from exc

from .caching import cache_key
from .config import DEFAULTS
from .extension import Walrus, WalrusState
from .ratelimit import RateLimitExceeded, RateRule, client_address, forwarded_address

__all__ = [
    "DEFAULTS",
    "RateLimitExceeded",
    "RateRule",
    "Walrus",
    "WalrusState",
    "cache_key",
    "client_address",
    "forwarded_address",
]

Limit = RateRule  # old name, kept importable
