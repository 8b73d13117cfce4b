"""A URLconf with an admin site that mixes the accounts admin helpers into plain ModelAdmins,
so the helpers are tested whatever the project's own admin modules register."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import include, path

from portal.accounts.admin_actions import (
    JobSeekerAccountAdminMixin,
    StaffAuthenticationForm,
    UserAccountAdminMixin,
)
from portal.jobseekers.models import JobSeeker

site = admin.AdminSite(name="admin")
site.login_form = StaffAuthenticationForm


class JobSeekerAdmin(JobSeekerAccountAdminMixin, admin.ModelAdmin):
    list_display = ("number", "name", "email", "status")


class UserAdmin(UserAccountAdminMixin, admin.ModelAdmin):
    fields = ("email", "is_active", "is_staff")


site.register(JobSeeker, JobSeekerAdmin)
site.register(get_user_model(), UserAdmin)

urlpatterns = [
    path("", include("portal.registration.urls")),
    path("", include("portal.accounts.urls")),
    path("staff/", site.urls),
]
