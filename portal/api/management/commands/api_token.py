import datetime as dt

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from portal.api.models import ApiClient, ApiToken
from portal.api.tokens import SCOPE_NAMES, api_token_create, api_token_revoke
from portal.core.clock import clock


class Command(BaseCommand):
    help = (
        "Integration API tokens (administrators): create one for a client system (shown once), "
        "revoke one by its id, or list them."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a token; the client is created if new")
        create.add_argument("--client", required=True, help="client system's name")
        create.add_argument(
            "--scope", action="append", required=True, choices=SCOPE_NAMES, help="repeatable"
        )
        create.add_argument("--network", action="append", default=[], help="CIDR; repeatable")
        create.add_argument("--expires-days", type=int, help="days until the token expires")
        revoke = sub.add_parser("revoke", help="revoke a token by its id (mp_<id>_…)")
        revoke.add_argument("token_id")
        listing = sub.add_parser("list", help="tokens, newest first")
        listing.add_argument("--client", help="only this client's tokens")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _create(self, *, client, scope, network, expires_days, **options):
        client_obj, _created = ApiClient.objects.get_or_create(name=client.strip())
        expires_at = None
        if expires_days is not None:
            if expires_days < 1:
                raise CommandError("--expires-days must be 1 or more")
            expires_at = clock.now() + dt.timedelta(days=expires_days)
        try:
            issued = api_token_create(
                client_obj,
                scopes=scope,
                networks=network,
                expires_at=expires_at,
                actor_label="manage.py api_token",
            )
        except ValidationError as exc:
            raise CommandError(" / ".join(exc.messages)) from None
        self.stderr.write("The token is shown only now; hand it to the client system securely.")
        self.stdout.write(issued.plaintext)

    def _revoke(self, *, token_id, **options):
        token_id = token_id.removeprefix("mp_").split("_", 1)[0]
        token = ApiToken.objects.select_related("client").filter(token_id=token_id).first()
        if token is None:
            raise CommandError(f"no token with id {token_id}")
        if api_token_revoke(token, actor_label="manage.py api_token"):
            self.stdout.write(f"revoked mp_{token_id}_…")
        else:
            self.stdout.write(f"mp_{token_id}_… was already revoked")

    def _list(self, *, client, **options):
        tokens = ApiToken.objects.select_related("client").order_by("client__name", "-created_at")
        if client:
            tokens = tokens.filter(client__name=client)
        now = clock.now()
        for token in tokens:
            if token.revoked_at is not None:
                state = "revoked"
            elif token.expires_at is not None and token.expires_at <= now:
                state = "expired"
            else:
                state = "active"
            self.stdout.write(
                "\t".join(
                    [
                        f"mp_{token.token_id}_…",
                        token.client.name,
                        state,
                        " ".join(token.scopes),
                        " ".join(token.networks) or "-",
                        token.expires_at.isoformat() if token.expires_at else "-",
                        token.last_used_at.isoformat() if token.last_used_at else "-",
                    ]
                )
            )
