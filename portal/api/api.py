"""The integration API, /api/v1/: OpenAPI 3.1 at /api/v1/openapi.json; the schema and the
interactive docs only for signed-in staff (clients authenticate with bearer tokens)."""

from django.contrib import admin
from ninja import NinjaAPI

from portal.api import problems
from portal.api.views import router


class PortalApi(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        """Error responses are documented as application/problem+json, which they are."""
        schema = super().get_openapi_schema(*args, **kwargs)
        for path in schema["paths"].values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content[problems.MEDIA_TYPE] = content.pop("application/json")
                    if int(status) == 429:
                        response["headers"] = {
                            "Retry-After": {"schema": {"type": "integer", "minimum": 1}}
                        }
        return schema


def staff_only(view):
    """The staff admin's own gate: a staff member who passed the whole staff login (the second
    factor included); anyone else is sent to the staff login."""
    return admin.site.admin_view(view)


api = PortalApi(
    title="Job seeker My Page integration API",
    version="1",
    urls_namespace="api-v1",
    docs_decorator=staff_only,
)
problems.install(api)
api.add_router("", router)
