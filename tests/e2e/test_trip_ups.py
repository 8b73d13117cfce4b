"""What a person sees of issue 18's fixes in a real browser: the back button after failed
submissions, the step indicator at 320–360 px, and axe on every new or changed state.
Screenshots of each state go to test-artifacts/screenshots/trip-ups/."""

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests.e2e.site import (
    GOOD_PASSWORD,
    agree_terms,
    assert_no_horizontal_scroll,
    fill_identity,
    full_journey,
    login,
    open_registration,
    submit,
)
from tests.e2e.walk import AXE_OPTIONS

pytestmark = pytest.mark.e2e

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "trip-ups"
_axe = Axe()


def axe_clean(page: Page, name: str) -> None:
    """Zero axe violations at 320 px and 1280 px, with a screenshot at each."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    for width, height in ((320, 640), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        for violation in _axe.run(page, options=AXE_OPTIONS).response["violations"]:
            targets = [node["target"] for node in violation["nodes"]][:5]
            problems.append(f"{name} at {width}: {violation['id']} {violation['help']} {targets}")
        assert_no_horizontal_scroll(page, f"{name} at {width}")
        page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
    assert not problems, problems


def fail_password_screen(page: Page, key: str = "00000000") -> None:
    page.locator("#id_password1").fill("short")
    page.locator("#id_password2").fill("short")
    page.locator("#id_key").fill(key)
    submit(page, page.get_by_role("button", name="完了"))
    expect(page.locator("[data-error-summary]")).to_be_visible()


def test_back_after_two_failed_submissions_shows_the_screen(site):
    site.jobseeker("back@example.jp")
    page = site.new_page("360x740")
    failed_navigations = []
    page.on("requestfailed", lambda request: failed_navigations.append(request.failure))
    open_registration(page)
    agree_terms(page)
    fill_identity(page, "back@example.jp")
    expect(page.get_by_role("heading", level=1)).to_have_text("パスワード登録")
    fail_password_screen(page)
    fail_password_screen(page)
    for _ in range(2):
        page.go_back()
        page.wait_for_load_state()
        assert not page.url.startswith("chrome-error://"), page.url
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert "ERR_CACHE_MISS" not in page.content()
    assert not [f for f in failed_navigations if f and "ERR_CACHE_MISS" in f], failed_navigations
    # Forward again, and the screen still works: a right key completes.
    page.goto(reverse("registration:password"))
    page.locator("#id_password1").fill(GOOD_PASSWORD)
    page.locator("#id_password2").fill(GOOD_PASSWORD)
    page.locator("#id_key").fill(site.auth_key("back@example.jp"))
    submit(page, page.get_by_role("button", name="完了"))
    expect(page.get_by_role("heading", level=1)).to_have_text("パスワード登録完了")


def test_back_after_two_failed_logins_shows_the_login(site):
    page = site.new_page("1280x800")
    page.goto(reverse("accounts:login"))
    for _ in range(2):
        login(page, "nobody@example.jp", "Wrong#pass1")
        expect(page.locator("[data-error-summary]")).to_be_visible()
    page.go_back()
    page.wait_for_load_state()
    assert not page.url.startswith("chrome-error://"), page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("ログイン")
    expect(page.locator("#id_password")).to_have_value("")  # nothing secret comes back


@pytest.mark.parametrize("width", [320, 360])
def test_the_step_indicator_never_breaks_a_word(site, width):
    page = site.new_page("320x640" if width == 320 else "360x740")
    open_registration(page)
    agree_terms(page)
    broken = page.evaluate(
        """() => {
          const found = [];
          for (const li of document.querySelectorAll('ol.steps > li')) {
            if (li.scrollWidth > li.clientWidth + 0.5) found.push('overflows: ' + li.innerText);
            for (const node of li.childNodes) {
              if (node.nodeType !== Node.TEXT_NODE || !node.textContent.trim()) continue;
              const range = document.createRange();
              range.selectNodeContents(node);
              const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
              if (lines.size > 1) found.push('split: ' + node.textContent);
            }
          }
          return found;
        }"""
    )
    assert not broken, broken
    assert_no_horizontal_scroll(page)


def test_new_and_changed_states_have_no_axe_violations(site, settings):
    site.jobseeker("axe@example.jp", "1985-11-23")
    page = site.new_page("1280x800")
    open_registration(page)
    agree_terms(page)
    fill_identity(page, "axe@example.jp", "1985-11-23")
    expect(page.locator("#resend-at")).to_be_visible()
    axe_clean(page, "03-password-rules-and-resend-time")
    fail_password_screen(page)
    axe_clean(page, "03-password-errors")
    submit(page, page.get_by_role("button", name="メールアドレスを変更する"))
    expect(page.locator("#id_birth_year")).to_have_value("1985")
    fill_identity(page, "axe@example.jp", "1985-11-23")  # at once: the wait, as a time
    expect(page.locator("[data-error-summary]")).to_contain_text("以降に送信できます")
    axe_clean(page, "02-new-key-wait")

    settings.MAILS_PER_ADDRESS_PER_DAY = 1
    other = site.new_page("1280x800")
    open_registration(other)
    agree_terms(other)
    fill_identity(other, "axe@example.jp", "1985-11-23")
    expect(other.locator("[data-error-summary]")).to_contain_text(
        "これ以上メールをお送りできません"
    )
    summary = other.locator("[data-error-summary]").inner_text()
    assert re.search(r"(本日|明日|明後日)\d+時以降", summary)
    axe_clean(other, "02-mail-cap")

    other.goto(reverse("registration:terms_document", args=["mypage"]))
    expect(other.locator(".hint", has_text="版")).not_to_contain_text("+")
    axe_clean(other, "terms-document-version")

    login_page = site.new_page("1280x800")
    login_page.goto(reverse("accounts:login"))
    for _ in range(4):
        login(login_page, "nobody@example.jp", "Wrong#pass1")
    expect(login_page.locator("[data-error-summary]")).to_contain_text(
        "あと1回ログインに失敗すると"
    )
    axe_clean(login_page, "login-last-try")
    login(login_page, "nobody@example.jp", "Wrong#pass1")
    expect(login_page.locator(".lock-notice h2")).to_have_text("ログインを一時的に停止しています")
    axe_clean(login_page, "login-locked")


def test_reset_and_password_change_states_have_no_axe_violations(site, settings):
    page = site.new_page("1280x800")
    full_journey(site, page, "change@example.jp")
    page.goto(reverse("accounts:password_change"))
    axe_clean(page, "password-change-rules")
    page.locator("#id_current_password").fill("Wrong#pass1")
    page.locator("#id_new_password1").fill("short")
    page.locator("#id_new_password2").fill("short")
    submit(page, page.get_by_role("button", name="パスワードを変更する"))
    expect(page.locator("[data-error-summary]")).to_contain_text(
        "現在のパスワードが正しくありません"
    )
    axe_clean(page, "password-change-errors")

    reset = site.new_page("1280x800")
    reset.goto(reverse("registration:reset_start"))
    fill_identity(reset, "change@example.jp")
    expect(reset.get_by_role("heading", level=1)).to_have_text("パスワード再設定")
    expect(reset.locator("#id_key-hint")).to_contain_text("パスワード再設定申込受付通知")
    axe_clean(reset, "reset-password")
