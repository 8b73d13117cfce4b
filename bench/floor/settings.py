"""The product's settings with one change: the bench URLconf, which adds a bare view (the
floor) in front of the product's URLs. Everything else — middleware, sessions, cache, database,
logging — is what production runs with the same environment."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor.urls"
