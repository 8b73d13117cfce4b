"""The staff admin's login: the password, then the mailed one-time password (real SMTP); no
admin page for a session that passed only the password; /staff/login/ is no password oracle for
job seekers; `next`; where staff may come from (STAFF_ALLOWED_NETWORKS)."""

import re
import uuid

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLResolver, reverse

from portal.accounts.models import LoginChallenge, LoginEvent, LoginThrottle
from portal.accounts.selectors import login_key
from portal.accounts.staff_auth import STAFF_VERIFIED_SESSION_KEY
from tests.accounts.conftest import PASSWORD
from tests.staff import staff_force_login, staff_login, staff_otp_from, staff_password_post

pytestmark = pytest.mark.django_db

STAFF = "staff@example.jp"
OTP_PAGE = "admin/accounts/staff_otp.html"


@pytest.fixture
def staff():
    return get_user_model().objects.create_superuser(STAFF, PASSWORD)


def templates(response) -> set[str]:
    return {t.name for t in response.templates if t.name}


def test_staff_login_asks_for_the_mailed_one_time_password(client, staff, smtp_server):
    response = staff_password_post(client, STAFF, PASSWORD)
    assert response.status_code == 302 and response.url == reverse("admin:staff_otp")
    assert STAFF_VERIFIED_SESSION_KEY not in client.session
    page = client.get(response.url)
    assert OTP_PAGE in templates(page) and STAFF in page.content.decode()
    # No trusted-browser skip for staff: the page offers none.
    assert 'name="remember"' not in page.content.decode()
    mail = smtp_server.to(STAFF) or None
    assert mail is None  # not yet delivered: the worker sends it
    code = staff_otp_from(smtp_server, STAFF)
    assert "窓口管理" in smtp_server.to(STAFF)[-1]["Subject"]
    response = client.post(reverse("admin:staff_otp"), {"code": code})
    assert response.status_code == 302 and response.url == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200
    assert LoginEvent.objects.filter(user=staff, outcome="success", channel="staff").exists()


def test_a_staff_login_is_never_skipped_by_a_trusted_browser_cookie(client, staff, smtp_server):
    from django.conf import settings

    from portal.accounts.services.trusted_browsers import trusted_browser_create

    _browser, value = trusted_browser_create(staff)
    client.cookies[settings.TRUSTED_BROWSER_COOKIE_NAME] = value
    response = staff_password_post(client, STAFF, PASSWORD)
    assert response.url == reverse("admin:staff_otp")


def test_a_wrong_one_time_password_counts_and_the_login_is_not_complete(client, staff, smtp_server):
    staff_password_post(client, STAFF, PASSWORD)
    code = staff_otp_from(smtp_server, STAFF)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    page = client.post(reverse("admin:staff_otp"), {"code": wrong}).content.decode()
    assert "ワンタイムパスワードが正しくありません" in page
    assert client.get(reverse("admin:index")).status_code == 302
    assert LoginEvent.objects.filter(user=staff, outcome="otp_failure", channel="staff").exists()


def _concrete(route: str) -> str:
    """A path for an admin URL pattern, with a value for each of its parameters."""
    route = re.sub(r"\(\?P<app_label>([^|)]+)[^)]*\)", r"\1", route)
    route = route.replace("(?P<url>.*)", "anything/")
    route = re.sub(r"<uuid:\w+>", str(uuid.uuid4()), route)
    route = re.sub(r"<(?:\w+:)?\w+>", "1", route)
    return route.lstrip("^").rstrip("$")


def _admin_paths(patterns=None, prefix=""):
    for pattern in patterns if patterns is not None else admin.site.get_urls():
        if isinstance(pattern, URLResolver):
            yield from _admin_paths(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield pattern.name, prefix + str(pattern.pattern)


ADMIN_PATHS = sorted(set(_admin_paths()), key=lambda item: (item[1], item[0] or ""))


def test_the_walk_covers_the_custom_views():
    names = {name for name, _route in ADMIN_PATHS}
    assert {
        "index",
        "staff_otp",
        "staff_email_change",
        "jobseekers_jobseeker_change_email",
        "accounts_jobseekeraccount_change",
        "auth_user_password_change",
        "view_on_site",
    } <= names


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_session_that_passed_only_the_password_reaches_no_admin_page(
    client, staff, make_jobseeker, smtp_server, method
):
    seeker = make_jobseeker()
    staff_password_post(client, STAFF, PASSWORD)
    assert LoginChallenge.objects.filter(user=staff).count() == 1
    base = reverse("admin:index")
    for name, route in ADMIN_PATHS:
        url = base + _concrete(route).replace("/1/", f"/{seeker.pk}/")
        response = getattr(client, method)(url, follow=True)
        if response.status_code in (403, 404):
            continue
        assert response.status_code == 200, (name, url, response.status_code)
        if name == "login" and method == "post":
            # The password step itself: an empty form is refused there.
            assert "admin/login.html" in templates(response), (name, url)
            continue
        assert OTP_PAGE in templates(response), (name, url, response.redirect_chain)
        assert STAFF_VERIFIED_SESSION_KEY not in client.session


def test_a_staff_account_logged_in_without_the_staff_login_reaches_no_admin_page(
    client, staff, make_jobseeker
):
    # A session logged in some other way (no staff second factor): every admin page sends it to
    # the staff login.
    seeker = make_jobseeker()
    client.force_login(staff)
    base = reverse("admin:index")
    for name, route in ADMIN_PATHS:
        url = base + _concrete(route).replace("/1/", f"/{seeker.pk}/")
        response = client.get(url, follow=True)
        if response.status_code in (403, 404):
            continue
        assert response.status_code == 200, (name, url)
        names = templates(response)
        assert "admin/login.html" in names or OTP_PAGE in names, (name, url)
        assert "admin/index.html" not in names and "admin/change_list.html" not in names


def _answers(client, email, password):
    response = staff_password_post(client, email, password, REMOTE_ADDR="10.1.1.1")
    return response.status_code, response.content.decode().replace(
        client.cookies["csrftoken"].value if "csrftoken" in client.cookies else "", ""
    )


def _counters(email):
    return sorted(
        LoginThrottle.objects.filter(login_key=login_key(email)).values_list("scope", "failures")
    )


def test_staff_login_is_no_password_oracle_for_job_seekers(account, smtp_server):
    """A job seeker's right password and a wrong one get the same page and the same counts."""
    right = [_answers(Client(), account.email, PASSWORD) for _ in range(2)]
    counts_after_right = _counters(account.email)
    LoginThrottle.objects.all().delete()
    wrong = [_answers(Client(), account.email, "Wrong#pass99") for _ in range(2)]
    assert _counters(account.email) == counts_after_right == [("account", 2), ("pair", 2)]
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert [(s, strip.sub("", p)) for s, p in right] == [(s, strip.sub("", p)) for s, p in wrong]
    assert right[0][0] == 200 and "IDまたはパスワードが正しくありません" in right[0][1]
    # No one-time password goes to the job seeker, and nothing is logged in their name.
    assert not LoginChallenge.objects.filter(user=account.user).exists()
    assert not LoginEvent.objects.filter(user=account.user).exists()
    assert LoginEvent.objects.filter(channel="staff", outcome="password_failure").count() == 4


def test_a_job_seekers_right_password_there_leads_to_the_same_lock(account, smtp_server):
    client = Client()
    for _ in range(5):
        staff_password_post(client, account.email, PASSWORD)
    page = staff_password_post(client, account.email, PASSWORD).content.decode()
    assert "一時的に停止しています" in page


@pytest.mark.parametrize("next_url", ["", "https://evil.example/", "//evil.example/x"])
def test_an_unsafe_or_missing_next_lands_on_the_admin_index(staff, smtp_server, next_url):
    client = Client()
    url = reverse("admin:login") + (f"?next={next_url}" if next_url else "")
    client.post(url, {"username": STAFF, "password": PASSWORD})
    code = staff_otp_from(smtp_server, STAFF)
    response = client.post(reverse("admin:staff_otp"), {"code": code})
    assert response.url == reverse("admin:index")


def test_a_safe_next_is_kept_through_the_one_time_password(staff, smtp_server):
    client = Client()
    target = reverse("admin:jobseekers_jobseeker_changelist")
    client.post(
        reverse("admin:login") + f"?next={target}", {"username": STAFF, "password": PASSWORD}
    )
    response = client.post(reverse("admin:staff_otp"), {"code": staff_otp_from(smtp_server, STAFF)})
    assert response.url == target


def test_a_staff_member_whose_mail_cannot_be_sent_is_told_whom_to_ask(settings, staff):
    settings.LOGIN_OTP_MAILS_PER_HOUR = 0
    settings.STAFF_SUPPORT_CONTACT = "情報システム課（内線1234）に連絡してください。"
    page = staff_password_post(Client(), STAFF, PASSWORD).content.decode()
    assert "送信できない" in page and "情報システム課（内線1234）" in page


def test_the_back_link_on_the_otp_page_shows_the_login_form(client, staff, smtp_server):
    staff_password_post(client, STAFF, PASSWORD)
    assert client.get(reverse("admin:login")).url == reverse("admin:staff_otp")
    page = client.get(reverse("admin:login") + "?restart=1")
    assert "admin/login.html" in templates(page)


# --- STAFF_ALLOWED_NETWORKS ---------------------------------------------------------------


def test_the_staff_admin_is_404_from_outside_the_allowed_networks(settings, staff):
    settings.STAFF_ALLOWED_NETWORKS = ["192.0.2.0/24"]
    outside = Client(REMOTE_ADDR="198.51.100.7")
    for url in (reverse("admin:login"), reverse("admin:index"), reverse("admin:staff_otp")):
        assert outside.get(url).status_code == 404
    assert staff_password_post(outside, STAFF, PASSWORD).status_code == 404
    assert not LoginEvent.objects.exists()  # not even counted: the page is not there
    # The rest of the site answers as usual.
    assert outside.get(reverse("accounts:login")).status_code == 200


def test_the_staff_admin_works_from_inside_the_allowed_networks(settings, staff, smtp_server):
    settings.STAFF_ALLOWED_NETWORKS = ["192.0.2.0/24", "2001:db8::/32"]
    inside = Client(REMOTE_ADDR="192.0.2.10")
    response = staff_login(inside, smtp_server, STAFF, PASSWORD)
    assert response.url == reverse("admin:index")
    assert inside.get(reverse("admin:index")).status_code == 200
    assert Client(REMOTE_ADDR="2001:db8::5").get(reverse("admin:login")).status_code == 200


def test_a_spoofed_forwarded_for_from_an_untrusted_address_does_not_get_in(settings, staff):
    settings.STAFF_ALLOWED_NETWORKS = ["192.0.2.0/24"]
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    spoofed = Client(REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="192.0.2.10")
    assert spoofed.get(reverse("admin:login")).status_code == 404
    # Through the trusted proxy, the forwarded address is the client's.
    proxied = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.10")
    assert proxied.get(reverse("admin:login")).status_code == 200
    proxied_outside = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert proxied_outside.get(reverse("admin:login")).status_code == 404


def test_an_already_logged_in_staff_session_is_404_from_outside(settings, staff):
    client = staff_force_login(Client(REMOTE_ADDR="198.51.100.7"), staff)
    assert client.get(reverse("admin:index")).status_code == 200
    settings.STAFF_ALLOWED_NETWORKS = ["192.0.2.0/24"]
    assert client.get(reverse("admin:index")).status_code == 404


def test_with_the_staff_one_time_password_off_the_password_logs_in(settings, staff):
    settings.STAFF_LOGIN_OTP_ENABLED = False
    client = Client()
    response = staff_password_post(client, STAFF, PASSWORD)
    assert response.url == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200
    assert not LoginChallenge.objects.exists()
    assert not LoginThrottle.objects.filter(login_key=login_key(STAFF)).exists()
