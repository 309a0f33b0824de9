"""A small Flask app using flask_walrus: rate-limited views, a cached report, a lock.

Run it (from the repository root)::

    flask --app example_projects.flask_app.app run --port 5000
    python -m example_projects.flask_app --port 5000

``WALRUS_URL`` picks the Redis server (default ``memory://flask-example``, the embedded
in-process engine, so no server is needed).

- ``GET /``: a page counting visits; every view shares the app-wide default limit
  ``WALRUS_RATELIMIT_DEFAULT`` (60 per minute per client address).
- ``GET /api/hello?name=Ada``: JSON, ``@w.rate_limited("5/minute")``; the sixth call in a
  minute gets 429 with ``Retry-After`` and a JSON body.
- ``POST /login``: ``3/minute`` per client, in the ``auth`` scope (a budget shared by
  every view in that scope).
- ``GET /report``: ``@w.cached(timeout=30)``; on a miss it is built under the ``report``
  lock so that concurrent misses do not build it twice.
- ``POST /jobs/cleanup?seconds=0.5``: a job guarded by a non-blocking lock; while one runs,
  another request gets 409.
"""

from __future__ import annotations

import datetime
import os
import time
from typing import Any

from flask import Flask, jsonify, render_template_string, request
from werkzeug.wrappers import Response

from flask_walrus import RateLimitExceeded, Walrus

__all__ = ["create_app", "w"]

KEY_PREFIX = "flask_example"
w = Walrus()

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>walrus Flask example</title></head>
<body>
<h1>walrus Flask example</h1>
<p id="visits">{{ visits }} visit{{ "" if visits == 1 else "s" }} so far.</p>
<ul>
  <li><a href="{{ url_for('hello') }}">/api/hello</a> (5 per minute)</li>
  <li><a href="{{ url_for('report') }}">/report</a> (cached for 30 s, built under a lock)</li>
  <li><code>POST /login</code> (3 per minute), <code>POST /jobs/cleanup</code> (one at a time)</li>
</ul>
</body></html>
"""


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides the defaults and the environment."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("FLASK_SECRET_KEY", "flask-example-key-not-for-production"),
        WALRUS_URL=os.environ.get("WALRUS_URL") or "memory://flask-example",
        WALRUS_KEY_PREFIX=KEY_PREFIX,
        WALRUS_PREFIXES=[f"lock:{KEY_PREFIX}:"],
        WALRUS_RATELIMIT_DEFAULT="60/minute",
        WALRUS_CACHE_DEFAULT_TIMEOUT=30,
    )
    app.config.update(config or {})
    w.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def too_many(exc: RateLimitExceeded) -> tuple[Response, int, dict[str, str]]:
        seconds = max(1, int(exc.retry_after + 0.999))
        body = jsonify(error="rate limit exceeded", limit=str(exc.limit), retry_after=seconds)
        return body, 429, {"Retry-After": str(seconds)}

    @app.get("/")
    def index() -> str:
        visits = int(w.db.incr(f"{KEY_PREFIX}:visits"))
        return render_template_string(PAGE, visits=visits)

    @app.get("/api/hello")
    @w.rate_limited("5/minute")
    def hello() -> Response:
        name = request.args.get("name", "world")[:50]
        return jsonify(message=f"Hello, {name}!")

    @app.post("/login")
    @w.rate_limited("3/minute", scope="auth")
    def login() -> tuple[Response, int]:
        # A stand-in for a real check: the point is the shared "auth" budget.
        ok = request.form.get("password") == "walrus"
        return jsonify(ok=ok), 200 if ok else 401

    @app.get("/report")
    @w.cached(timeout=30)
    def report() -> Response:
        with w.lock(f"{KEY_PREFIX}:report", ttl=10_000):  # ms; released on exit
            builds = int(w.db.incr(f"{KEY_PREFIX}:report-builds"))
            visits = int(w.db.get(f"{KEY_PREFIX}:visits") or 0)
            generated = datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="microseconds"
            )
            return jsonify(visits=visits, builds=builds, generated=generated)

    @app.post("/jobs/cleanup")
    def cleanup() -> tuple[Response, int]:
        seconds = min(max(float(request.args.get("seconds", "0.2")), 0.0), 5.0)
        lock = w.lock(f"{KEY_PREFIX}:cleanup", ttl=30_000)
        if not lock.acquire(block=False):
            return jsonify(status="busy", detail="a cleanup is already running"), 409
        try:
            time.sleep(seconds)  # the job's work
        finally:
            lock.release()
        return jsonify(status="done", seconds=seconds), 200

    return app
