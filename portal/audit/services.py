from portal.audit.models import AuditEvent
from portal.core.clock import clock
from portal.core.origin import NO_REQUEST, RequestOrigin

# Keys that must never reach the audit log, whatever a caller passes.
_FORBIDDEN_DETAIL_KEYS = {"password", "password1", "password2", "key", "auth_key", "otp", "hash"}


def audit_event_build(
    action: str,
    *,
    actor=None,
    actor_label: str = "",
    target_type: str = "",
    target_id: str = "",
    origin: RequestOrigin = NO_REQUEST,
    detail: dict | None = None,
) -> AuditEvent:
    detail = {k: v for k, v in (detail or {}).items() if k not in _FORBIDDEN_DETAIL_KEYS}
    if actor is not None and not actor_label:
        actor_label = str(actor)
    return AuditEvent(
        created_at=clock.now(),
        actor=actor,
        actor_label=actor_label[:150],
        action=action,
        target_type=target_type,
        target_id=str(target_id)[:64],
        ip=origin.ip,
        detail=detail,
    )


def audit_event_record(action: str, **kwargs) -> AuditEvent:
    event = audit_event_build(action, **kwargs)
    event.save()
    return event
