"""flask_walrus: the opt-in Prometheus route, scraped through Flask's test client."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families


@pytest.fixture(autouse=True)
def _uninstall_metrics() -> Any:
    """The views install the collector in the default registry: remove it after each test,
    so that no other test of this process runs with a subscriber."""
    from walrus.prometheus import uninstall

    yield
    uninstall()


def test_metrics_route_needs_its_token_and_counts_rate_limits(make_app: Any) -> None:
    app, w = make_app(SECRET_KEY="k")

    @app.route("/api")
    @w.rate_limited("2/minute")
    def api() -> str:
        return "ok"

    w.metrics_route(app, token="scrape-me")
    client = app.test_client()
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 403
    auth = {"Authorization": "Bearer scrape-me"}
    before = client.get("/metrics", headers=auth)
    assert before.status_code == 200 and before.content_type.startswith("text/plain")
    statuses = [client.get("/api").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    after = client.get("/metrics", headers=auth).data
    refused = [
        s for f in text_string_to_metric_families(after.decode()) for s in f.samples
        if s.name == "walrus_rate_limit_decisions_total" and s.labels.get("decision") == "refused"
    ]  # fmt: skip
    old = [
        s for f in text_string_to_metric_families(before.data.decode()) for s in f.samples
        if s.name == "walrus_rate_limit_decisions_total" and s.labels.get("decision") == "refused"
    ]  # fmt: skip
    assert sum(s.value for s in refused) - sum(s.value for s in old) == 1


def test_metrics_route_refuses_to_be_public_by_accident(make_app: Any) -> None:
    app, w = make_app(SECRET_KEY="k")
    with pytest.raises(ValueError, match="needs token"):
        w.metrics_route(app)
    with pytest.raises(ValueError, match="non-empty str"):
        w.metrics_route(app, token="")
    w.metrics_route(app, rule="/internal/metrics", allow_anonymous=True)
    assert app.test_client().get("/internal/metrics").status_code == 200
