"""Test settings: the real settings module with a test environment, plus a fast hasher."""

import os

os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x7Kq9vLm2Pw4Rt6Yz8Nb3Cd5Fg1Hj0As" * 2)
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")

from config.settings import *  # noqa: F403

# Tests of hashing itself opt back into Argon2 with the settings fixture.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
# Serve static files from the apps' folders (no collectstatic before tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True

# One test database per test process, so that parallel runs on one PostgreSQL server never
# drop each other's database.
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": f"test_portal_{os.getpid()}"}  # noqa: F405

# Redis: a key prefix per test process, so parallel runs sharing one Redis database never
# empty each other's cache or sessions (tests/conftest.py deletes only this prefix).
if "KEY_PREFIX" not in CACHES["default"] and REDIS_URL:  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] = f"test{os.getpid()}"  # noqa: F405
