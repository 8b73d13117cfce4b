"""API tokens: `mp_<token_id>_<secret>`, the secret 256 random bits. The database keeps the
HMAC-SHA256 of the secret under settings.API_TOKEN_KEY (a fast keyed hash: the secret is
random, so a password hasher would only cost time); a presented token is found by its id and
compared with hmac.compare_digest. The whole token is returned once, at creation."""

import datetime as dt
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from portal.api.models import SCOPES, ApiClient, ApiToken
from portal.audit.services import audit_event_record
from portal.core.clock import clock
from portal.core.origin import RequestOrigin

SCOPE_NAMES = tuple(name for name, _label in SCOPES)
_TOKEN_RE = re.compile(r"^mp_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
# Last use is written at most this often per token, so reads do not each write a row.
_LAST_USE_GRANULARITY = dt.timedelta(minutes=1)


def _key() -> bytes:
    key = settings.API_TOKEN_KEY or ("api-token:" + settings.SECRET_KEY)
    return key.encode()


def token_digest(secret: str) -> str:
    return hmac.new(_key(), secret.encode(), hashlib.sha256).hexdigest()


def parse_networks(values) -> list[str]:
    """CIDR networks in canonical form; raises ValidationError on one that is not."""
    networks = []
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        try:
            networks.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise ValidationError(
                _("「%(value)s」はネットワーク（CIDR）ではありません。") % {"value": text[:50]}
            ) from None
    return networks


def parse_scopes(values) -> list[str]:
    scopes = []
    for value in values:
        if value not in SCOPE_NAMES:
            raise ValidationError(
                _("「%(value)s」はスコープではありません。") % {"value": str(value)[:50]}
            )
        if value not in scopes:
            scopes.append(value)
    if not scopes:
        raise ValidationError(_("スコープを1つ以上指定してください。"))
    return scopes


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str  # shown once; never stored, never logged


def api_token_create(
    client: ApiClient,
    *,
    scopes,
    networks=(),
    expires_at: dt.datetime | None = None,
    actor=None,
    actor_label: str = "",
) -> IssuedToken:
    scopes = parse_scopes(scopes)
    networks = parse_networks(networks)
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)  # 32 bytes = 256 bits
    with transaction.atomic():
        token = ApiToken.objects.create(
            client=client,
            token_id=token_id,
            digest=token_digest(secret),
            scopes=scopes,
            networks=networks,
            expires_at=expires_at,
            created_at=clock.now(),
        )
        audit_event_record(
            "api.token_created",
            actor=actor,
            actor_label=actor_label,
            target_type="api_token",
            target_id=token_id,
            detail={"client": client.name, "scopes": scopes, "networks": networks},
        )
    return IssuedToken(token, f"mp_{token_id}_{secret}")


def api_token_revoke(token: ApiToken, *, actor=None, actor_label: str = "") -> bool:
    """Revokes the token; False when it already was."""
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=clock.now()
        )
        if updated:
            audit_event_record(
                "api.token_revoked",
                actor=actor,
                actor_label=actor_label,
                target_type="api_token",
                target_id=token.token_id,
                detail={"client": token.client.name},
            )
    token.refresh_from_db(fields=["revoked_at"])
    return bool(updated)


def _network_allows(token: ApiToken, client: str) -> bool:
    if not token.networks:
        return True
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in token.networks)


def api_token_authenticate(presented: str, *, origin: RequestOrigin) -> ApiToken | None:
    """The live token `presented` names, allowed from the request's address, or None. Records
    its last use."""
    ip = origin.ip_key
    match = _TOKEN_RE.match(presented or "")
    if match is None:
        return None
    token_id, secret = match.groups()
    token = ApiToken.objects.select_related("client").filter(token_id=token_id).first()
    digest = token_digest(secret)
    # Compared even when no token has the id, so both cases take the same time.
    expected = token.digest if token is not None else "0" * 64
    if not hmac.compare_digest(digest, expected) or token is None:
        return None
    now = clock.now()
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now):
        return None
    if not _network_allows(token, ip):
        return None
    if (
        token.last_used_at is None
        or now - token.last_used_at >= _LAST_USE_GRANULARITY
        or token.last_used_ip != ip
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
        token.last_used_at, token.last_used_ip = now, ip
    return token
