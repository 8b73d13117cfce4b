"""A failed form submission answered POST → redirect → GET, so that the browser's back button
only ever meets GET pages and never asks to send a form again (ERR_CACHE_MISS).

What the GET shows is kept in the session for exactly one request: the errors and the inputs
the view names as safe to keep (an address, a birth date), never a password or a key."""

from django.shortcuts import redirect

_PREFIX = "form_state:"


def _session_key(request) -> str:
    return _PREFIX + request.path


def form_state_keep(request, form, *, keep=(), extra: dict | None = None):
    """Keeps `form`'s errors, the inputs named in `keep` and `extra` (plain values) for the
    next GET of this page, and redirects there."""
    request.session[_session_key(request)] = {
        "data": {name: form.data.get(name, "") for name in keep},
        "errors": {
            field: [error["message"] for error in errors]
            for field, errors in form.errors.get_json_data().items()
        },
        "extra": extra or {},
    }
    return redirect(request.get_full_path())


def form_state_restore(request, form) -> dict:
    """Puts the kept inputs and errors of the failed submission this GET follows back on the
    (unbound) `form`, and returns the kept extras ({} when this GET follows no failure)."""
    state = request.session.pop(_session_key(request), None)
    if not state:
        return {}
    form.initial.update(state["data"])
    form.cleaned_data = {}  # add_error expects it; an unbound form has none
    for field, messages in state["errors"].items():
        for message in messages:
            form.add_error(None if field == "__all__" else field, message)
    return state["extra"]
