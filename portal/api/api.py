"""The integration API, /api/v1/: OpenAPI 3.1 at /api/v1/openapi.json; the schema and the
interactive docs only for signed-in staff (clients authenticate with bearer tokens)."""

from django.contrib.admin.views.decorators import staff_member_required
from ninja import NinjaAPI

from portal.api import problems
from portal.api.views import router

api = NinjaAPI(
    title="求職者マイページ 連携API",
    version="1",
    urls_namespace="api-v1",
    docs_decorator=staff_member_required,
)
problems.install(api)
api.add_router("", router)
