"""The one settings module. Every value comes from the environment; defaults are the embedded
demo-safe choices (SQLite under var/, database cache), and production safety comes from values,
not from a separate code path."""

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

_INSECURE_PREFIX = "django-insecure-"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not DEBUG and (
    len(SECRET_KEY) < 50 or SECRET_KEY.startswith(_INSECURE_PREFIX) or len(set(SECRET_KEY)) < 5
):
    raise ImproperlyConfigured(
        "SECRET_KEY is missing or weak. Set SECRET_KEY to a random value of at least 50 "
        "characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(64))'. "
        "For a local demo use the README's demo command, which sets DEBUG=1."
    )
if not SECRET_KEY:
    SECRET_KEY = _INSECURE_PREFIX + "demo-only-key-never-used-with-debug-off-0123456789"

# Key used to encrypt auth keys held in the mail outbox until the worker sends them.
# Defaults to a key derived from SECRET_KEY; set separately to rotate it independently.
MAIL_ENCRYPTION_KEY = env.str("MAIL_ENCRYPTION_KEY", default="")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # The staff admin: Django's admin with the staff login's second factor (portal.accounts.sites).
    "portal.accounts.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "portal.core",
    "portal.audit",
    "portal.accounts",
    "portal.jobseekers",
    "portal.mail",
    "portal.registration",
    "portal.ops",
    "portal.passkeys",
    "portal.counter",
    "portal.api",
    # django-ninja's API docs then come from our own static files, which the CSP allows.
    "ninja",
]

MIDDLEWARE = [
    "portal.ops.middleware.ObservabilityMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "portal.accounts.middleware.StaffNetworkMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.accounts.middleware.IdleTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
# Django's renderer with the portal's field template (portal/core/templates/forms/field.html).
FORM_RENDERER = "portal.core.forms.FormRenderer"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.core.context_processors.site",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue on the busy timeout instead of failing with 'database is locked'.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    # Persistent connections, checked (SELECT 1) before their first use in each request, so a
    # connection the server ended is replaced instead of failing the request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: Redis when configured, else the database (shared across processes) -----------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
    # Sessions in the database, read through the cache: an entry the cache evicts is read
    # from the database again, so a full cache never ends a registration or a login.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "portal_cache",
            # Django's default (300 entries) would cull live rate-limit counters under load.
            "OPTIONS": {"MAX_ENTRIES": env.int("DATABASE_CACHE_MAX_ENTRIES", default=200_000)},
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = ["portal.accounts.hashers.TunedArgon2PasswordHasher"]
# Argon2id: RFC 9106's second recommended setting (64 MiB, 3 passes), one lane; see README
# "Password hashing" for why, and for the cost.
ARGON2_TIME_COST = env.int("ARGON2_TIME_COST", default=3)
ARGON2_MEMORY_COST_KIB = env.int("ARGON2_MEMORY_COST_KIB", default=65536)
ARGON2_PARALLELISM = env.int("ARGON2_PARALLELISM", default=1)
if ARGON2_TIME_COST < 2 or ARGON2_MEMORY_COST_KIB < 19456 or ARGON2_PARALLELISM < 1:
    raise ImproperlyConfigured(
        "Argon2id below OWASP's minimum: set ARGON2_TIME_COST to 2 or more, "
        "ARGON2_MEMORY_COST_KIB to 19456 or more and ARGON2_PARALLELISM to 1 or more."
    )
LOGIN_URL = "accounts:login"

# Password policy (docs/architecture.md, "Password policy"), each a setting.
PASSWORD_MIN_LENGTH = env.int("PASSWORD_MIN_LENGTH", default=8)
PASSWORD_MAX_LENGTH = env.int("PASSWORD_MAX_LENGTH", default=32)
PASSWORD_REQUIRE_DIGIT = env.bool("PASSWORD_REQUIRE_DIGIT", default=True)
PASSWORD_REQUIRE_LETTER = env.bool("PASSWORD_REQUIRE_LETTER", default=True)
PASSWORD_REQUIRE_SYMBOL = env.bool("PASSWORD_REQUIRE_SYMBOL", default=True)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "portal.accounts.password_rules.AsciiCompositionValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "portal.accounts.password_rules.EmailLocalPartValidator"},
]

# Login lockout (docs/architecture.md, "Login").
LOGIN_FAILURES_PER_ACCOUNT_AND_IP = env.int("LOGIN_FAILURES_PER_ACCOUNT_AND_IP", default=5)
LOGIN_FAILURES_PER_ACCOUNT = env.int("LOGIN_FAILURES_PER_ACCOUNT", default=20)
LOGIN_LOCK_MINUTES = env.int("LOGIN_LOCK_MINUTES", default=30)

# --- Registration flow (docs/architecture.md) -----------------------------------------------
AUTH_KEY_DIGITS = env.int("AUTH_KEY_DIGITS", default=8)
AUTH_KEY_LIFETIME_MINUTES = env.int("AUTH_KEY_LIFETIME_MINUTES", default=50)
FLOW_MAX_LIFETIME_MINUTES = env.int("FLOW_MAX_LIFETIME_MINUTES", default=120)
FLOW_MAX_WRONG_KEYS = env.int("FLOW_MAX_WRONG_KEYS", default=5)
FLOW_RESEND_COOLDOWN_SECONDS = env.int("FLOW_RESEND_COOLDOWN_SECONDS", default=60)
FLOW_MAX_RESENDS = env.int("FLOW_MAX_RESENDS", default=3)
MAILS_PER_ADDRESS_PER_DAY = env.int("MAILS_PER_ADDRESS_PER_DAY", default=5)
# Mails only someone who knows the password can cause (login one-time passwords, capped per
# account and hour instead) neither count toward nor are refused by the per-address cap.
MAIL_CAP_EXEMPT_KINDS = env.list("MAIL_CAP_EXEMPT_KINDS", default=["login_otp"])
IDENTITY_SUBMISSIONS_PER_IP_PER_HOUR = env.int("IDENTITY_SUBMISSIONS_PER_IP_PER_HOUR", default=300)
FLOW_STARTS_PER_IP_PER_HOUR = env.int("FLOW_STARTS_PER_IP_PER_HOUR", default=300)
IDENTITY_SUBMISSIONS_PER_ADDRESS_PER_HOUR = env.int(
    "IDENTITY_SUBMISSIONS_PER_ADDRESS_PER_HOUR", default=10
)
TERMS_DIR = Path(env.str("TERMS_DIR", default=str(BASE_DIR / "portal" / "registration" / "terms")))

# Client IP: only these proxy addresses may set X-Forwarded-For.
# Integration API (portal.api). Token digests are HMAC-SHA256 under API_TOKEN_KEY, which
# defaults to a key derived from SECRET_KEY; changing it invalidates every token.
API_TOKEN_KEY = env.str("API_TOKEN_KEY", default="")
API_AUTH_FAILURES_PER_IP_PER_HOUR = env.int("API_AUTH_FAILURES_PER_IP_PER_HOUR", default=30)
API_REQUESTS_PER_TOKEN_PER_MINUTE = env.int("API_REQUESTS_PER_TOKEN_PER_MINUTE", default=6000)
API_BATCH_MAX_ROWS = env.int("API_BATCH_MAX_ROWS", default=1000)
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)
API_EMAIL_CHANGES_PER_CLIENT_PER_DAY = env.int("API_EMAIL_CHANGES_PER_CLIENT_PER_DAY", default=50)
API_FEED_RETENTION_DAYS = env.int("API_FEED_RETENTION_DAYS", default=90)

TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# --- Mail -------------------------------------------------------------------------------------
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env.str("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=1025)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
MAIL_SENDER = env.str("MAIL_SENDER", default="system@mail.mypage.example.jp")
DEFAULT_FROM_EMAIL = MAIL_SENDER
MAIL_MAX_ATTEMPTS = env.int("MAIL_MAX_ATTEMPTS", default=8)
MAIL_RETRY_BASE_SECONDS = env.int("MAIL_RETRY_BASE_SECONDS", default=30)
MAIL_LEASE_SECONDS = env.int("MAIL_LEASE_SECONDS", default=120)
# A running mail worker renews its heartbeat this often; after three missed heartbeats it counts
# as dead, and other workers take over its mails without waiting out MAIL_LEASE_SECONDS.
MAIL_WORKER_HEARTBEAT_SECONDS = env.int("MAIL_WORKER_HEARTBEAT_SECONDS", default=5)
# Demo only: the local SMTP sink and the mailbox page. Refused unless DEBUG is on.
DEMO_MAILBOX = env.bool("DEMO_MAILBOX", default=False)
if DEMO_MAILBOX and not DEBUG:
    raise ImproperlyConfigured("DEMO_MAILBOX needs DEBUG=1; it must never run in production.")
DEMO_MAILBOX_DIR = VAR_DIR / "mailbox"

# CSV upload in the staff admin: larger files are refused. The worker (deliver_mail) imports
# the file from CSV_UPLOAD_DIR, which the web servers and the worker must share.
CSV_UPLOAD_MAX_MB = env.int("CSV_UPLOAD_MAX_MB", default=200)
CSV_UPLOAD_DIR = Path(env.str("CSV_UPLOAD_DIR", default=str(VAR_DIR / "uploads")))
# A running import renews its heartbeat at each batch; silent this long, another worker redoes it.
CSV_IMPORT_STALE_SECONDS = env.int("CSV_IMPORT_STALE_SECONDS", default=600)
# The address printed on the 「マイページ開設のご案内」 sheet; empty: the address the staff page was
# opened at.
SERVICE_URL = env.str("SERVICE_URL", default="")

SITE_NAME = env.str("SITE_NAME", default="ハローワーク インターネットサービス（サンプル）")
OFFICE_CONTACT = env.str(
    "OFFICE_CONTACT", default="求職申込みをしたハローワークの窓口にお問い合わせください。"
)
# The same texts in English (portal.core.site.site_text picks them by language); empty falls
# back to the Japanese ones. Another language adds SITE_NAME_<CODE> and OFFICE_CONTACT_<CODE>.
SITE_NAME_EN = env.str("SITE_NAME_EN", default="Hello Work Internet Service (sample)")
OFFICE_CONTACT_EN = env.str(
    "OFFICE_CONTACT_EN",
    default="Please ask at the Hello Work counter where you applied for a job.",
)

# --- Sessions and security headers -----------------------------------------------------------
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=3 * 60 * 60)
SESSION_IDLE_MINUTES = env.int("SESSION_IDLE_MINUTES", default=30)
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
CSRF_FAILURE_VIEW = "portal.core.views.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_DEFAULTS = not DEBUG
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=SECURE_DEFAULTS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SECURE_DEFAULTS)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SECURE_DEFAULTS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if SECURE_DEFAULTS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env.bool("BEHIND_TLS_PROXY", default=False) else None
)
X_FRAME_OPTIONS = "DENY"

# --- I18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "portal" / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "mail.log": {"level": "WARNING"},  # aiosmtpd (demo sink, tests): one line per SMTP step
    },
}

# --- Login, one-time password and My Page (accounts) ---
# Lockout counters are in the database; the admin login shares them through this backend.
AUTHENTICATION_BACKENDS = ["portal.accounts.backends.LockoutModelBackend"]
# Login attempts per client IP and hour, whatever the ID (password spraying); generous, as an
# office's counter terminals share one address.
LOGIN_ATTEMPTS_PER_IP_PER_HOUR = env.int("LOGIN_ATTEMPTS_PER_IP_PER_HOUR", default=300)
LOGIN_FAILURE_WINDOW_MINUTES = env.int("LOGIN_FAILURE_WINDOW_MINUTES", default=24 * 60)
LOGIN_HISTORY_SIZE = env.int("LOGIN_HISTORY_SIZE", default=20)
# The one-time password mailed after ID + password (on by default).
LOGIN_OTP_ENABLED = env.bool("LOGIN_OTP_ENABLED", default=True)
LOGIN_OTP_DIGITS = env.int("LOGIN_OTP_DIGITS", default=6)
LOGIN_OTP_LIFETIME_MINUTES = env.int("LOGIN_OTP_LIFETIME_MINUTES", default=10)
LOGIN_OTP_MAX_WRONG = env.int("LOGIN_OTP_MAX_WRONG", default=5)
LOGIN_OTP_RESEND_COOLDOWN_SECONDS = env.int("LOGIN_OTP_RESEND_COOLDOWN_SECONDS", default=60)
LOGIN_OTP_MAILS_PER_HOUR = env.int("LOGIN_OTP_MAILS_PER_HOUR", default=5)
# 「次回から一定期間ワンタイムパスワードの入力を省略する」: a signed, HttpOnly cookie.
TRUSTED_BROWSER_DAYS = env.int("TRUSTED_BROWSER_DAYS", default=30)
TRUSTED_BROWSER_COOKIE_NAME = env.str("TRUSTED_BROWSER_COOKIE_NAME", default="mypage_trusted")

# --- The staff admin (/staff/) ---
# The one-time password after the staff password (on by default; never skipped by a cookie).
STAFF_LOGIN_OTP_ENABLED = env.bool("STAFF_LOGIN_OTP_ENABLED", default=True)
# Networks the staff admin answers from (client IP as portal.core.client_ip sees it); empty =
# anywhere. Any other address gets a 404.
STAFF_ALLOWED_NETWORKS = env.list("STAFF_ALLOWED_NETWORKS", default=[])
for _network in STAFF_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"STAFF_ALLOWED_NETWORKS: {_network!r} is not a network"
        ) from _exc
# Whom a staff member asks when the one-time password cannot be mailed (shown on the login).
STAFF_SUPPORT_CONTACT = env.str(
    "STAFF_SUPPORT_CONTACT",
    default="システム管理者に連絡し、コンソールでのログインの復旧を依頼してください。",
)

# Passkeys (WebAuthn). The relying party ID is a host name, never an IP address; every allowed
# origin's host must be it or one of its subdomains, and be in ALLOWED_HOSTS (a system check
# refuses anything else).
WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default="localhost")
WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default=SITE_NAME)
WEBAUTHN_ORIGINS = env.list("WEBAUTHN_ORIGINS", default=["http://localhost:8000"])
# How long a passkey request (its challenge) may take, and how recent a login must be to add one.
WEBAUTHN_CHALLENGE_SECONDS = env.int("WEBAUTHN_CHALLENGE_SECONDS", default=300)
PASSKEY_RECENT_LOGIN_MINUTES = env.int("PASSKEY_RECENT_LOGIN_MINUTES", default=5)
PASSKEYS_PER_ACCOUNT = env.int("PASSKEYS_PER_ACCOUNT", default=10)

# --- Operations (health, metrics, CSP, logging) ---
from csp.constants import NONE, SELF  # noqa: E402

# Content Security Policy (django-csp 4): scripts and styles only from our own files, never
# inline; no plugins, no <base>, forms post only here, and no framing by anyone.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Load balancers probe over plain HTTP; the probes and the scrape are never redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# collectstatic writes here; whitenoise serves it with far-future caching of hashed names.
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(STATIC_ROOT)))
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # An unreachable database fails a request (and /readyz) in seconds, not minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )

# JSON logs: every record carries the request id (X-Request-ID, echoed in the response);
# one access-log line per request from portal.ops.middleware (no query string, no body).
LOGGING["filters"] = {"request_id": {"()": "portal.ops.request_id.RequestIdFilter"}}
LOGGING["handlers"]["console"]["filters"] = ["request_id"]
# "timestamp": ISO 8601 in UTC, the same in every process whatever TIME_ZONE says.
LOGGING["formatters"]["json"].update(
    fmt="%(levelname)s %(name)s %(request_id)s %(message)s", timestamp=True
)
ACCESS_LOG = env.bool("ACCESS_LOG", default=True)

# /metrics: for a bearer token and/or from these addresses (loopback only by default).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1/32", "::1/128"])

# Retention for `manage.py purge`, in days (0 keeps forever).
RETENTION_FLOWS_DAYS = env.int("RETENTION_FLOWS_DAYS", default=30)
RETENTION_MAIL_BODIES_DAYS = env.int("RETENTION_MAIL_BODIES_DAYS", default=7)
RETENTION_AUDIT_EVENTS_DAYS = env.int("RETENTION_AUDIT_EVENTS_DAYS", default=3 * 365)
RETENTION_LOGIN_EVENTS_DAYS = env.int("RETENTION_LOGIN_EVENTS_DAYS", default=365)
