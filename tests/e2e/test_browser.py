"""The demo in a real browser (Debian's chromium driven by Playwright) at 1280x900: log into
the admin, open the walrus Link list (every column beside the filter panel, none under it),
search, edit a link, see the change in the full list; screenshots of the full list (and of
the page a failed step showed) are saved to ``test-artifacts/``. Skipped when chromium or
playwright is missing, except on CI (fails)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.e2e.e2e_helpers import ADMIN_PASSWORD, ADMIN_USER, ROOT, Site, start_demo

CHROMIUM = os.environ.get("WALRUS_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOT = ARTIFACTS / "browser-admin-link-list.png"
COLUMNS = ["Title", "Url", "Author", "Votes", "Created"]  # LinkAdmin.list_display


def _require_browser() -> None:
    missing = []
    if importlib.util.find_spec("playwright") is None:
        missing.append(
            "the Python package playwright (pip install playwright; no 'playwright install')"
        )
    if not os.path.exists(CHROMIUM):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if missing:
        message = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def chromium_page(failure_shot: str) -> Iterator[Any]:
    """A 1280x900 page in headless chromium; when the block fails, the page is saved to
    ``test-artifacts/<failure_shot>`` before the browser closes."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = None
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            yield page
        except Exception:
            # Keep what the browser showed when a step failed, beside the success screenshots.
            if page is not None:
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / failure_shot), full_page=True)
            raise
        finally:
            browser.close()


def log_in(page: Any, base: str, next_path: str) -> None:
    """Log in as the demo superuser through the admin's login form, landing on ``next_path``."""
    page.goto(f"{base}admin/login/?next=/{next_path}")
    page.fill("#id_username", ADMIN_USER)
    page.fill("#id_password", ADMIN_PASSWORD)
    page.click("input[type=submit]")


@pytest.fixture(scope="module")
def demo_site() -> Iterator[Site]:
    """The README's demo on the embedded memory:// engine."""
    _require_browser()
    site = start_demo(None)
    try:
        yield site
    finally:
        site.close()


def assert_columns_beside_the_filters(page: Any) -> None:
    """Every column header of the change list is on screen, left of the filter panel, and is
    what the browser shows at its centre (nothing covers it); the table stays inside its
    scrolling container (Django's ``#changelist-form .results``)."""
    headers = page.locator("#result_list thead th")
    texts = headers.all_inner_texts()
    assert [t.strip().upper() for t in texts] == [c.upper() for c in COLUMNS], texts
    results = page.locator("#changelist-form .results")
    assert results.evaluate("e => getComputedStyle(e).overflowX") == "auto"
    filters = page.locator("#changelist-filter").bounding_box()
    box = results.bounding_box()
    table = page.locator("#result_list").bounding_box()
    assert filters and box and table
    assert table["x"] + table["width"] <= box["x"] + box["width"] + 1, (table, box)
    assert box["x"] + box["width"] <= filters["x"] + 1, (box, filters)
    for i in range(len(COLUMNS)):
        cell = headers.nth(i).bounding_box()
        assert cell is not None
        assert cell["x"] >= 0 and cell["x"] + cell["width"] <= filters["x"] + 1, (
            COLUMNS[i],
            cell,
            filters,
        )
        x, y = cell["x"] + cell["width"] / 2, cell["y"] + cell["height"] / 2
        shown = page.evaluate(
            "([x, y, i]) => document.querySelectorAll('#result_list thead th')[i]"
            ".contains(document.elementFromPoint(x, y))",
            [x, y, i],
        )
        assert shown, f"column {COLUMNS[i]} is covered at ({x}, {y})"


def test_admin_search_and_edit_in_chromium(demo_site: Site) -> None:
    from playwright.sync_api import expect

    base = demo_site.url
    with chromium_page("admin-edit-failure.png") as page:
        # Log in as the demo superuser.
        page.goto(base + "admin/")
        expect(page).to_have_url(base + "admin/login/?next=/admin/")
        log_in(page, base, "admin/")
        expect(page.locator("#site-name")).to_be_visible()
        expect(page.locator("#content")).to_contain_text("Walrus")

        # The walrus models' index, then the Link list.
        page.goto(base + "admin/walrus/")
        page.locator("#content-main").get_by_role("link", name="Links").first.click()
        expect(page).to_have_url(base + "admin/walrus/linkboard_link/")
        rows = page.locator("#result_list tbody tr")
        expect(rows).to_have_count(5)
        assert_columns_beside_the_filters(page)

        # Full-text search through the admin's search box.
        page.fill("#searchbar", "streams")
        page.press("#searchbar", "Enter")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Redis streams as durable queues")

        # Open the object, edit its title, save.
        rows.first.locator("a").first.click()
        page.locator("a.changelink").click()
        expect(page.locator("#id_title")).to_have_value("Redis streams as durable queues")
        page.fill("#id_title", "Redis streams, edited in a browser")
        page.click("input[name=_save]")

        # The change shows in the list, and the search index follows the new title.
        expect(page.locator("ul.messagelist")).to_contain_text("was changed successfully")
        page.goto(base + "admin/walrus/linkboard_link/?q=browser")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Redis streams, edited in a browser")

        # The full list again, with the new title: every column in view.
        page.goto(base + "admin/walrus/linkboard_link/")
        expect(rows).to_have_count(5)
        expect(page.locator("#result_list")).to_contain_text("Redis streams, edited in a browser")
        assert_columns_beside_the_filters(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

        # The public board shows it too.
        page.goto(base + "?q=edited")
        expect(page.locator("#links")).to_contain_text("Redis streams, edited in a browser")

    assert SCREENSHOT.exists()
    assert SCREENSHOT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_server_page_charts_in_chromium(demo_site: Site) -> None:
    from playwright.sync_api import expect

    base = demo_site.url
    shot = ARTIFACTS / "browser-admin-server.png"
    with chromium_page("admin-server-failure.png") as page:
        log_in(page, base, "admin/walrus/server/")
        expect(page).to_have_url(base + "admin/walrus/server/")
        for _ in range(3):  # some cache reads (sessions) to chart
            page.goto(base)
        page.wait_for_timeout(2500)  # the demo flushes its counts every 2 s
        page.goto(base + "admin/walrus/server/")
        charts = page.locator("#walrus-charts svg.walrus-chart")
        expect(charts.first).to_be_visible()
        titles = [
            charts.nth(i).locator("title").first.text_content() for i in range(charts.count())
        ]
        assert "Keys per prefix" in titles, titles
        assert any(t and t.startswith("Cache reads") for t in titles), titles
        assert "Rate-limit decisions" in titles and "Locks held now (by name prefix)" in titles, (
            titles
        )
        keys_chart = charts.nth(titles.index("Keys per prefix"))
        assert keys_chart.locator("rect.bar").count() >= 2  # one bar per prefix
        box = keys_chart.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 1280  # fits the page width
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
