"""Passkeys in Chromium with its virtual authenticator (Chrome DevTools Protocol: internal
transport, resident keys, user verification): add one on My Page, log out, log in with the
button and with the ID field's autofill (conditional UI), rename it, remove it, then fail to
log in with it. axe-core (WCAG 2.2 A/AA) on every passkey page and state at 320 and 1280 px.

The live server runs on http://localhost:<port>: WebAuthn refuses an IP address as the relying
party ID, so the origin is named by host name."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from portal.accounts.models import LoginEvent
from portal.jobseekers.models import JobSeeker
from portal.passkeys.models import Passkey
from tests.e2e.site import (
    GOOD_PASSWORD,
    VIEWPORTS,
    enter_otp,
    expect_path,
    label,
    login,
    submit,
)
from tests.e2e.walk import AXE_OPTIONS, AXE_VIEWPORTS, _axe

pytestmark = pytest.mark.e2e

EMAIL = "passkey@example.jp"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "passkeys"


class Checker:
    """axe at 320 and 1280 px, and a screenshot at each, for every state shown."""

    def __init__(self, page) -> None:
        self.page = page
        self.problems: list[str] = []
        self.states: list[str] = []
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def check(self, state: str, context: str | None = None) -> None:
        """`context`: a selector to limit axe to (the staff pages' own part: Django admin's
        header, breadcrumbs and password form are Django's, outside this service's axe walk)."""
        self.page.wait_for_load_state()
        self.states.append(state)
        for viewport in AXE_VIEWPORTS:
            width, height, _scale = VIEWPORTS[viewport]
            self.page.set_viewport_size({"width": width, "height": height})
            result = _axe.run(self.page, context=context, options=AXE_OPTIONS)
            for violation in result.response["violations"]:
                targets = [node["target"] for node in violation["nodes"]][:5]
                self.problems.append(
                    f"{state} at {viewport}: axe {violation['id']} {violation['help']} {targets}"
                )
            self.page.screenshot(path=SCREENSHOTS / f"{state}-{viewport}.png", full_page=True)
        self.page.set_viewport_size({"width": 1280, "height": 800})


def virtual_authenticator(page):
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def logout(page, *, then: str = "accounts:login") -> None:
    nav = page.locator(".site-header__nav")
    submit(page, nav.get_by_role("button", name=label(page, "ログアウト")))
    expect_path(page, then)


@pytest.fixture
def account(site):
    seeker = site.jobseeker(EMAIL)
    user = get_user_model().objects.create_user(EMAIL, GOOD_PASSWORD)
    JobSeeker.objects.filter(pk=seeker.pk).update(status=JobSeeker.Status.ACTIVE, user=user)
    return user


@pytest.fixture
def relying_party(site, settings):
    assert urlsplit(site.base_url).hostname == "localhost", site.base_url
    settings.WEBAUTHN_RP_ID = "localhost"
    settings.WEBAUTHN_ORIGINS = [site.base_url]


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_job_seeker_adds_uses_renames_and_removes_a_passkey(
    site, account, relying_party, language
):
    page = site.new_page("1280x800", locale={"ja": "ja-JP", "en": "en-US"}[language])
    cdp, authenticator_id = virtual_authenticator(page)
    checker = Checker(page)

    def state(name: str) -> str:  # the screenshots' names
        return name if language == "ja" else f"en-{name}"

    def t(msgid: str) -> str:
        return label(page, msgid)

    page.goto(site.url("accounts:login"))
    assert page.evaluate("document.documentElement.lang") == language
    expect(page.get_by_role("button", name=t("パスキーでログイン"))).to_be_visible()
    checker.check(state("login"))
    login(page, EMAIL)
    enter_otp(page, site.otp(EMAIL))
    expect_path(page, "accounts:mypage")

    # --- add ------------------------------------------------------------------------------
    submit(page, page.get_by_role("link", name=t("パスキーの管理")))
    checker.check(state("list-empty"))
    page.get_by_label(t("パスキーの名前")).fill("テスト端末")
    submit(page, page.get_by_role("button", name=t("パスキーを追加する")))
    expect(page.locator("[role=status]")).to_contain_text(
        t("パスキー「%(name)s」を追加しました。お知らせのメールを送信します。")
        % {"name": "テスト端末"}
    )
    expect(page.locator("table")).to_contain_text("テスト端末")
    checker.check(state("list-added-message"))
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    (credential,) = credentials["credentials"]
    assert credential["isResidentCredential"] is True
    assert Passkey.objects.get(user=account).name == "テスト端末"

    # --- log out, log in with the button ----------------------------------------------------
    # Chromium's virtual authenticator answers the login page's conditional request by itself
    # (the next test), so the button is shown on the login page as it is after a refused
    # passkey (?passkey=refused), where passkeys.js starts no conditional request.
    # Logging out lands on the login page, so the authenticator holds no credential meanwhile.
    hold = {"authenticatorId": authenticator_id}
    cdp.send("WebAuthn.clearCredentials", hold)
    logout(page)
    page.goto(site.url("accounts:login") + "?passkey=refused")
    cdp.send("WebAuthn.addCredential", {**hold, "credential": credential})
    page.get_by_role("button", name=t("パスキーでログイン")).click()
    page.wait_for_url(re.compile(r"/mypage/$"))
    expect(page.locator("[role=status]")).to_contain_text(t("パスキーでログインしました。"))
    assert LoginEvent.objects.filter(user=account).first().outcome == LoginEvent.Outcome.PASSKEY

    # --- rename ---------------------------------------------------------------------------
    page.goto(site.url("passkeys:list"))
    submit(page, page.get_by_role("link", name=re.compile("^" + t("名前を変更"))))
    checker.check(state("rename"))
    page.get_by_label(t("パスキーの名前")).fill("")
    submit(page, page.get_by_role("button", name=t("名前を変更する")))
    checker.check(state("error-rename-empty"))
    page.get_by_label(t("パスキーの名前")).fill("自宅のパソコン")
    submit(page, page.get_by_role("button", name=t("名前を変更する")))
    expect(page.locator("table")).to_contain_text("自宅のパソコン")
    assert Passkey.objects.get(user=account).name == "自宅のパソコン"

    # --- remove ---------------------------------------------------------------------------
    submit(page, page.get_by_role("link", name=re.compile("^" + t("削除"))))
    checker.check(state("remove-confirm"))
    submit(page, page.get_by_role("button", name=t("削除する")))
    expect(page.locator("[role=status]")).to_contain_text(
        t("パスキー「%(name)s」を削除しました。お知らせのメールを送信します。")
        % {"name": "自宅のパソコン"}
    )
    checker.check(state("list-removed-message"))
    assert not Passkey.objects.filter(user=account).exists()

    # --- the authenticator still holds it, the service no longer accepts it ------------------
    logout(page)  # the conditional request is answered at once, and refused
    expect_path(page, "accounts:login")
    expect(page.locator("[role=status]")).to_contain_text(
        {"ja": "パスキーを確認できませんでした", "en": "The passkey could not be confirmed"}[
            language
        ]
    )
    checker.check(state("login-refused-message"))
    page.goto(site.url("accounts:mypage"))
    expect_path(page, "accounts:login")  # not logged in
    assert LoginEvent.objects.filter(user=account, outcome=LoginEvent.Outcome.PASSKEY).count() == 1

    assert not checker.problems, "\n".join(checker.problems)


def test_the_id_fields_autofill_offers_the_passkey(site, account, relying_party):
    """Conditional UI: the login page starts a `mediation: "conditional"` request at once (the
    only request it starts without a click). In a person's browser it waits for a pick from
    the ID field's autofill; headless Chromium shows no autofill list, and its virtual
    authenticator answers the request itself, so the pick is the one step not exercised."""
    page = site.new_page("1280x800")
    virtual_authenticator(page)
    page.goto(site.url("accounts:login"))
    login(page, EMAIL)
    enter_otp(page, site.otp(EMAIL))
    page.goto(site.url("passkeys:list"))
    submit(page, page.get_by_role("button", name="パスキーを追加する"))
    available = page.evaluate("() => PublicKeyCredential.isConditionalMediationAvailable()")
    assert available is True
    # Logging out lands on the login page, whose conditional request Chromium's virtual
    # authenticator (presence simulated) answers without a pick from the autofill list: the
    # login completes with no click and no typing.
    logout(page, then="accounts:mypage")
    expect(page.locator("[role=status]")).to_contain_text("パスキーでログインしました")
    assert LoginEvent.objects.filter(user=account).first().outcome == LoginEvent.Outcome.PASSKEY


def test_adding_after_a_while_asks_for_the_password(site, account, relying_party, clock):
    page = site.new_page("1280x800")
    virtual_authenticator(page)
    checker = Checker(page)
    page.goto(site.url("accounts:login"))
    login(page, EMAIL)
    enter_otp(page, site.otp(EMAIL))
    clock.advance(minutes=6)
    page.goto(site.url("passkeys:list"))
    expect(page.get_by_role("button", name="パスキーを追加する")).to_have_count(0)
    checker.check("reauth")
    page.locator("#id_password").fill("Wrong#2026xyz")
    submit(page, page.get_by_role("button", name="本人確認する"))
    checker.check("error-reauth-wrong-password")
    page.locator("#id_password").fill(GOOD_PASSWORD)
    submit(page, page.get_by_role("button", name="本人確認する"))
    expect(page.locator("[role=status]")).to_contain_text("本人確認ができました")
    checker.check("reauth-done-message")
    submit(page, page.get_by_role("button", name="パスキーを追加する"))
    expect(page.locator("[role=status]")).to_contain_text("を追加しました")
    assert Passkey.objects.filter(user=account).count() == 1
    assert not checker.problems, "\n".join(checker.problems)


STAFF_EMAIL = "clerk@example.jp"
STAFF_LOGIN_PART = "[data-passkey-section]"
STAFF_PAGE_PART = "#content-main"


def staff_logout(page) -> None:
    submit(page, page.locator("#logout-form button"))
    page.goto("/staff/login/")


def test_a_staff_member_adds_uses_renames_and_removes_a_passkey(site, relying_party):
    get_user_model().objects.create_user(STAFF_EMAIL, GOOD_PASSWORD, is_staff=True)
    page = site.new_page("1280x800")
    cdp, authenticator_id = virtual_authenticator(page)
    checker = Checker(page)
    page.goto("/staff/login/")
    expect(page.get_by_role("button", name="パスキーでログイン")).to_be_visible()
    assert "webauthn" in page.locator("#id_username").get_attribute("autocomplete")
    checker.check("staff-login", STAFF_LOGIN_PART)
    page.locator("#id_username").fill(STAFF_EMAIL)
    page.locator("#id_password").fill(GOOD_PASSWORD)
    submit(page, page.locator("input[type=submit][value='ログイン']"))
    expect_path(page, "admin:staff_otp")
    page.fill("#id_code", site.otp(STAFF_EMAIL))
    submit(page, page.locator("#login-form [type=submit]"))
    expect_path(page, "admin:index")
    page.goto(site.url("staff_passkeys:list"))
    checker.check("staff-list-reauth", STAFF_PAGE_PART)
    page.locator("#id_password").fill(GOOD_PASSWORD)
    submit(page, page.get_by_role("button", name="本人確認する"))
    page.locator("#id_name").fill("窓口の端末")
    submit(page, page.get_by_role("button", name="パスキーを追加する"))
    expect(page.locator("table")).to_contain_text("窓口の端末")
    checker.check("staff-list-added", STAFF_PAGE_PART)
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert [c["isResidentCredential"] for c in stored["credentials"]] == [True]

    # The button, on the login page as it is after a refused passkey (no conditional request).
    submit(page, page.locator("#logout-form button"))
    page.goto("/staff/login/?passkey=refused")
    page.get_by_role("button", name="パスキーでログイン").click()
    page.wait_for_url(re.compile(r"/staff/$"))
    event = LoginEvent.objects.filter(user__email=STAFF_EMAIL).first()
    assert (event.outcome, event.channel) == (LoginEvent.Outcome.PASSKEY, LoginEvent.Channel.STAFF)

    # Conditional UI: the login page's autofill request, answered by the virtual authenticator.
    submit(page, page.locator("#logout-form button"))
    with page.expect_navigation(url=re.compile(r"/staff/$")):
        page.goto("/staff/login/")
    assert LoginEvent.objects.filter(user__email=STAFF_EMAIL).count() == 3

    page.goto(site.url("staff_passkeys:list"))
    submit(page, page.get_by_role("link", name=re.compile("^名前を変更")))
    checker.check("staff-rename", STAFF_PAGE_PART)
    page.locator("#id_name").fill("受付カウンター")
    submit(page, page.get_by_role("button", name="名前を変更する"))
    expect(page.locator("table")).to_contain_text("受付カウンター")
    submit(page, page.get_by_role("button", name=re.compile("^削除")))
    expect(page.locator("table")).to_have_count(0)
    checker.check("staff-list-removed", STAFF_PAGE_PART)

    submit(page, page.locator("#logout-form button"))
    page.goto("/staff/login/")  # the conditional request is answered at once, and refused
    page.wait_for_url(re.compile(r"passkey=refused"))
    expect(page.locator(".messagelist, .errornote").first).to_contain_text(
        "パスキーを確認できませんでした"
    )
    checker.check("staff-login-refused", STAFF_LOGIN_PART)
    page.goto(site.url("admin:index"))
    expect(page).to_have_url(re.compile(r"/staff/login/"))
    assert not checker.problems, "\n".join(checker.problems)
