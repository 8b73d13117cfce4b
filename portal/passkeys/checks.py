"""Start-up check of the passkey settings: a wrong relying party or origin would make every
passkey fail, or accept assertions made for another site."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, register
from django.http.request import validate_host


def _host_matches_rp_id(host: str, rp_id: str) -> bool:
    return host == rp_id or host.endswith("." + rp_id)


@register()
def passkey_settings_check(app_configs=None, **kwargs):
    errors = []
    rp_id = settings.WEBAUTHN_RP_ID.strip().lower()
    if not rp_id or rp_id.replace(".", "").isdigit() or ":" in rp_id:
        errors.append(
            Error(
                f"WEBAUTHN_RP_ID {settings.WEBAUTHN_RP_ID!r} is not a host name "
                "(WebAuthn refuses IP addresses; the demo uses localhost).",
                id="passkeys.E001",
            )
        )
    if not settings.WEBAUTHN_ORIGINS:
        errors.append(Error("WEBAUTHN_ORIGINS is empty.", id="passkeys.E002"))
    for origin in settings.WEBAUTHN_ORIGINS:
        parts = urlsplit(origin)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("https", "http") or not host or parts.path not in ("", "/"):
            errors.append(
                Error(
                    f"WEBAUTHN_ORIGINS: {origin!r} is not an origin (scheme://host[:port]).",
                    id="passkeys.E003",
                )
            )
            continue
        if not _host_matches_rp_id(host, rp_id):
            errors.append(
                Error(
                    f"WEBAUTHN_ORIGINS: the host of {origin!r} is neither WEBAUTHN_RP_ID "
                    f"({rp_id!r}) nor one of its subdomains.",
                    id="passkeys.E004",
                )
            )
        if not validate_host(host, settings.ALLOWED_HOSTS):
            errors.append(
                Error(
                    f"WEBAUTHN_ORIGINS: the host of {origin!r} is not in ALLOWED_HOSTS.",
                    id="passkeys.E005",
                )
            )
        if parts.scheme == "http" and host != "localhost" and not host.endswith(".localhost"):
            errors.append(
                Error(
                    f"WEBAUTHN_ORIGINS: {origin!r} is plain HTTP; browsers allow passkeys "
                    "only over HTTPS (or on localhost).",
                    id="passkeys.E006",
                )
            )
    return errors
