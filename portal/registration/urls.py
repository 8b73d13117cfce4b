from django.urls import path

from portal.registration import views

app_name = "registration"

urlpatterns = [
    path("", views.top, name="top"),
    path("terms/<str:name>/", views.terms_document, name="terms_document"),
    path("register/", views.terms, name="terms"),
    path("register/identity/", views.identity, name="identity"),
    path("register/password/", views.password, name="password"),
    path("register/password/resend/", views.resend, name="resend"),
    path("register/password/change-address/", views.change_address, name="change_address"),
    path("register/done/", views.done, name="done"),
    path("password-reset/", views.reset_start, name="reset_start"),
    path("password-reset/password/", views.reset_password, name="reset_password"),
    path("password-reset/password/resend/", views.reset_resend, name="reset_resend"),
    path(
        "password-reset/password/change-address/",
        views.reset_change_address,
        name="reset_change_address",
    ),
    path("password-reset/done/", views.reset_done, name="reset_done"),
]
