from django.urls import path

from portal.passkeys import views

app_name = "passkeys"

urlpatterns = [
    path("login/passkey/", views.login_view, name="login"),
    path("login/passkey/options/", views.login_options_view, name="login_options"),
    path("mypage/passkeys/", views.passkeys_view, name="list"),
    path("mypage/passkeys/reauth/", views.reauth_password_view, name="reauth_password"),
    path("mypage/passkeys/reauth/passkey/", views.reauth_passkey_view, name="reauth_passkey"),
    path("mypage/passkeys/reauth/options/", views.reauth_options_view, name="reauth_options"),
    path("mypage/passkeys/add/", views.add_view, name="add"),
    path("mypage/passkeys/add/options/", views.add_options_view, name="add_options"),
    path("mypage/passkeys/<int:passkey_id>/rename/", views.rename_view, name="rename"),
    path("mypage/passkeys/<int:passkey_id>/remove/", views.remove_view, name="remove"),
]
