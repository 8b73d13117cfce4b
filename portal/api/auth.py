"""Bearer-token authentication with scopes and the API's rate limits. Failed authentications
count against the client IP; each token has its own limit. Both answer 429 with Retry-After."""

from django.conf import settings
from ninja.security import HttpBearer

from portal.api.problems import ApiProblem
from portal.api.tokens import api_token_authenticate
from portal.core.clock import clock
from portal.core.origin import request_origin
from portal.core.ratelimit import Limit, rate_limits_exceeded


def retry_after(window_seconds: int) -> str:
    elapsed = int(clock.now().timestamp()) % window_seconds
    return str(max(1, window_seconds - elapsed))


def _refuse_if_over(limit: Limit) -> None:
    if rate_limits_exceeded(limit)[0]:
        raise ApiProblem(
            429, "rate-limited", headers={"Retry-After": retry_after(limit.window_seconds)}
        )


class TokenAuth(HttpBearer):
    """Authenticates `Authorization: Bearer mp_<id>_<secret>`, then checks the scope."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope

    def __call__(self, request):
        # Unlike HttpBearer's, a request without the header counts as a failure too.
        scheme, _space, presented = request.headers.get("Authorization", "").partition(" ")
        return self.authenticate(request, presented.strip() if scheme.lower() == "bearer" else "")

    def authenticate(self, request, token):
        origin = request_origin(request)
        token = api_token_authenticate(token, origin=origin) if token else None
        if token is None:
            _refuse_if_over(
                Limit(
                    "api-auth-failure",
                    origin.ip_key,
                    settings.API_AUTH_FAILURES_PER_IP_PER_HOUR,
                    3600,
                )
            )
            return None  # ninja answers 401
        _refuse_if_over(
            Limit("api-token", token.token_id, settings.API_REQUESTS_PER_TOKEN_PER_MINUTE, 60)
        )
        if self.scope not in token.scopes:
            raise ApiProblem(403, "forbidden", f"This operation needs the scope {self.scope}.")
        return token
