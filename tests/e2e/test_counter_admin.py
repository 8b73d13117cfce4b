"""The counter clerk's pages in the browser: CSV upload and its result, the job seeker list at
1280×800 without sideways scrolling, a job seeker's page with its unlock button and 履歴, the
audit log, each with axe-core (WCAG 2.2 A/AA) at zero violations; and the 「マイページ開設の
ご案内」 sheet printed to PDF: one A4 page holding the service URL, the address and the sender."""

import io
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from portal.accounts.models import User
from portal.jobseekers.models import JobSeeker, JobSeekerUpload
from tests.e2e.pdf_text import pdf_pages
from tests.e2e.site import assert_no_horizontal_scroll
from tests.e2e.walk import AXE_OPTIONS
from tests.staff import staff_force_login

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "counter"
A4_POINTS = (595.28, 841.89)
_axe = Axe()


def assert_axe_clean(page, where: str) -> None:
    violations = _axe.run(page, options=AXE_OPTIONS).response["violations"]
    found = [f"{v['id']} {[n['target'] for n in v['nodes']][:3]}" for v in violations]
    assert not found, f"{where}: {found}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)


@pytest.fixture
def clerk_page(site, browser, live_server):
    """A browser page logged in as a counter clerk (session made by Django's test client).
    Its own context, outside `site`'s console check: Django's admin scripts on the change
    page set inline styles, which the CSP refuses (reported in the console, harmless)."""
    client = Client()
    # A superuser: the browser tests' transactional database drops the migrations' groups.
    staff_force_login(client, User.objects.create_superuser("clerk@example.jp", "Clerk#pass1"))
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 1280, "height": 800},
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME,
          "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
          "url": live_server.url}]
    )  # fmt: skip
    yield page
    context.close()


def test_upload_list_jobseeker_page_and_audit_log(site, clerk_page, settings, tmp_path):
    settings.CSV_UPLOAD_DIR = tmp_path / "uploads"
    page = clerk_page
    site.make_jobseeker(number="13010-00000500", name="山田花子", name_kana="ヤマダハナコ",
                        email="hanako@example.jp")  # fmt: skip

    page.goto(reverse("admin:jobseekers_jobseeker_changelist"))
    page.get_by_role("link", name="CSVファイルから取り込む").click()
    assert_axe_clean(page, "upload form")
    shot(page, "upload-form")
    csv_file = tmp_path / "register.csv"
    csv_file.write_bytes(
        "job_seeker_number,name,name_kana,email,birth_date,office\r\n"
        "13010-00000001,山田太郎,やまだたろう,taro@example.jp,1990-04-01,飯田橋\r\n"
        "=13010-00000002,佐藤花子,サトウハナコ,sato@example.jp,1991-05-02,\r\n".encode("cp932")
    )
    page.get_by_label("CSVファイル").set_input_files(str(csv_file))
    with page.expect_response(lambda r: "/upload/" in r.url and r.request.method == "GET") as got:
        page.get_by_role("button", name="アップロードして取り込む").click()
    assert got.value.headers.get("refresh") == "3"
    page.get_by_text("取込み待ち").wait_for()
    assert_axe_clean(page, "upload result (queued)")
    shot(page, "upload-queued")

    call_command("deliver_mail", once=True, stdout=io.StringIO())
    # The page refreshes itself (no JavaScript involved) and shows the result.
    page.locator(".upload-status", has_text="完了").wait_for(timeout=15_000)
    assert page.get_by_role("cell", name="=13010-00000002,佐藤花子", exact=False).count() == 1
    assert_axe_clean(page, "upload result (done)")
    shot(page, "upload-done")
    assert JobSeekerUpload.objects.get().created == 1

    page.goto(reverse("admin:jobseekers_jobseeker_changelist") + "?q=やまだ")
    assert page.get_by_role("link", name="13010-00000001").count() == 1
    assert page.get_by_role("link", name="13010-00000500").count() == 1
    for header in ("状態", "ロック", "最後のメール"):
        assert page.get_by_role("columnheader", name=header).first.is_visible()
    assert_no_horizontal_scroll(page, "job seeker list at 1280x800")
    # Nor does the table scroll inside its box (Django's admin lets it).
    table_excess = page.evaluate(
        "() => { const box = document.querySelector('#changelist .results');"
        " return box.scrollWidth - box.clientWidth; }"
    )
    assert table_excess <= 0, f"the list's table scrolls sideways by {table_excess}px"
    assert_axe_clean(page, "job seeker list")
    shot(page, "list-1280x800")

    seeker = JobSeeker.objects.get(number="13010-00000001")
    # An opened account, so that the page offers the unlock button.
    account = User.objects.create_user(seeker.email, "Taro#pass1")
    JobSeeker.objects.filter(pk=seeker.pk).update(user=account, status=JobSeeker.Status.ACTIVE)
    page.goto(reverse("admin:jobseekers_jobseeker_change", args=[seeker.pk]))
    assert_axe_clean(page, "job seeker page")
    shot(page, "jobseeker-page")
    page.get_by_role("button", name="ログインのロックを解除").click()
    page.get_by_text("ロックはかかっていませんでした").wait_for()
    assert_axe_clean(page, "job seeker page after unlock")
    page.get_by_role("link", name="履歴").click()
    page.get_by_text("求職者ページの表示").first.wait_for()
    assert_axe_clean(page, "history")
    shot(page, "history")

    page.goto(reverse("admin:audit_auditevent_changelist"))
    page.get_by_text("CSVファイルのアップロード").first.wait_for()
    assert_axe_clean(page, "audit log")
    shot(page, "audit-log")


def test_guide_sheet_prints_on_one_a4_page(site, clerk_page, settings):
    settings.SERVICE_URL = "https://mypage.example.jp/"
    seeker = site.make_jobseeker(number="13010-00000777", email="print-me@example.jp",
                                 name="山田太郎", birth_date="1987-06-05")  # fmt: skip
    page = clerk_page
    page.goto(reverse("admin:jobseekers_jobseeker_change", args=[seeker.pk]))
    page.get_by_role("link", name="「マイページ開設のご案内」を印刷").click()
    page.get_by_role("heading", name="マイページ開設のご案内").wait_for()
    assert_axe_clean(page, "guide sheet")
    shot(page, "guide-screen")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (SHOTS / "guide.pdf").write_bytes(pdf) if SHOTS.is_dir() else None
    pages = pdf_pages(pdf)
    assert len(pages) == 1
    assert abs(pages[0].width_pt - A4_POINTS[0]) < 2 and abs(pages[0].height_pt - A4_POINTS[1]) < 2
    text = pages[0].text
    assert "https://mypage.example.jp/" in text
    assert "print-me@example.jp" in text
    assert settings.MAIL_SENDER in text
    assert "ステップ4" in text
    assert "1987" not in text and "13010-00000777" not in text


def test_the_clerk_pages_in_english_have_no_axe_violations(site, clerk_page, settings, tmp_path):
    """The same pages with the staff admin switched to English (the language cookie)."""
    settings.CSV_UPLOAD_DIR = tmp_path / "uploads"
    page = clerk_page
    page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": site.base_url}]
    )

    def en(msgid: str) -> str:
        with translation.override("en"):
            return translation.gettext(msgid)

    page.goto(reverse("admin:jobseekers_jobseeker_changelist"))
    assert page.evaluate("document.documentElement.lang") == "en"
    assert_axe_clean(page, "job seeker list (en)")
    page.get_by_role("link", name=en("CSVファイルから取り込む")).click()
    assert_axe_clean(page, "upload form (en)")
    csv_file = tmp_path / "register.csv"
    csv_file.write_bytes(
        "job_seeker_number,name,name_kana,email,birth_date,office\r\n"
        "13010-00000001,山田太郎,やまだたろう,taro@example.jp,1990-04-01,飯田橋\r\n"
        "=13010-00000002,佐藤花子,サトウハナコ,sato@example.jp,1991-05-02,\r\n".encode("cp932")
    )
    page.get_by_label(en("CSVファイル")).set_input_files(str(csv_file))
    page.get_by_role("button", name=en("アップロードして取り込む")).click()
    page.get_by_text(en("取込み待ち")).wait_for()
    assert_axe_clean(page, "upload result (queued, en)")
    call_command("deliver_mail", once=True, stdout=io.StringIO())
    page.locator(".upload-status", has_text=en("完了")).wait_for(timeout=15_000)
    assert_axe_clean(page, "upload result (done, en)")

    seeker = JobSeeker.objects.get(number="13010-00000001")
    account = User.objects.create_user(seeker.email, "Taro#pass1")
    # An English reader: the printed guide below is in the job seeker's language.
    JobSeeker.objects.filter(pk=seeker.pk).update(
        user=account, status=JobSeeker.Status.ACTIVE, language="en"
    )
    page.goto(reverse("admin:jobseekers_jobseeker_change", args=[seeker.pk]))
    assert_axe_clean(page, "job seeker page (en)")
    page.get_by_role("button", name=en("ログインのロックを解除")).click()
    page.get_by_text(en("ロックはかかっていませんでした（失敗回数は0に戻しました）。")).wait_for()
    assert_axe_clean(page, "job seeker page after unlock (en)")
    page.get_by_role("link", name="History").click()  # Django admin's own link
    page.get_by_text(en("求職者ページの表示")).first.wait_for()
    assert_axe_clean(page, "history (en)")
    page.goto(reverse("admin:jobseekers_jobseeker_change", args=[seeker.pk]))
    page.get_by_role("link", name=en("「マイページ開設のご案内」を印刷")).click()
    page.get_by_role("heading", name=en("マイページ開設のご案内")).wait_for()
    assert_axe_clean(page, "guide sheet (en)")
    page.goto(reverse("admin:audit_auditevent_changelist"))
    page.get_by_text(en("CSVファイルのアップロード")).first.wait_for()
    assert_axe_clean(page, "audit log (en)")
