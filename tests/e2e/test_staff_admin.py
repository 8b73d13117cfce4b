"""The staff admin in a real browser: the staff login with its mailed one-time password (real
SMTP), then axe-core (WCAG 2.2 A/AA) with zero violations on the staff login, the one-time
password page (as shown and with an error) and the admin pages this project changed: the job
seeker's page with its account link, the job seekers' accounts, the staff accounts, a staff
member's own address change and a group's permissions (Japanese names)."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from portal.accounts.models import User
from portal.jobseekers.models import JobSeeker
from tests.e2e.site import VIEWPORTS, expect_path
from tests.e2e.walk import AXE_OPTIONS, AXE_VIEWPORTS, _axe

STAFF = "admin@example.jp"
PASSWORD = "Staff#pass2026"


# The page's own Content Security Policy violations (axe-core's checks add style elements of
# their own, which the policy also reports; those are not the page's).
CSP_LISTENER = (
    "window.__csp = []; document.addEventListener('securitypolicyviolation',"
    " (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def violations(page) -> list[str]:
    found = [f"{page.url}: CSP {v}" for v in page.evaluate("window.__csp")]
    for viewport in AXE_VIEWPORTS:
        width, height, _scale = VIEWPORTS[viewport]
        page.set_viewport_size({"width": width, "height": height})
        for violation in _axe.run(page, options=AXE_OPTIONS).response["violations"]:
            targets = [node["target"] for node in violation["nodes"]][:5]
            found.append(
                f"{page.url} at {viewport}: {violation['id']} {violation['help']} {targets}"
            )
    page.set_viewport_size({"width": 1280, "height": 800})
    return found


@pytest.mark.parametrize("language", ["ja", "en"])
def test_staff_login_and_changed_admin_pages_have_no_axe_violations(site, language):
    admin_user = User.objects.create_user(STAFF, PASSWORD, is_staff=True)
    # The migrations' groups: an earlier browser test's transactional database flushed them.
    administrators, _ = Group.objects.get_or_create(name="管理者")
    administrators.permissions.add(*Permission.objects.all())
    Group.objects.get_or_create(name="窓口職員")
    admin_user.groups.add(administrators)
    seeker = site.jobseeker("taro@example.jp")
    user = User.objects.create_user(seeker.email, "Seeker#pass2026")
    JobSeeker.objects.filter(pk=seeker.pk).update(status=JobSeeker.Status.ACTIVE, user=user)

    page = site.new_page(locale={"ja": "ja-JP", "en": "en-US"}[language])
    page.add_init_script(CSP_LISTENER)
    problems = []
    page.goto(reverse("admin:index"))
    expect_path(page, "admin:login")
    assert page.evaluate("document.documentElement.lang") == language
    problems += violations(page)
    page.fill("#id_username", STAFF)
    page.fill("#id_password", PASSWORD)
    page.click("#login-form [type=submit]")
    expect_path(page, "admin:staff_otp")
    problems += violations(page)
    page.fill("#id_code", "12")
    page.click("#login-form [type=submit]")
    expect_path(page, "admin:staff_otp")
    assert page.locator(".errornote").count()
    problems += violations(page)
    page.fill("#id_code", site.otp(STAFF))
    page.click("#login-form [type=submit]")
    expect_path(page, "admin:index")

    group = Group.objects.get(name="窓口職員")
    for url in (
        reverse("admin:index"),
        reverse("admin:jobseekers_jobseeker_change", args=[seeker.pk]),
        reverse("admin:accounts_jobseekeraccount_changelist"),
        reverse("admin:accounts_jobseekeraccount_change", args=[user.pk]),
        reverse("admin:accounts_user_changelist"),
        reverse("admin:accounts_user_change", args=[admin_user.pk]),
        reverse("admin:accounts_user_add"),
        reverse("admin:staff_email_change"),
        reverse("admin:auth_group_change", args=[group.pk]),
    ):
        page.goto(url)
        assert page.title() and "404" not in page.title(), url
        problems += violations(page)

    # A staff member's own address: the one-time password step, as shown.
    page.goto(reverse("admin:staff_email_change"))
    page.fill("#id_new_email", "boss@example.jp")
    page.fill("#id_new_email_confirm", "boss@example.jp")
    page.click("#content-main [type=submit]")
    assert page.locator("#id_code").count()
    problems += violations(page)
    assert not problems, "\n".join(problems)
    # What the browser logged about inline styles came from axe-core (window.__csp is empty).
    site.script_errors[:] = [e for e in site.script_errors if "Applying inline style" not in e]
