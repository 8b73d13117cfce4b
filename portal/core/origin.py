"""Where a request comes from: the client's address and its user agent, built once per request
(docs/architecture.md, "Request origin")."""

USER_AGENT_MAX = 300


def request_user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]


def ip_or_none(ip: str | None) -> str | None:
    return ip or None
