from django.urls import path

from portal.passkeys import staff_views as views

app_name = "staff_passkeys"

urlpatterns = [
    path("login/passkey/", views.login_view, name="login"),
    path("login/passkey/options/", views.login_options_view, name="login_options"),
    path("passkeys/", views.list_view, name="list"),
    path("passkeys/reauth/", views.reauth_password_view, name="reauth_password"),
    path("passkeys/add/", views.add_view, name="add"),
    path("passkeys/add/options/", views.add_options_view, name="add_options"),
    path("passkeys/<int:passkey_id>/rename/", views.rename_view, name="rename"),
    path("passkeys/<int:passkey_id>/remove/", views.remove_view, name="remove"),
]
