from django.urls import path

from quorum.signing import embedding, views
from quorum.signing.paper import views as paper

app_name = "signing"

urlpatterns = [
    path("i/<slug:slug>/sign/", views.sign_start, name="start"),
    path("i/<slug:slug>/sign/<str:member_state>/", views.sign_form, name="form"),
    path("i/<slug:slug>/embed/sign/", embedding.embed_start, name="embed-start"),
    path("i/<slug:slug>/embed/sign/<str:member_state>/", embedding.embed_form, name="embed-form"),
    path("i/<slug:slug>/paper/<str:member_state>.pdf", paper.paper_form, name="paper-form"),
]
