"""The seed's journey in a real browser: from the top page to My Page, with JavaScript and
without, on a narrow phone, a common phone, a desktop and a desktop at 200% zoom."""

import pytest
from playwright.sync_api import expect

from tests.e2e.site import (
    VIEWPORTS,
    assert_no_horizontal_scroll,
    full_journey,
    open_registration,
    path_of,
    submit,
)
from tests.registration.journey import REFERENCE_RE

pytestmark = pytest.mark.e2e


def test_journey_from_the_top_page_to_my_page(site):
    page = site.new_page()
    seen = []

    def on_page(page):
        seen.append(page.locator("h1").inner_text())
        if seen[-1] == "パスワード登録":  # ③ shows the 受付番号 the mail carries
            site.auth_key("journey@example.jp")  # delivers the mail
            [mail] = site.smtp.to("journey@example.jp")
            reference = REFERENCE_RE.search(mail.get_content()).group(1)
            expect(page.locator(".reference")).to_have_text(reference)

    full_journey(site, page, "journey@example.jp", each_page=on_page)
    assert seen == [
        "求職者マイページ",
        "求職者マイページ利用規約確認",
        "メールアドレスの入力（パスワード登録申込）",
        "パスワード登録",
        "パスワード登録完了",
        "ログイン",
        "ワンタイムパスワードの入力",
        "求職者マイページ",
    ]


def test_journey_without_javascript(site):
    page = site.new_page(javascript=False)
    open_registration(page)
    # Nothing locks the checkbox without the script; the server still requires it.
    expect(page.locator("#id_agree")).not_to_have_attribute("aria-disabled", "true")
    submit(page, page.get_by_role("button", name="次へ進む"))
    assert page.title().startswith("エラー：")
    expect(page.locator("[data-error-summary]")).to_be_focused()  # autofocus, no script
    toggles = []

    def on_page(page):
        toggles.extend(page.locator("[data-toggle-password]").all())
        for toggle in page.locator("[data-toggle-password]").all():
            expect(toggle).to_be_hidden()  # the show/hide button needs the script

    full_journey(site, page, "nojs@example.jp", javascript=False, each_page=on_page)
    assert toggles, "the password pages offer a show/hide toggle (hidden without the script)"


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_journey_fits_the_screen(site, viewport):
    page = site.new_page(viewport)

    def fits(page):
        assert_no_horizontal_scroll(page, f"{viewport} {path_of(page)}")
        assert page.evaluate("getComputedStyle(document.body).fontSize") == "16px"

    full_journey(site, page, f"fit-{viewport}@example.jp", each_page=fits)
