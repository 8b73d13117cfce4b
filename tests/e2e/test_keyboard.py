"""The keyboard alone: the whole journey with Tab, Space, Enter and typing, a visible focus on
every stop; and the error summary, focused after a bad submit, whose links put the focus on
their fields (docs/architecture.md, "Forms")."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.site import (
    agree_terms,
    expect_path,
    fill_identity,
    focused_matches,
    open_registration,
    press_enter,
    submit,
    tab_to,
)
from tests.registration.journey import GOOD_PASSWORD

pytestmark = pytest.mark.e2e


def tab_to_control(page: Page, text: str, *, limit: int = 80) -> None:
    """Tab until a button or link whose text is `text` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e && /^(A|BUTTON)$/.test(e.tagName) ? e.textContent.trim() : null; }"
        )
        if focused == text:
            return
    raise AssertionError(f"Tab never reached {text!r} on {page.url}")


def assert_focus_visible(page: Page) -> None:
    style = page.evaluate(
        "() => { const e = document.activeElement, s = getComputedStyle(e);"
        " return {visible: e.matches(':focus-visible'), style: s.outlineStyle,"
        " width: parseFloat(s.outlineWidth)}; }"
    )
    assert style["visible"] and style["style"] != "none" and style["width"] >= 2, style


def tab_and_type(page: Page, selector: str, text: str) -> None:
    tab_to(page, selector)
    assert_focus_visible(page)
    page.keyboard.type(text)


def press_control(page: Page, text: str, *, loads_a_page: bool = True) -> None:
    tab_to_control(page, text)
    assert_focus_visible(page)
    if loads_a_page:
        press_enter(page)
    else:
        page.keyboard.press("Enter")


def test_the_whole_journey_by_keyboard_alone(site):
    email = "keys@example.jp"
    site.jobseeker(email)
    page = site.new_page("1280x800")
    page.goto("/")

    press_control(page, "求職者マイページ開設（パスワード登録）")
    expect_path(page, "registration:terms")
    for name in ("privacy", "mypage"):
        tab_to(page, f"#terms-{name}")
        assert_focus_visible(page)
        page.keyboard.press("End")
        expect(page.locator(f"#terms-{name}-status")).to_have_text("最後まで確認しました。")
    tab_to(page, "#id_agree")
    assert_focus_visible(page)
    page.keyboard.press("Space")
    expect(page.locator("#id_agree")).to_be_checked()
    press_control(page, "次へ進む")

    expect_path(page, "registration:identity")
    tab_and_type(page, "#id_email", email)
    tab_and_type(page, "#id_birth_year", "1990")
    tab_and_type(page, "#id_birth_month", "4")
    tab_and_type(page, "#id_birth_day", "1")
    press_control(page, "次へ進む")

    expect_path(page, "registration:password")
    tab_and_type(page, "#id_password1", GOOD_PASSWORD)
    press_control(page, "表示する", loads_a_page=False)  # the show/hide toggle works by keyboard
    expect(page.locator("#id_password1")).to_have_attribute("type", "text")
    expect(page.locator("[data-toggle-password=id_password1]")).to_have_attribute(
        "aria-pressed", "true"
    )
    tab_and_type(page, "#id_password2", GOOD_PASSWORD)
    tab_and_type(page, "#id_key", site.auth_key(email))
    press_control(page, "完了")

    expect_path(page, "registration:done")
    press_control(page, "ログイン画面へ進む")
    expect_path(page, "accounts:login")
    tab_and_type(page, "#id_login_id", email)
    tab_and_type(page, "#id_password", GOOD_PASSWORD)
    press_control(page, "ログイン")

    expect_path(page, "accounts:otp")
    tab_and_type(page, "#id_code", site.otp(email))
    press_control(page, "ログイン")
    expect_path(page, "accounts:mypage")
    expect(page.get_by_role("heading", level=1)).to_have_text("求職者マイページ")

    press_control(page, "ログアウト")
    expect_path(page, "accounts:login")


def test_skip_link_is_the_first_stop_and_moves_to_main(site):
    page = site.new_page("360x740")
    page.goto("/register/")
    page.keyboard.press("Tab")
    assert focused_matches(page, "a.skip-link")
    expect(page.locator("a.skip-link")).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()


def check_error_summary(page: Page, targets: list[str]) -> None:
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    assert page.title().startswith("エラー：")
    links = summary.locator("a")
    assert [link.get_attribute("href") for link in links.all()] == [f"#{t}" for t in targets]
    # From the summary, Tab reaches the first link, Enter puts the focus on its field.
    page.keyboard.press("Tab")
    expect(links.first).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(f"#{targets[0]}")).to_be_focused()
    for index, target in enumerate(targets):
        links.nth(index).click()
        field = page.locator(f"#{target}")
        expect(field).to_be_focused()
        expect(field).to_have_attribute("aria-invalid", "true")
        described = (field.get_attribute("aria-describedby") or "").split()
        messages = [i for i in described if page.locator(f"#{i}.error-message").count()]
        assert messages, f"#{target} is not described by its error message ({described})"
        for id_ in described:
            assert page.locator(f"#{id_}").count() == 1, f"#{target} points at missing #{id_}"


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_error_summary_is_focused_and_links_to_the_fields(site, javascript):
    page = site.new_page("360x740", javascript=javascript)
    open_registration(page)
    submit(page, page.get_by_role("button", name="次へ進む"))
    check_error_summary(page, ["id_agree"])

    agree_terms(page, javascript=javascript)
    submit(page, page.get_by_role("button", name="次へ進む"))
    check_error_summary(page, ["id_email", "id_birth_year", "id_birth_month", "id_birth_day"])

    fill_identity(page, "summary@example.jp")
    expect_path(page, "registration:password")
    submit(page, page.get_by_role("button", name="完了"))
    check_error_summary(page, ["id_password1", "id_password2", "id_key"])
