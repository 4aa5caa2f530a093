from django.urls import path

from quorum.signing import views

app_name = "signing"

urlpatterns = [
    path("i/<slug:slug>/sign/", views.sign_start, name="start"),
    path("i/<slug:slug>/sign/<str:member_state>/", views.sign_form, name="form"),
]
