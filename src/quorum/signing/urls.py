from django.urls import path

from quorum.signing import embedding, views

app_name = "signing"

urlpatterns = [
    path("i/<slug:slug>/sign/", views.sign_start, name="start"),
    path("i/<slug:slug>/sign/<str:member_state>/", views.sign_form, name="form"),
    path("i/<slug:slug>/embed/sign/", embedding.embed_start, name="embed-start"),
    path("i/<slug:slug>/embed/sign/<str:member_state>/", embedding.embed_form, name="embed-form"),
]
