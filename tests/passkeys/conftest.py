import pytest
from django.urls import reverse

from tests.accounts.conftest import account, logged_in, make_account, no_otp  # noqa: F401
from tests.passkeys.authenticator import ORIGIN, RP_ID


@pytest.fixture(autouse=True)
def _relying_party(settings):
    settings.WEBAUTHN_RP_ID = RP_ID
    settings.WEBAUTHN_ORIGINS = [ORIGIN]


def add_options(client) -> dict:
    response = client.post(reverse("passkeys:add_options"))
    assert response.status_code == 200, response.content
    return response.json()["publicKey"]


def add_passkey(client, authenticator, *, name: str = "", **answer):
    credential = authenticator.register(add_options(client), **answer)
    return client.post(reverse("passkeys:add"), {"name": name, "credential": credential})


def login_options(client) -> dict:
    response = client.post(reverse("passkeys:login_options"))
    assert response.status_code == 200
    return response.json()["publicKey"]


def passkey_login(client, authenticator, *, follow: bool = False, **answer):
    credential = authenticator.assertion(login_options(client), **answer)
    return client.post(reverse("passkeys:login"), {"credential": credential}, follow=follow)


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
