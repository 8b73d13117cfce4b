from django.shortcuts import render


def csrf_failure(request, reason=""):
    """A Japanese page for a rejected form (expired page, back button, cookies off)."""
    return render(request, "403_csrf.html", status=403)
