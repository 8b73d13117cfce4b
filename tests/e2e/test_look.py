"""The look the issue asks for, measured in the browser: DADS tokens (16 px base, primary blue,
focus ring, button sizes), a plain header and footer, the step indicator ステップ1〜4 and
Japanese text drawn with a Japanese font (never missing glyphs)."""

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.site import agree_terms, expect_path, fill_identity, fill_password, open_registration

pytestmark = pytest.mark.e2e

PRIMARY = "rgb(0, 23, 193)"  # DADS blue-900, --color-primary


def platform_fonts(page: Page, selector: str) -> dict[str, int]:
    """The fonts Chromium actually used to draw the element's text, with glyph counts."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    cdp.detach()
    return {font["familyName"]: font["glyphCount"] for font in fonts}


def steps(page: Page) -> list[tuple[str, str | None]]:
    items = page.locator("ol.steps > li")
    return [
        (item.inner_text().split("\n")[0], item.get_attribute("aria-current"))
        for item in items.all()
    ]


def test_tokens_header_footer_and_japanese_font(site):
    page = site.new_page("1280x800")
    open_registration(page)
    assert page.evaluate("getComputedStyle(document.documentElement).fontSize") == "16px"
    assert page.evaluate("getComputedStyle(document.body).fontSize") == "16px"
    expect(page.get_by_role("banner")).to_contain_text("ハローワーク")
    expect(page.get_by_role("contentinfo")).to_be_visible()

    fonts = platform_fonts(page, "h1")
    assert fonts and all("CJK JP" in name or "Noto Sans JP" in name for name in fonts), fonts

    button = page.get_by_role("button", name="次へ進む")
    box = button.bounding_box()
    assert box["height"] >= 48, box  # DADS medium button, and a 44 px touch target
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == PRIMARY

    page.locator("#terms-privacy").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")  # keyboard focus, so :focus-visible applies
    ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow]; }"
    )
    assert ring[:3] == ["solid", "4px", "rgb(0, 0, 0)"], ring
    assert "rgb(255, 212, 61)" in ring[3], ring  # the yellow glow around the black ring


def test_step_indicator_marks_the_current_step(site):
    email = "steps@example.jp"
    site.jobseeker(email)
    page = site.new_page("360x740")
    names = ["ステップ1", "ステップ2", "ステップ3", "ステップ4"]

    def expect_step(current: int) -> None:
        assert steps(page) == [
            (name, "step" if n == current else None) for n, name in enumerate(names, 1)
        ]

    open_registration(page)
    expect_step(1)
    agree_terms(page)
    expect_step(2)
    fill_identity(page, email)
    expect_path(page, "registration:password")
    expect_step(3)
    fill_password(page, site.auth_key(email))
    expect_path(page, "registration:done")
    expect_step(4)
