"""Django's test client, loading like a browser the page that a failed form submission
redirects back to (POST → redirect → GET with the form's state, portal/core/form_state.py).
Other redirects are left to the test, as with Django's client."""

from urllib.parse import urlsplit

from django.test import Client


class BrowserClient(Client):
    def post(self, path, *args, **kwargs):
        response = super().post(path, *args, **kwargs)
        if (
            response.status_code == 302
            and not kwargs.get("follow")
            and urlsplit(response.url).path == urlsplit(str(path)).path
            and f"form_state:{urlsplit(response.url).path}" in self.session
        ):
            page = self.get(response.url)
            page.redirected_from = response  # the POST's own answer
            page.url = response.url  # where the browser ended up
            return page
        return response
