from django.urls import path

from quorum.updates import views

app_name = "updates"

urlpatterns = [
    path("i/<slug:slug>/updates/", views.subscribe, name="subscribe"),
    path("i/<slug:slug>/updates/confirm/<str:token>/", views.confirm, name="confirm"),
    path(
        "i/<slug:slug>/updates/unsubscribe/<uuid:subscriber>/<str:token>/",
        views.unsubscribe,
        name="unsubscribe",
    ),
    path(
        "i/<slug:slug>/updates/manage/<uuid:subscriber>/<str:token>/",
        views.manage,
        name="manage",
    ),
]
