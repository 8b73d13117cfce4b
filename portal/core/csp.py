"""django-csp's middleware with the header written once per process.

The service's policy is the same on every response (no nonces: there is no inline script,
and no view changes the policy), yet django-csp builds the header text anew for each response
from the settings. Here a response that carries no per-view policy of django-csp's
decorators, on a request that asked for no nonce, gets the header built once for the
settings' policy; anything else is django-csp's own path.
"""

from csp.constants import HEADER
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings

# django-csp's decorators leave these on a response for the middleware to apply.
_PER_VIEW = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)


class PortalCSPMiddleware(CSPMiddleware):
    _built: tuple[object, str] | None = None  # (the settings' policy object, its header)

    def _header(self) -> str:
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        built = PortalCSPMiddleware._built
        if built is None or built[0] is not policy:  # settings changed (tests): build again
            built = PortalCSPMiddleware._built = (policy, build_policy())
        return built[1]

    def process_response(self, request, response):
        if (
            settings.DEBUG  # django-csp leaves the debug error pages without a policy
            or getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
            or getattr(request, "_csp_nonce", None) is not None
            or any(hasattr(response, name) for name in _PER_VIEW)
        ):
            return super().process_response(request, response)
        header = self._header()
        prefixes = (getattr(settings, "CONTENT_SECURITY_POLICY", None) or {}).get(
            "EXCLUDE_URL_PREFIXES"
        ) or ()
        if header and HEADER not in response and not request.path_info.startswith(tuple(prefixes)):
            response[HEADER] = header
        # As django-csp does: a nonce asked for after the header was written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
