"""Reads of the registration app. Nothing here writes (docs/architecture.md, "Layers")."""

from portal.registration.flow import Purpose
from portal.registration.models import RegistrationFlow


def flow_get(
    flow_id: int | None, purpose: Purpose, *, with_key_mail: bool = False
) -> RegistrationFlow | None:
    """The flow a browser's session points at, as stored (an overdue one is ended by
    services.flow_end_if_expired). `with_key_mail`: its key mail read in the same query (③'s
    POST needs it)."""
    if flow_id is None:
        return None
    flows = RegistrationFlow.objects.filter(purpose=purpose)
    if with_key_mail:
        flows = flows.select_related("key_mail")
    return flows.filter(pk=flow_id).first()
