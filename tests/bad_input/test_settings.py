"""Django settings (``WALRUS`` through the system checks and ``get_database``) and Flask config
(``Walrus().init_app(app)`` with random ``WALRUS_*`` values). Checks report problems as
messages and never raise; ``get_database`` and ``init_app`` either work or raise a clear
error naming the setting. Every URL used is loopback, unresolvable (``.invalid``) or
``memory://``: nothing here can reach another machine, and nothing connects at all."""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.bad_input.harness import SETTINGS, VALUES, outcome

pytestmark = pytest.mark.backends("resp2")

URLS = st.sampled_from(
    [
        "redis://127.0.0.1:1/0",
        "redis://localhost/0",
        "rediss://127.0.0.1:1/0",
        "unix:///nofolder.invalid/s.sock",
        "memory://bad-input",
        "redis+cluster://nohost.invalid:1",
        "redis://nohost.invalid:1/0",
        "http://x.invalid",
        "redis://127.0.0.1:99999/0",
        "redis://127.0.0.1/16",
        "redis://127.0.0.1/-1",
        "redis://[::1",
        "",
        "\x00",
        "redis://127.0.0.1:1/0?socket_timeout=abc",
        "redis://u:p@127.0.0.1:1/0",
        "memory://",
        "redis://\ud800/0",
    ]
)
# Not every random value: a URL-looking one (no string of VALUES contains "://"), else random.
SETTING_VALUES = st.one_of(URLS, VALUES)
OPTIONS = st.dictionaries(
    st.one_of(
        st.sampled_from(
            [
                "socket_timeout",
                "socket_connect_timeout",
                "retries",
                "retry_backoff",
                "decode_responses",
                "health_check_interval",
                "max_connections",
                "ssl_cert_reqs",
                "ssl_ca_certs",
                "retry",
                "protocol",
                "sockettimeout",
                "client_name",
                "username",
                "password",
            ]
        ),
        st.text(max_size=5),
    ),
    VALUES,
    max_size=3,
)
ALIAS = st.one_of(
    SETTING_VALUES,
    st.fixed_dictionaries(
        {"URL": SETTING_VALUES},
        optional={
            "OPTIONS": st.one_of(OPTIONS, VALUES),
            "PREFIXES": VALUES,
            "HOST": VALUES,
            "KEY_PREFIX": VALUES,
            "Url": VALUES,
        },
    ),
)
WALRUS = st.one_of(
    VALUES,
    st.dictionaries(
        st.one_of(
            st.sampled_from(["default", "other"]),
            VALUES.filter(lambda v: isinstance(v, (str, int))),
        ),
        ALIAS,
        max_size=2,
    ),
)


@SETTINGS
@given(walrus=WALRUS, location=SETTING_VALUES, cache_options=st.one_of(OPTIONS, VALUES))
def test_django_checks_and_get_database(
    settings: Any, walrus: Any, location: Any, cache_options: Any
) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from django_walrus import get_database
    from django_walrus.checks import check_caches, check_settings

    if _bad_ipv6(walrus) or _bad_ipv6(location):
        return  # known bug, see KNOWN below
    settings.WALRUS = walrus
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "walrus": {
            "BACKEND": "django_walrus.cache.WalrusCache",
            "LOCATION": location,
            "OPTIONS": cache_options,
        },
    }
    for check in (check_settings, check_caches):
        result = outcome(None, check, f"{check.__name__} WALRUS={walrus!r:.200}")
        assert not result.refused, (
            f"{check.__name__} raised for WALRUS={walrus!r:.200}: {result.error!r}"
        )
        assert isinstance(result.result, list)
        for message in result.result:
            assert message.id.startswith("django_walrus.") and message.msg
    if (
        isinstance(walrus, dict)
        and not all(isinstance(k, str) for k in walrus)
        and "default" not in walrus
    ):
        return  # known bug, see KNOWN below
    result = outcome(
        None, get_database, f"get_database WALRUS={walrus!r:.200}", allowed=(ImproperlyConfigured,)
    )
    if result.refused:
        text = str(result.error)
        assert "WALRUS" in text or "alias" in text, text  # names the setting


FLASK_KEYS = [
    "WALRUS_URL",
    "WALRUS_SOCKET_TIMEOUT",
    "WALRUS_SOCKET_CONNECT_TIMEOUT",
    "WALRUS_CONNECTION_OPTIONS",
    "WALRUS_RETRIES",
    "WALRUS_RETRY_BACKOFF",
    "WALRUS_RETRY_BACKOFF_CAP",
    "WALRUS_REQUEST_IDS",
    "WALRUS_KEY_PREFIX",
    "WALRUS_PREFIXES",
    "WALRUS_CACHE_DEFAULT_TIMEOUT",
    "WALRUS_CACHE_SERIALIZER",
    "WALRUS_CACHE_SIGNING_KEY",
    "WALRUS_CACHE_COMPRESSOR",
    "WALRUS_CACHE_COMPRESS_MIN_LENGTH",
    "WALRUS_CACHE_COMPRESS_LEVEL",
    "WALRUS_RATELIMIT_ENABLED",
    "WALRUS_RATELIMIT_DEFAULT",
    "WALRUS_RATELIMIT_ON_ERROR",
    "WALRUS_RATELIMIT_TRUSTED_PROXIES",
    "WALRUS_RATELIMIT_HEADERS",
    "WALRUS_RATELIMIT_HEADER_LIMIT",
    "WALRUS_RATELIMIT_HEADER_RETRY_AFTER",
    "WALRUS_UNKNOWN",
    "WALRUS_",
]
FLASK_VALUES = st.one_of(
    SETTING_VALUES,
    OPTIONS,
    st.sampled_from(
        ["5/minute", "0/hour", "1/0s", ["5/minute", 3], (5, 60), "json", "pickle", "zlib", "deny"]
    ),
)


def _init_app(ext: Any, app: Any) -> Any:
    """A redis+cluster:// URL makes init_app build redis-py's cluster client, which reads the
    slot map at once: a URL without a server is a connection error, not bad input."""
    import redis

    try:
        return ext.init_app(app)
    except (redis.ConnectionError, redis.exceptions.RedisClusterException) as exc:
        if str(app.config.get("WALRUS_URL", "")).startswith("redis+cluster://"):
            return exc
        raise


# Known bugs, reported (pinned in test_known_bugs.py). Django: a URL urllib cannot split
# ("redis://[::1") makes the checks raise ValueError('Invalid IPv6 URL') (safe_url), and
# get_database() with an alias key that is not a str raises a bare TypeError from str.join.
# Flask: refusals whose message does not name the config key.
KNOWN_FLASK: dict[str, Any] = {
    "WALRUS_CACHE_SERIALIZER": lambda v: v not in (None, "json", "pickle", "msgpack"),
    "SECRET_KEY": lambda v: (
        v is not None and not (isinstance(v, (str, bytes)) and v and v.isascii())
    ),
    "WALRUS_CACHE_SIGNING_KEY": lambda v: v is not None and not (isinstance(v, (str, bytes)) and v),
    "WALRUS_URL": lambda v: _bad_ipv6(v) or (isinstance(v, str) and (":99999" in v or "?" in v)),
    # a WALRUS_PREFIXES that is not iterable: a bare "'int' object is not iterable"
    "WALRUS_PREFIXES": lambda v: not hasattr(v, "__iter__"),
    # a timeout above what the core Cache accepts: the Cache's message, not the key's
    "WALRUS_CACHE_DEFAULT_TIMEOUT": lambda v: isinstance(v, (int, float)) and v > 2**62 // 1000,
}


def _bad_ipv6(value: Any) -> bool:
    if isinstance(value, str):
        return "[" in value and "]" not in value.partition("[")[2]
    if isinstance(value, dict):
        return any(_bad_ipv6(k) or _bad_ipv6(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_bad_ipv6(v) for v in value)
    return False


@SETTINGS
@given(
    config=st.dictionaries(st.sampled_from(FLASK_KEYS), FLASK_VALUES, min_size=1, max_size=4),
    secret=st.one_of(st.none(), VALUES),
)
def test_flask_init_app(config: dict[str, Any], secret: Any) -> None:
    from flask import Flask

    from flask_walrus import Walrus

    if any(
        KNOWN_FLASK[key](value)
        for key, value in {**config, "SECRET_KEY": secret}.items()
        if key in KNOWN_FLASK
    ):
        return

    app = Flask("walrus_bad_input", root_path=os.path.dirname(__file__))
    app.config.update(TESTING=True, WALRUS_URL="memory://bad-input-flask", SECRET_KEY=secret)
    app.config.update(config)
    result = outcome(
        None,
        lambda: _init_app(Walrus(), app),
        f"init_app {config!r:.300} SECRET_KEY={secret!r:.40}",
    )
    if result.refused:
        text = str(result.error)
        named = ["WALRUS", "SECRET_KEY", "flask_walrus"]
        if "WALRUS_CONNECTION_OPTIONS" in config:
            named.append("option")  # "unsupported options for memory://: [...]"
        if "WALRUS_CACHE_SIGNING_KEY" in config:
            named.append("signing_key")
        assert any(name in text for name in named), text  # names the key
