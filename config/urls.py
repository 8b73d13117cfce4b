from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "求職者マイページ 窓口管理"
admin.site.site_title = "窓口管理"
admin.site.index_title = "窓口業務"

urlpatterns = [
    path("staff/", admin.site.urls),
]
