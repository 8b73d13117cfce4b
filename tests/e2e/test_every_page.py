"""Every page and every error or message state the service shows, reached the way a user
reaches it: axe-core (WCAG 2.2 A and AA) with zero violations at a phone and a desktop width,
no sideways scrolling at 320, 360 and 1280 px wide and at 200% zoom, and screenshots at
360×740 and 1280×800 in test-artifacts/screenshots/. The list of pages comes from the URL
configuration: a URL pattern the walk does not reach fails the test, unless it is listed in
COVERED_ELSEWHERE with the reason."""

import pytest
from playwright.sync_api import expect

from tests.e2e.site import (
    GOOD_PASSWORD,
    agree_terms,
    enter_otp,
    expect_path,
    fill_identity,
    fill_password,
    label,
    login,
    read_terms_by_keyboard,
    submit,
)
from tests.e2e.walk import SCREENSHOTS, SCREENSHOTS_EN, Walk

pytestmark = pytest.mark.e2e

# {URL name: why this walk need not reach it}. Keep it short: a page people use belongs in
# the walk; only machine endpoints without HTML belong here.
COVERED_ELSEWHERE: dict[str, str] = {
    "ops:healthz": "liveness probe for the load balancer, not a page; tests/ops/test_health.py",
    "ops:readyz": "readiness probe (database, cache), not a page; tests/ops/test_health.py",
    "ops:metrics": "Prometheus text for the operator, not a page; tests/ops/test_metrics.py",
    # Passkey pages need a WebAuthn authenticator: tests/e2e/test_passkeys.py walks them with
    # Chromium's virtual authenticator and runs axe at 320 and 1280 px on each state.
    "passkeys:list": "tests/e2e/test_passkeys.py (axe on empty, added, removed states)",
    "passkeys:rename": "tests/e2e/test_passkeys.py (axe on the page and its error state)",
    "passkeys:remove": "tests/e2e/test_passkeys.py (axe on the confirmation)",
    "passkeys:add": "POST target of the list's form; tests/e2e/test_passkeys.py",
    "passkeys:login": "POST target of the login page's passkey form; tests/e2e/test_passkeys.py",
    "passkeys:add_options": "JSON for navigator.credentials.create; tests/passkeys",
    "passkeys:login_options": "JSON for navigator.credentials.get; tests/passkeys",
    "passkeys:reauth_options": "JSON for navigator.credentials.get; tests/passkeys",
    "passkeys:reauth_password": "POST target; its error state is tests/passkeys (server)",
    "passkeys:reauth_passkey": "POST target; tests/passkeys::test_reauth_* (server)",
}

NEW_PASSWORD = "Momiji$2027ok"
EMAIL = "walk@example.jp"


def wrong(key: str) -> str:
    return f"{(int(key) + 1) % 10 ** len(key):0{len(key)}d}"


def click(page, role: str, name: str) -> None:
    submit(page, page.get_by_role(role, name=name, exact=True).first)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_page_and_state(site, settings, language):
    # Resends without waiting, and enough mails for one address to walk every state.
    settings.FLOW_RESEND_COOLDOWN_SECONDS = 0
    settings.LOGIN_OTP_RESEND_COOLDOWN_SECONDS = 0
    settings.MAILS_PER_ADDRESS_PER_DAY = 100
    page = site.new_page("1280x800", locale={"ja": "ja-JP", "en": "en-US"}[language])
    walk = Walk(page, screenshots=SCREENSHOTS if language == "ja" else SCREENSHOTS_EN)
    site.jobseeker(EMAIL)

    # --- public pages ----------------------------------------------------------------------
    page.goto("/")
    assert page.evaluate("document.documentElement.lang") == language
    walk.check("initial")
    page.goto(site.url("registration:terms_document", "privacy"))
    walk.check("privacy")
    page.goto(site.url("registration:terms_document", "mypage"))
    walk.check("mypage")
    assert page.goto(site.url("registration:terms_document", "no-such-document")).status == 404
    walk.check("not-found")

    # --- ① terms ---------------------------------------------------------------------------
    page.goto(site.url("registration:identity"))  # no flow in this browser
    expect_path(page, "registration:terms")
    walk.check("flow-lost-message")
    page.goto(site.url("registration:terms"))
    walk.check("initial-locked")
    click(page, "button", label(page, "次へ進む"))
    walk.check("error-not-agreed")
    read_terms_by_keyboard(page)
    expect(page.locator("#id_agree")).to_have_attribute("aria-disabled", "false")
    page.locator("#id_agree").check()
    walk.check("read-and-agreed")

    # --- a flow that ends: five wrong keys for an address the register does not hold --------
    click(page, "button", label(page, "次へ進む"))
    fill_identity(page, "nobody@example.jp")
    expect_path(page, "registration:password")
    for _ in range(settings.FLOW_MAX_WRONG_KEYS):
        fill_password(page, "12345678")
    expect_path(page, "registration:terms")
    walk.check("flow-ended-message")

    # --- ② identity ------------------------------------------------------------------------
    agree_terms(page)
    walk.check("initial")
    click(page, "button", label(page, "次へ進む"))
    walk.check("errors-empty")
    page.locator("#id_email").fill("not-an-address")
    page.locator("#id_birth_year").fill("19x0")
    page.locator("#id_birth_month").fill("13")
    page.locator("#id_birth_day").fill("1")
    click(page, "button", label(page, "次へ進む"))
    walk.check("errors-invalid")
    fill_identity(page, EMAIL)

    # --- ③ key and password ----------------------------------------------------------------
    expect_path(page, "registration:password")
    walk.check("initial")
    # The language switch (a plain form) in the middle of the flow: same page, same flow.
    other = {"ja": "en", "en": "ja"}[language]
    reference = page.locator("main").inner_text()
    submit(page, page.locator(f'.language-switch button[value="{other}"]'))
    expect_path(page, "registration:password")
    assert page.evaluate("document.documentElement.lang") == other
    walk.check("other-language")
    submit(page, page.locator(f'.language-switch button[value="{language}"]'))
    expect_path(page, "registration:password")
    assert page.evaluate("document.documentElement.lang") == language
    assert page.locator("main").inner_text() == reference
    click(page, "button", label(page, "完了"))
    walk.check("errors-empty")
    page.locator("#id_password1").fill("short")
    page.locator("#id_password2").fill("other")
    page.locator("#id_key").fill("12-34")
    click(page, "button", label(page, "完了"))
    walk.check("errors-invalid")
    fill_password(page, wrong(site.auth_key(EMAIL)))
    walk.check("error-wrong-key")
    click(page, "button", label(page, "認証キーを再送信する"))
    walk.check("resent-message")
    click(page, "button", label(page, "メールアドレスを変更する"))
    expect_path(page, "registration:identity")
    walk.check("change-address")
    fill_identity(page, EMAIL)
    fill_password(page, site.auth_key(EMAIL))

    # --- ④ done ----------------------------------------------------------------------------
    expect_path(page, "registration:done")
    walk.check("initial")
    page.goto(site.url("registration:password"))  # back to ③ after completing
    expect_path(page, "registration:done")
    walk.check("already-completed-message")

    # --- login ------------------------------------------------------------------------------
    click(page, "link", label(page, "ログイン画面へ進む"))
    expect_path(page, "accounts:login")
    walk.check("initial")
    click(page, "button", label(page, "ログイン"))
    walk.check("errors-empty")
    login(page, EMAIL, "Wrong#password1")
    walk.check("error-failed")

    # --- password reset ---------------------------------------------------------------------
    click(page, "link", label(page, "パスワードを忘れた方"))
    expect_path(page, "registration:reset_start")
    walk.check("initial")
    click(page, "button", label(page, "次へ進む"))
    walk.check("errors-empty")
    fill_identity(page, EMAIL)
    expect_path(page, "registration:reset_password")
    walk.check("initial")
    click(page, "button", label(page, "完了"))
    walk.check("errors-empty")
    fill_password(page, wrong(site.auth_key(EMAIL)), NEW_PASSWORD)
    walk.check("error-wrong-key")
    click(page, "button", label(page, "認証キーを再送信する"))
    walk.check("resent-message")
    click(page, "button", label(page, "メールアドレスを変更する"))
    expect_path(page, "registration:reset_start")
    walk.check("change-address")
    fill_identity(page, EMAIL)
    fill_password(page, site.auth_key(EMAIL), NEW_PASSWORD)
    expect_path(page, "registration:reset_done")
    walk.check("initial")

    # --- one-time password and My Page ------------------------------------------------------
    click(page, "link", label(page, "ログイン画面へ進む"))
    login(page, EMAIL, NEW_PASSWORD)
    expect_path(page, "accounts:otp")
    walk.check("initial")
    click(page, "button", label(page, "ログイン"))
    walk.check("errors-empty")
    enter_otp(page, wrong(site.otp(EMAIL)))
    walk.check("error-wrong")
    click(page, "button", label(page, "ワンタイムパスワードを再送信する"))
    walk.check("resent-message")
    page.locator("#id_remember").check()
    enter_otp(page, site.otp(EMAIL))
    expect_path(page, "accounts:mypage")
    walk.check("initial")
    click(page, "link", label(page, "登録情報の確認"))
    walk.check("initial")
    page.goto(site.url("accounts:login_history"))
    walk.check("with-rows")
    page.goto(site.url("accounts:trusted_browsers"))
    walk.check("with-rows")
    submit(page, page.get_by_role("button", name=label(page, "解除する")).first)
    expect_path(page, "accounts:trusted_browsers")
    walk.check("revoked-message")

    # --- log out, in again remembering this browser, then revoke all --------------------------
    submit(page, page.get_by_role("button", name=label(page, "ログアウト")).first)
    expect_path(page, "accounts:login")
    walk.check("logged-out-message")
    login(page, EMAIL, NEW_PASSWORD)
    page.locator("#id_remember").check()
    enter_otp(page, site.otp(EMAIL))
    page.goto(site.url("accounts:trusted_browsers"))
    click(page, "button", label(page, "すべて解除する"))
    expect_path(page, "accounts:trusted_browsers")
    walk.check("revoked-all-message")

    # --- password change ----------------------------------------------------------------------
    page.goto(site.url("accounts:password_change"))
    walk.check("initial")
    click(page, "button", label(page, "パスワードを変更する"))
    walk.check("errors-empty")
    page.locator("#id_current_password").fill("Wrong#password1")
    page.locator("#id_new_password1").fill("abc")
    page.locator("#id_new_password2").fill("abd")
    click(page, "button", label(page, "パスワードを変更する"))
    walk.check("errors-invalid")
    page.locator("#id_current_password").fill(NEW_PASSWORD)
    page.locator("#id_new_password1").fill(GOOD_PASSWORD)
    page.locator("#id_new_password2").fill(GOOD_PASSWORD)
    click(page, "button", label(page, "パスワードを変更する"))
    expect_path(page, "accounts:mypage")
    walk.check("password-changed-message")

    # --- what was checked -------------------------------------------------------------------
    uncovered = walk.uncovered(COVERED_ELSEWHERE)
    print(
        f"\n{len(walk.checks)} page states on {len(walk.pages)} pages, "
        f"{len(walk.post_only)} POST-only endpoints posted; screenshots in {walk.screenshots}"
    )
    for check in walk.checks:
        print(f"  {check.label}: {len(check.violations)} violations")
    assert not walk.problems, "\n".join(walk.problems)
    assert not uncovered, "URL patterns no test reaches:\n" + "\n".join(uncovered)
