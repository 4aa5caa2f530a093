from django.urls import path

from quorum.accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.home_view, name="home"),
    path("login/", views.login_view, name="login"),
    path("login/verify/", views.verify_view, name="verify"),
    path("2fa/setup/", views.setup_view, name="setup"),
    path("logout/", views.logout_view, name="logout"),
    path("reauth/", views.reauth_view, name="reauth"),
    path("password/", views.password_change_view, name="password_change"),
]
