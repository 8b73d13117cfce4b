"""① The agree checkbox unlocks only once both documents were scrolled to their end — by mouse
wheel or by keyboard — and at once when a document fits its box (the seed's terms screen)."""

import pytest
from playwright.sync_api import expect

from tests.e2e.site import (
    expect_path,
    focused_matches,
    open_registration,
    press_enter,
    submit,
    tab_to,
)

pytestmark = pytest.mark.e2e

LOCKED = "最後までスクロールしてご確認ください。"
READ = "最後まで確認しました。"
AT_END = "box => box.scrollTop + box.clientHeight >= box.scrollHeight - 1"


def write_terms(directory, paragraphs: int) -> None:
    for name, title in (("privacy", "プライバシーポリシー"), ("mypage", "マイページ利用規約")):
        body = "\n\n".join(
            f"## 第{n}条\n{title}の第{n}条の本文です。利用者の情報の取扱いについて定めます。"
            for n in range(1, paragraphs + 1)
        )
        (directory / f"{name}.txt").write_text(
            f"version: e2e-{paragraphs}\ntitle: {title}\n\n{body}\n", encoding="utf-8"
        )


@pytest.fixture
def long_terms(settings, tmp_path):
    write_terms(tmp_path, paragraphs=40)
    settings.TERMS_DIR = tmp_path


@pytest.fixture
def short_terms(settings, tmp_path):
    write_terms(tmp_path, paragraphs=1)
    settings.TERMS_DIR = tmp_path


def boxes(page):
    privacy, mypage = page.locator("#terms-privacy"), page.locator("#terms-mypage")
    for box in (privacy, mypage):
        assert box.evaluate("box => box.scrollHeight > box.clientHeight"), "the text must overflow"
    return privacy, mypage


def expect_locked(page):
    agree = page.locator("#id_agree")
    expect(agree).to_have_attribute("aria-disabled", "true")
    agree.click(force=True)  # a real click (aria-disabled makes Playwright wait); refused
    expect(agree).not_to_be_checked()
    agree.focus()
    page.keyboard.press("Space")
    expect(agree).not_to_be_checked()


def expect_unlocked_and_agree(page):
    agree = page.locator("#id_agree")
    expect(agree).to_have_attribute("aria-disabled", "false")
    agree.click()
    expect(agree).to_be_checked()
    submit(page, page.get_by_role("button", name="次へ進む"))
    expect_path(page, "registration:identity")


def scroll_with_wheel(page, box) -> None:
    box.hover()
    for _ in range(200):
        if box.evaluate(AT_END):
            return
        page.mouse.wheel(0, 240)
    page.wait_for_function(f"({AT_END})(document.getElementById('{box.get_attribute('id')}'))")


def test_wheel_scrolling_both_boxes_to_the_end_unlocks_the_checkbox(site, long_terms):
    page = site.new_page("1280x800")
    open_registration(page)
    privacy, mypage = boxes(page)
    for status in ("#terms-privacy-status", "#terms-mypage-status"):
        expect(page.locator(status)).to_have_text(LOCKED)
    expect_locked(page)

    privacy.hover()
    page.mouse.wheel(0, 240)  # half way is not the end
    expect(page.locator("#terms-privacy-status")).to_have_text(LOCKED)
    scroll_with_wheel(page, privacy)
    expect(page.locator("#terms-privacy-status")).to_have_text(READ)
    expect_locked(page)  # one document read is not enough

    scroll_with_wheel(page, mypage)
    expect(page.locator("#terms-mypage-status")).to_have_text(READ)
    expect_unlocked_and_agree(page)


@pytest.mark.parametrize("key", ["End", "PageDown"])
def test_keyboard_scrolling_both_boxes_to_the_end_unlocks_the_checkbox(site, long_terms, key):
    page = site.new_page("360x740")
    open_registration(page)
    boxes(page)
    expect_locked(page)
    page.evaluate("document.activeElement.blur()")  # Tab again from the top of the page
    for name in ("privacy", "mypage"):
        tab_to(page, f"#terms-{name}")  # the scroll region itself takes the focus
        status = page.locator(f"#terms-{name}-status")
        for _ in range(100):
            if page.locator(f"#terms-{name}").evaluate(AT_END):
                break
            page.keyboard.press(key)
        expect(status).to_have_text(READ)
    tab_to(page, "#id_agree")
    page.keyboard.press("Space")
    expect(page.locator("#id_agree")).to_be_checked()
    assert focused_matches(page, "#id_agree")
    press_enter(page)  # submits the form the checkbox belongs to
    expect_path(page, "registration:identity")


def test_a_text_that_fits_its_box_unlocks_at_once(site, short_terms):
    page = site.new_page("1280x800")
    open_registration(page)
    for name in ("privacy", "mypage"):
        box = page.locator(f"#terms-{name}")
        assert box.evaluate("box => box.scrollHeight <= box.clientHeight"), "the text must fit"
        expect(page.locator(f"#terms-{name}-status")).to_have_text(READ)
    expect_unlocked_and_agree(page)
