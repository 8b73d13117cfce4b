"""A recorded walk through the service: on every page and state it reaches, axe-core with the
WCAG 2.2 A/AA rules, the no-sideways-scrolling check at every viewport, and a full-page
screenshot at a phone and a desktop size. It remembers which URL patterns it reached (pages
shown, and POST-only endpoints posted to), so the test can compare them with the URL
configuration and no page is forgotten."""

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from axe_playwright_python.sync_playwright import Axe
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from playwright.sync_api import Page

from tests.e2e.site import VIEWPORTS, horizontal_overflow, label

AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
AXE_VIEWPORTS = ("320x640", "1280x800")
SCREENSHOT_VIEWPORTS = ("360x740", "1280x800")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
SCREENSHOTS_EN = SCREENSHOTS.with_name("screenshots-en")

_axe = Axe()


def url_routes() -> dict[str, str]:
    """Every URL pattern of the service as {route: name}, the staff admin and demo aside."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str | None) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                inner = ":".join(filter(None, [namespace, entry.namespace])) or None
                walk(entry.url_patterns, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                name = ":".join(filter(None, [namespace, entry.name])) or route
                found[route] = name

    walk(get_resolver().url_patterns, "", None)
    return {route: name for route, name in found.items() if not skipped(route, name)}


def skipped(route: str, name: str) -> bool:
    # The staff admin is Django's own admin (not a public page); the demo mailbox exists only
    # in the local demo (DEBUG on); the integration API is a machine interface, not a page
    # (tests/api, Schemathesis over every operation).
    return route.startswith(("staff/", "api/")) or name.startswith("demo:")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


@dataclass
class Check:
    number: int
    name: str
    state: str
    path: str
    violations: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.number:02d} {self.name} [{self.state}] {self.path}"


class Walk:
    def __init__(
        self, page: Page, *, viewport: str = "1280x800", screenshots: Path = SCREENSHOTS
    ) -> None:
        self.page = page
        self.screenshots = screenshots
        self.viewport = viewport
        self.checks: list[Check] = []
        self.problems: list[str] = []
        self.pages: dict[str, list[str]] = {}  # route -> states shown
        self.post_only: dict[str, str] = {}  # route -> a path posted to (GET answers 405)
        self._posted: list[str] = []  # paths of the form posts seen so far
        self._unproven: dict[str, str] = {}
        page.on("request", self._on_request)
        shutil.rmtree(screenshots, ignore_errors=True)
        screenshots.mkdir(parents=True)

    def _on_request(self, request) -> None:
        if request.method == "POST" and request.is_navigation_request():
            self._posted.append(urlsplit(request.url).path)

    def _resize(self, viewport: str) -> None:
        width, height, _scale = VIEWPORTS[viewport]
        self.page.set_viewport_size({"width": width, "height": height})

    def check(self, state: str) -> Check:
        """Checks the page as it is now; `state` names what is on it (initial, errors-empty…)."""
        page = self.page
        page.wait_for_load_state()
        path = urlsplit(page.url).path
        match = resolve(path)
        check = Check(len(self.checks) + 1, match.view_name, state, path)
        self.checks.append(check)
        self._state_shown(check)
        self.pages.setdefault(match.route, []).append(state)
        stem = f"{check.number:02d}-{_slug(match.view_name)}-{_slug(state)}"
        for viewport in VIEWPORTS:
            self._resize(viewport)
            overflow = horizontal_overflow(page)
            if overflow["excess"] > 0:
                self.problems.append(
                    f"{check.label}: scrolls sideways by {overflow['excess']}px at {viewport}: "
                    f"{overflow['elements']}"
                )
            if viewport in AXE_VIEWPORTS:
                for violation in _axe.run(page, options=AXE_OPTIONS).response["violations"]:
                    targets = [node["target"] for node in violation["nodes"]][:5]
                    check.violations.append(violation["id"])
                    self.problems.append(
                        f"{check.label} at {viewport}: axe {violation['id']} "
                        f"({violation['impact']}) {violation['help']} {targets}"
                    )
            if viewport in SCREENSHOT_VIEWPORTS:
                page.screenshot(path=self.screenshots / f"{stem}-{viewport}.png", full_page=True)
        self._resize(self.viewport)
        return check

    def _state_shown(self, check: Check) -> None:
        """The state named is the one on screen: an error state has the error title and the
        focused error summary, a message state its message."""
        page = self.page
        if check.state.startswith("error"):
            error = label(page, "エラー：")
            assert page.title().startswith(error), f"{check.label}: title {page.title()!r}"
            assert page.evaluate("() => document.activeElement.matches('[data-error-summary]')"), (
                f"{check.label}: the error summary is not focused"
            )
        if check.state.endswith("-message"):
            assert page.locator("[role=status] li").count(), f"{check.label}: no message shown"

    def settle_posts(self) -> None:
        """A POST target that is not a page shown in the walk must be POST-only (GET → 405).
        Asked once the walk is over: a GET to a page could change its flow's state."""
        for path in self._posted:
            route = resolve(path).route
            if route in self.pages or route in self.post_only:
                continue
            status = self.page.request.get(path, max_redirects=0).status
            if status == 405:
                self.post_only[route] = path
            else:
                self._unproven[route] = f"{path} answers GET with {status}"
        self._posted.clear()

    def uncovered(self, covered_elsewhere: dict[str, str]) -> list[str]:
        """URL patterns neither shown, nor posted to (POST-only), nor listed as covered by
        another test — and listed ones that no longer exist."""
        self.settle_posts()
        routes = url_routes()
        names = set(routes.values())
        missing = []
        for route, name in routes.items():
            reached = route in self.pages or route in self.post_only
            if not reached and name not in covered_elsewhere:
                reason = self._unproven.get(route, "never reached")
                missing.append(f"{name} ({route}): {reason}")
        for name in covered_elsewhere:
            if name not in names:
                missing.append(f"{name}: listed as covered elsewhere but not in the URLconf")
        return missing
