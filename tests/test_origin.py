"""The request origin: built once per request, one value for the services."""

from django.test import RequestFactory

from portal.core.origin import NO_REQUEST, USER_AGENT_MAX, RequestOrigin, request_origin


def test_origin_carries_the_client_address_and_a_bounded_user_agent():
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.5", HTTP_USER_AGENT="x" * 1000)
    origin = request_origin(request)
    assert origin.ip == "192.0.2.5"
    assert origin.user_agent == "x" * USER_AGENT_MAX
    assert request_origin(request) is origin  # made once per request


def test_no_request_has_no_address():
    assert NO_REQUEST.ip is None
    assert NO_REQUEST.ip_key == ""
    assert RequestOrigin(ip="").ip is None
