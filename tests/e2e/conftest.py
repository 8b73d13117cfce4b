"""Browser tests: pytest-django's live server driven by Playwright through Debian's Chromium.

The browser is started once per test module. While Playwright's sync API runs, its event loop
counts as "running" in the test thread, so Django would refuse ORM calls made by the test
(SynchronousOnlyOperation); DJANGO_ALLOW_ASYNC_UNSAFE is set for exactly that time and restored
when the browser stops, so the other test modules keep Django's safety check."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.cache import cache
from playwright.sync_api import sync_playwright

from portal.core.ratelimit import rate_limits_clear
from tests.e2e.site import Site

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Every test in this folder is a browser test, marked or not (-m "not e2e" leaves them)."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def _browser_requirements() -> list[str]:
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append("chromium")
    fc_list = shutil.which("fc-list")
    fonts = subprocess.run([fc_list], capture_output=True, text=True).stdout if fc_list else ""  # noqa: S603
    if "Noto Sans CJK" not in fonts:
        missing.append("fonts-noto-cjk")
    return missing


@pytest.fixture(scope="module")
def browser():
    missing = _browser_requirements()
    if missing:  # a failure, never a silent skip
        pytest.fail(
            "The browser tests need Debian's Chromium and Japanese fonts: "
            f"sudo apt-get update && sudo apt-get install -y {' '.join(missing)}"
        )
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _fresh_rate_limits(browser, transactional_db):
    """Rate-limit counters live in Redis or a database table, and the cache (database table
    or Redis) outlives the transactional test database's flush; every browser test starts
    with none."""
    cache.clear()
    rate_limits_clear()
    yield
    cache.clear()
    rate_limits_clear()


@pytest.fixture
def site(browser, live_server, smtp_server, make_jobseeker):
    """The live service, its real SMTP sink and a factory of browser pages."""
    site = Site(browser, live_server.url, smtp_server, make_jobseeker)
    yield site
    site.close()
