"""Form posts while the database cannot be reached get the 503 page, and the service recovers
without a restart. A TCP proxy owned by this test stands between a gunicorn server and
PostgreSQL; the shared PostgreSQL server is never stopped."""

import re

import httpx
import pytest

from tests.ops.procs import gunicorn, manage, proxied_env

pytestmark = pytest.mark.postgres_only

_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def _agree(http: httpx.Client) -> httpx.Response:
    """① as a browser: read the form, post it back with its CSRF cookie and hidden fields."""
    page = http.get("/register/")
    assert page.status_code == 200
    form = dict(_HIDDEN.findall(page.text))
    cookies = "; ".join(f"{c.name}={c.value}" for c in http.cookies.jar)
    return http.post("/register/", data={**form, "agree": "on"}, headers={"Cookie": cookies})


def test_form_posts_get_503_while_the_database_is_cut_and_recover_without_restart(
    database_behind_proxy, tmp_path
):
    proxy, url = database_behind_proxy
    env = proxied_env(url, tmp_path / "static")
    manage("collectstatic", "--noinput", env=env)
    with gunicorn(env, workers=1, log_path=tmp_path / "gunicorn.log") as base:
        with httpx.Client(base_url=base, timeout=30) as http:
            assert _agree(http).status_code == 302  # the database is there

            page = http.get("/register/")
            form = dict(_HIDDEN.findall(page.text))
            cookies = "; ".join(f"{c.name}={c.value}" for c in http.cookies.jar)
            proxy.cut()
            for _ in range(2):  # the broken persistent connection, then a refused new one
                down = http.post(
                    "/register/", data={**form, "agree": "on"}, headers={"Cookie": cookies}
                )
                assert down.status_code == 503, down.text[:500]
                assert int(down.headers["retry-after"]) > 0
                assert down.headers["x-request-id"]
                assert "frame-ancestors 'none'" in down.headers["content-security-policy"]
                assert down.headers["x-content-type-options"] == "nosniff"
                assert "ただいま一時的にご利用いただけません" in down.text
                assert 'class="site-header' in down.text  # the service's look, not plain text
            # A page that reads the session (in the database without Redis) answers the same.
            assert http.get("/register/", headers={"Cookie": cookies}).status_code in (200, 503)

            proxy.restore()
            assert _agree(http).status_code == 302  # recovered, no restart
            metrics = http.get("/metrics").text
            found = re.search(r"^mypage_http_database_unavailable_total (\S+)$", metrics, re.M)
            assert found and float(found.group(1)) >= 2
            assert re.search(r'mypage_http_requests_total\{[^}]*status="503"[^}]*\} [1-9]', metrics)
    log = (tmp_path / "gunicorn.log").read_text()
    assert "database unavailable; answered 503" in log
