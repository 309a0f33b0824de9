"""``python -m example_projects.flask_app [--port N]``: run the Flask example on 127.0.0.1."""

from __future__ import annotations

import argparse
import os

from .app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the walrus Flask example.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 5000))
    args = parser.parse_args(argv)
    # One process, threaded: the memory:// engine is shared by the request threads.
    create_app().run(host="127.0.0.1", port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
