"""Bench-only URLs: the floor view, then every product URL unchanged."""

from django.http import HttpResponse
from django.urls import include, path


def bare(request):
    """The least a Django view can do: the whole middleware stack, no template, no query."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("bench/bare", bare, name="bench_bare"),
    path("", include("config.urls")),
]
