from django.urls import path

from portal.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/otp/", views.otp_view, name="otp"),
    path("login/otp/resend/", views.otp_resend_view, name="otp_resend"),
    path("logout/", views.logout_view, name="logout"),
    path("mypage/", views.mypage_view_home, name="mypage"),
    path("mypage/profile/", views.profile_view, name="profile"),
    path("mypage/password/", views.password_change_view, name="password_change"),
    path("mypage/login-history/", views.login_history_view, name="login_history"),
    path("mypage/trusted-browsers/", views.trusted_browsers_view, name="trusted_browsers"),
    path(
        "mypage/trusted-browsers/<uuid:browser_id>/revoke/",
        views.trusted_browser_revoke_view,
        name="trusted_browser_revoke",
    ),
    path(
        "mypage/trusted-browsers/revoke-all/",
        views.trusted_browser_revoke_all_view,
        name="trusted_browser_revoke_all",
    ),
]
