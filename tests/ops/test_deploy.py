"""Production configuration: `check --deploy` with production values, security headers and
cookie flags, whitenoise and gunicorn with the production settings."""

import re
from pathlib import Path

import httpx
import pytest
from django.urls import reverse

from tests.ops.procs import ROOT, copy_sqlite, gunicorn, manage, production_env
from tests.registration.journey import Journey


def test_check_deploy_passes_with_production_values(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"),
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_fails_on_an_unsafe_value(tmp_path):
    """The check is live: a production value turned off makes it fail."""
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env=production_env(
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", SESSION_COOKIE_SECURE="0"
        ),
        check=False,
    )
    assert result.returncode != 0
    assert "security.W012" in result.stderr


def test_check_deploy_fails_on_a_passkey_origin_outside_the_site(tmp_path):
    result = manage(
        "check",
        "--deploy",
        env=production_env(
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            WEBAUTHN_ORIGINS="https://mypage.example.go.jp,https://phish.example.com",
        ),
        check=False,
    )
    assert result.returncode != 0
    assert "passkeys.E004" in result.stderr and "passkeys.E005" in result.stderr


@pytest.mark.django_db
def test_security_headers_on_a_page(client):
    response = client.get(reverse("registration:terms"), secure=True)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in csp.split(";") if part.strip()
    )
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "includeSubDomains" in response["Strict-Transport-Security"]


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_httponly_samesite(client, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    page = client.get(reverse("registration:terms"), secure=True)
    csrf = page.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["secure"] and csrf["httponly"] and csrf["samesite"] == "Lax"
    Journey(client).agree()  # starts a flow: the session cookie is set
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
_INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
_INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.IGNORECASE)
_JS_URL = re.compile(r"javascript:", re.IGNORECASE)


def test_templates_have_no_inline_script_or_style():
    """The CSP forbids inline code; a template that needs it would break in browsers."""
    found = []
    for path in sorted((ROOT / "portal").rglob("templates/**/*.html")):
        text = path.read_text(encoding="utf-8")
        for pattern in (_INLINE_SCRIPT, _INLINE_HANDLER, _INLINE_STYLE, _JS_URL):
            found += [f"{path.relative_to(ROOT)}: {m.group(0)!r}" for m in pattern.finditer(text)]
    assert found == []


def test_gunicorn_serves_production_settings_and_static_files(tmp_path, migrated_sqlite):
    """gunicorn with config/gunicorn.conf.py, whitenoise serving what collectstatic wrote,
    HTTPS enforced behind a TLS proxy while the probes stay reachable over plain HTTP."""
    env = production_env(
        DATABASE_URL=copy_sqlite(migrated_sqlite, tmp_path), STATIC_ROOT=tmp_path / "static"
    )
    manage("collectstatic", "--noinput", env=env)
    with gunicorn(env, workers=2, log_path=tmp_path / "gunicorn.log") as base:
        https = {"X-Forwarded-Proto": "https", "Host": "mypage.example.go.jp"}
        plain = httpx.get(f"{base}/", headers={"Host": "mypage.example.go.jp"})
        assert plain.status_code == 301
        assert plain.headers["location"] == "https://mypage.example.go.jp/"
        assert httpx.get(f"{base}/readyz").status_code == 200  # exempt from the redirect

        page = httpx.get(f"{base}/register/", headers=https)
        assert page.status_code == 200
        assert (
            "max-age=31536000; includeSubDomains; preload"
            == page.headers["strict-transport-security"]
        )
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        cookie = page.headers["set-cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        css = re.search(r'href="(/static/portal/css/site\.[0-9a-f]{12}\.css)"', page.text)
        assert css, "the page links the hashed name collectstatic wrote"
        static = httpx.get(f"{base}{css.group(1)}", headers=https)
        assert static.status_code == 200
        assert "immutable" in static.headers["cache-control"]
        assert Path(tmp_path / "static" / css.group(1).removeprefix("/static/")).exists()


@pytest.mark.parametrize(
    "weak",
    [
        {"ARGON2_TIME_COST": "1"},
        {"ARGON2_MEMORY_COST_KIB": "8192"},
        {"ARGON2_PARALLELISM": "0"},
    ],
)
def test_argon2_below_the_owasp_minimum_is_refused_at_start(tmp_path, weak):
    result = manage(
        "check",
        env=production_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **weak),
        check=False,
    )
    assert result.returncode != 0
    assert "Argon2id below OWASP's minimum" in result.stderr
