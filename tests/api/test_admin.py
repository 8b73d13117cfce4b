import pytest
from django.contrib.auth.models import Group

from portal.accounts.models import User
from portal.api.models import ApiClient, ApiToken
from portal.audit.models import AuditEvent
from tests.staff import staff_force_login

pytestmark = pytest.mark.django_db


def staff(email, group):
    user = User.objects.create_user(email, "Staff#pass1", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def test_administrator_issues_a_token_shown_once(client):
    staff_force_login(client, staff("admin@example.jp", "管理者"))
    system = ApiClient.objects.create(name="基幹システム")
    response = client.post(
        "/staff/api/apitoken/add/",
        {
            "client": system.pk,
            "scopes": ["register:read", "register:write"],
            "networks": "192.0.2.0/24\n2001:db8::/32",
        },
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    page = response.content.decode()
    start = page.index(f"mp_{token.token_id}_")
    plaintext = page[start : start + len(token.token_id) + 4 + 43]
    assert token.scopes == ["register:read", "register:write"]
    assert token.networks == ["192.0.2.0/24", "2001:db8::/32"]
    assert "no-store" in response["Cache-Control"]
    event = AuditEvent.objects.get(action="api.token_created")
    assert event.actor.email == "admin@example.jp"
    # Never shown again.
    change = client.get(f"/staff/api/apitoken/{token.pk}/change/").content.decode()
    assert plaintext not in change and token.token_id in change
    # Revoked by the admin action.
    client.post(
        "/staff/api/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_bad_network_is_refused(client):
    staff_force_login(client, staff("admin@example.jp", "管理者"))
    system = ApiClient.objects.create(name="基幹システム")
    response = client.post(
        "/staff/api/apitoken/add/",
        {"client": system.pk, "scopes": ["register:read"], "networks": "192.0.2.300/24"},
    )
    assert response.status_code == 200
    assert not ApiToken.objects.exists()
    assert "ネットワーク" in response.content.decode()


def test_counter_staff_cannot_see_clients_or_tokens(client):
    staff_force_login(client, staff("counter@example.jp", "窓口職員"))
    assert client.get("/staff/api/apitoken/").status_code == 403
    assert client.get("/staff/api/apitoken/add/").status_code == 403
    assert client.get("/staff/api/apiclient/").status_code == 403
