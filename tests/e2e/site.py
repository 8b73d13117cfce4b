"""The live service as a browser user meets it: pages at a chosen size, the mails the real SMTP
sink received, and the steps of the journey from the top page to My Page."""

import re
from urllib.parse import urlsplit

from django.urls import reverse
from django.utils import translation
from playwright.sync_api import Page, expect

from tests.registration.journey import GOOD_PASSWORD, KEY_RE, deliver_mail, key_from

OTP_RE = re.compile(r"(?:ワンタイムパスワード：|One-time password: )(\d+)")
BIRTH_DATE = "1990-04-01"

# (width, height, device scale factor). 200% zoom of a 1280×800 desktop window lays a page out
# in 640×400 CSS pixels, as this viewport does.
VIEWPORTS = {
    "320x640": (320, 640, 1),
    "360x740": (360, 740, 1),
    "1280x800": (1280, 800, 1),
    "1280x800-zoom200": (640, 400, 2),
}


def label(page: Page, msgid: str) -> str:
    """A text of the service (its Japanese msgid) as the page shows it, in the page's language."""
    with translation.override(page.evaluate("document.documentElement.lang")):
        return translation.gettext(msgid)


class Site:
    def __init__(self, browser, base_url: str, smtp_server, make_jobseeker) -> None:
        self.browser = browser
        self.base_url = base_url
        self.smtp = smtp_server
        self.make_jobseeker = make_jobseeker
        self.contexts = []
        self.script_errors: list[str] = []

    # --- browser pages ----------------------------------------------------------------------
    def new_page(
        self,
        viewport: str = "1280x800",
        *,
        javascript: bool = True,
        reduced_motion: bool = True,
        locale: str = "ja-JP",
    ) -> Page:
        width, height, scale = VIEWPORTS[viewport]
        context = self.browser.new_context(
            base_url=self.base_url,
            viewport={"width": width, "height": height},
            device_scale_factor=scale,
            java_script_enabled=javascript,
            locale=locale,  # the browser's Accept-Language
            timezone_id="Asia/Tokyo",
            reduced_motion="reduce" if reduced_motion else "no-preference",
        )
        context.set_default_timeout(15_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.script_errors.append(f"{page.url}: {error}"))
        page.on("console", lambda message: self._console(page, message))
        return page

    def _console(self, page: Page, message) -> None:
        # Resource errors (a 404 page's own status, favicon.ico) are not script errors.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.script_errors.append(f"{page.url}: {message.text}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        assert not self.script_errors, f"script errors or CSP reports: {self.script_errors}"

    def url(self, name: str, *args) -> str:
        return reverse(name, args=args)

    # --- the register and the mails ---------------------------------------------------------
    def jobseeker(self, email: str, birth_date: str = BIRTH_DATE):
        return self.make_jobseeker(email=email, birth_date=birth_date)

    def _latest(self, address: str, pattern: re.Pattern) -> str:
        deliver_mail()
        matching = [m for m in self.smtp.to(address) if pattern.search(m.get_content())]
        assert matching, f"no mail matching {pattern.pattern} for {address}"
        return pattern.search(matching[-1].get_content()).group(1)

    def auth_key(self, address: str) -> str:
        deliver_mail()
        keyed = [m for m in self.smtp.to(address) if KEY_RE.search(m.get_content())]
        assert keyed, f"no auth key mail for {address}"
        return key_from(keyed[-1])

    def otp(self, address: str) -> str:
        return self._latest(address, OTP_RE)


def path_of(page: Page) -> str:
    return urlsplit(page.url).path


def expect_path(page: Page, name: str) -> None:
    expect(page).to_have_url(re.compile(re.escape(reverse(name)) + r"(\?.*)?$"))


def horizontal_overflow(page: Page) -> dict:
    """How far the page scrolls sideways, and the elements sticking out (for the message)."""
    return page.evaluate(
        """() => {
          const root = document.documentElement;
          const width = root.clientWidth;
          const wide = [];
          for (const el of document.body.querySelectorAll('*')) {
            const box = el.getBoundingClientRect();
            if (box.right > width + 0.5 && wide.length < 5) {
              wide.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}` +
                        `${el.className ? '.' + String(el.className).split(' ').join('.') : ''}` +
                        ` right=${Math.round(box.right)}`);
            }
          }
          return {excess: root.scrollWidth - width, width, elements: wide};
        }"""
    )


def assert_no_horizontal_scroll(page: Page, where: str = "") -> None:
    found = horizontal_overflow(page)
    assert found["excess"] <= 0, (
        f"{where or page.url} scrolls sideways by {found['excess']}px at {found['width']}px: "
        f"{found['elements']}"
    )


# --- the journey, step by step (each step checks it landed where the seed says) -----------


def submit(page: Page, control) -> None:
    """Clicks a control that loads a page (a link, a form's button) and waits for that page:
    after a POST to the same URL, nothing else tells the old page from the new one."""
    with page.expect_navigation():
        control.click()


def press_enter(page: Page) -> None:
    """Enter on the focused link or button, waiting for the page it loads."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def open_registration(page: Page) -> None:
    page.goto(reverse("registration:top"))
    submit(
        page, page.get_by_role("link", name=label(page, "求職者マイページ開設（パスワード登録）"))
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(
        label(page, "求職者マイページ利用規約確認")
    )


def read_terms_by_keyboard(page: Page) -> None:
    """Each terms box focused and sent to its end with the End key, as a keyboard user would."""
    for box in page.locator("[data-terms-box]").all():
        box.focus()
        page.keyboard.press("End")


def agree_terms(page: Page, *, javascript: bool = True) -> None:
    agree = page.locator("#id_agree")
    if javascript:
        read_terms_by_keyboard(page)
        expect(agree).to_have_attribute("aria-disabled", "false")
    agree.check()
    submit(page, page.get_by_role("button", name=label(page, "次へ進む")))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        label(page, "メールアドレスの入力（パスワード登録申込）")
    )


def fill_identity(page: Page, email: str, birth_date: str = BIRTH_DATE) -> None:
    year, month, day = birth_date.split("-")
    page.locator("#id_email").fill(email)
    page.locator("#id_birth_year").fill(year)
    page.locator("#id_birth_month").fill(month)
    page.locator("#id_birth_day").fill(day)
    submit(page, page.get_by_role("button", name=label(page, "次へ進む")))


def fill_password(page: Page, key: str, password: str = GOOD_PASSWORD) -> None:
    page.locator("#id_password1").fill(password)
    page.locator("#id_password2").fill(password)
    page.locator("#id_key").fill(key)
    submit(page, page.get_by_role("button", name=label(page, "完了")))


def login(page: Page, email: str, password: str = GOOD_PASSWORD) -> None:
    page.locator("#id_login_id").fill(email)
    page.locator("#id_password").fill(password)
    submit(page, page.get_by_role("button", name=label(page, "ログイン"), exact=True))


def enter_otp(page: Page, code: str) -> None:
    page.locator("#id_code").fill(code)
    submit(page, page.get_by_role("button", name=label(page, "ログイン"), exact=True))


def full_journey(site: Site, page: Page, email: str, *, javascript: bool = True, each_page=None):
    """The seed's journey, from the top page to My Page, with the key and the one-time password
    read from the mails the SMTP sink received. `each_page(page)` runs on every page reached."""
    visit = each_page or (lambda page: None)
    site.jobseeker(email)
    page.goto(reverse("registration:top"))
    visit(page)
    open_registration(page)
    visit(page)
    agree_terms(page, javascript=javascript)
    visit(page)
    fill_identity(page, email)
    expect_path(page, "registration:password")
    expect(page.locator("main")).to_contain_text(email)  # the address entered, shown on ③
    visit(page)
    fill_password(page, site.auth_key(email))
    expect_path(page, "registration:done")
    expect(page.get_by_role("heading", level=1)).to_have_text(label(page, "パスワード登録完了"))
    visit(page)
    submit(page, page.get_by_role("link", name=label(page, "ログイン画面へ進む")))
    expect_path(page, "accounts:login")
    visit(page)
    login(page, email)
    expect_path(page, "accounts:otp")
    visit(page)
    enter_otp(page, site.otp(email))
    expect_path(page, "accounts:mypage")
    expect(page.get_by_role("heading", level=1)).to_have_text(label(page, "求職者マイページ"))
    visit(page)


def focused_matches(page: Page, selector: str) -> bool:
    return page.evaluate(
        "s => !!document.activeElement && document.activeElement.matches(s)", selector
    )


def tab_to(page: Page, selector: str, *, limit: int = 80) -> None:
    """Presses Tab until the focus is on `selector`, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused_matches(page, selector):
            return
    raise AssertionError(f"Tab never reached {selector} on {page.url}")
