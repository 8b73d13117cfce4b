"""Where a request comes from: the client's address and its user agent, built once per request
by `request_origin` and passed to the services as one argument, `origin=` (docs/architecture.md,
"Request origin"). Work done without a request (commands, the worker) passes NO_REQUEST."""

from dataclasses import dataclass

from portal.core.client_ip import client_ip

USER_AGENT_MAX = 300
_ATTRIBUTE = "_portal_origin"


@dataclass(frozen=True)
class RequestOrigin:
    ip: str | None = None  # a canonical address (portal.core.client_ip), or None
    user_agent: str = ""

    def __post_init__(self) -> None:
        # Stored as the columns take them: no empty address, a bounded user agent.
        object.__setattr__(self, "ip", self.ip or None)
        object.__setattr__(self, "user_agent", (self.user_agent or "")[:USER_AGENT_MAX])

    @property
    def ip_key(self) -> str:
        """The address as a counter or rate-limit key ("" when there is none)."""
        return self.ip or ""


NO_REQUEST = RequestOrigin()


def request_origin(request) -> RequestOrigin:
    """The request's origin, made on first use and kept on the request."""
    origin = getattr(request, _ATTRIBUTE, None)
    if origin is None:
        origin = RequestOrigin(
            ip=client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", "")
        )
        setattr(request, _ATTRIBUTE, origin)
    return origin
