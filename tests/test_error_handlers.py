"""The service's own error pages: every bad request gets its status, the security headers and
a request id, and is counted; a form in a charset other than UTF-8 gets 400, never 500; a
database that cannot be reached gets the 503 page with Retry-After."""

import pytest
from django.core.exceptions import BadRequest, PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import include, path, reverse
from prometheus_client import REGISTRY

from portal.ops.request_id import HEADER

pytestmark = pytest.mark.django_db

LATIN1_FORM = "application/x-www-form-urlencoded; charset=latin-1"
SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
)


def _raise(exception):
    def view(request):
        raise exception

    return view


def _database_error_in_response_phase(get_response):
    """A middleware that fails after the view, like a session saved to a lost database."""

    def middleware(request):
        response = get_response(request)
        if request.path == "/test-errors/session-save/":
            raise OperationalError("connection to server was lost")
        return response

    return middleware


# A URLconf of this module's own, with the service's handlers, for errors no page raises on
# purpose.
urlpatterns = [
    path("test-errors/forbidden/", _raise(PermissionDenied())),
    path("test-errors/bad/", _raise(BadRequest())),
    path("test-errors/database/", _raise(OperationalError("could not connect to server"))),
    path("test-errors/interface/", _raise(InterfaceError("connection already closed"))),
    path("test-errors/broken/", _raise(RuntimeError("a bug"))),
    path("test-errors/session-save/", lambda request: HttpResponse("ok")),
    path("", include("config.urls")),
]
handler400 = "portal.core.views.bad_request"
handler403 = "portal.core.views.permission_denied"
handler404 = "portal.core.views.page_not_found"
handler500 = "portal.core.views.server_error"


def _count(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _requests(status: int) -> float:
    return sum(
        metric.value
        for family in REGISTRY.collect()
        if family.name == "mypage_http_requests"
        for metric in family.samples
        if metric.name == "mypage_http_requests_total" and metric.labels["status"] == str(status)
    )


def _assert_answered(response, status: int):
    assert response.status_code == status
    for header in SECURITY_HEADERS:
        assert response.has_header(header), header
    assert response[HEADER]
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "url",
    [
        reverse("registration:terms"),
        reverse("registration:identity"),
        reverse("accounts:login"),
        reverse("registration:reset_start"),
    ],
)
def test_a_latin1_form_post_gets_400_with_the_security_headers(url):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("registration:terms"))  # a CSRF cookie, as a browser would hold
    assert "csrftoken" in client.cookies
    before = _requests(400)
    response = client.post(url, data="agree=on&email=a%E9", content_type=LATIN1_FORM)
    _assert_answered(response, 400)
    page = response.content.decode()
    assert "リクエストを処理できません" in page and "トップページへ戻る" in page
    assert _requests(400) == before + 1


def test_the_404_page_carries_the_request_id_and_the_headers():
    response = Client().get("/no-such-page/", headers={"X-Request-ID": "lb-request-00001234"})
    _assert_answered(response, 404)
    assert response[HEADER] == "lb-request-00001234"
    assert "ページが見つかりません" in response.content.decode()


@override_settings(ROOT_URLCONF=__name__)
def test_the_403_page_carries_the_request_id_and_the_headers():
    before = _requests(403)
    response = Client().get("/test-errors/forbidden/")
    _assert_answered(response, 403)
    assert "この操作はできません" in response.content.decode()
    assert _requests(403) == before + 1


@override_settings(ROOT_URLCONF=__name__)
def test_the_400_page_carries_the_request_id_and_the_headers():
    response = Client().get("/test-errors/bad/")
    _assert_answered(response, 400)
    assert "リクエストを処理できません" in response.content.decode()


@override_settings(ROOT_URLCONF=__name__)
def test_a_bug_gets_the_500_page_with_the_headers():
    response = Client(raise_request_exception=False).get("/test-errors/broken/")
    _assert_answered(response, 500)
    assert "ただいま処理できません" in response.content.decode()


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize("url", ["/test-errors/database/", "/test-errors/interface/"])
def test_a_database_that_cannot_be_reached_gets_503_with_retry_after(url):
    """The view's database call failing (simulated here: raised by the view; with a real
    outage in test_database_outage_postgres)."""
    before = _count("mypage_http_database_unavailable_total")
    response = Client().get(url)
    _assert_answered(response, 503)
    assert int(response["Retry-After"]) > 0
    page = response.content.decode()
    assert "ただいま一時的にご利用いただけません" in page
    assert "しばらく時間をおいてから、もう一度お試しください。" in page
    assert 'class="site-header' in page  # the service's look
    assert _count("mypage_http_database_unavailable_total") == before + 1


@override_settings(
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[
        "portal.ops.middleware.ObservabilityMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "csp.middleware.CSPMiddleware",
        f"{__name__}._database_error_in_response_phase",
    ],
)
def test_a_database_error_outside_the_view_gets_503_too():
    before = _count("mypage_http_database_unavailable_total")
    response = Client(raise_request_exception=False).get("/test-errors/session-save/")
    assert response.status_code == 503
    assert response["Retry-After"] and response[HEADER]
    assert "Content-Security-Policy" in response
    assert _count("mypage_http_database_unavailable_total") == before + 1
