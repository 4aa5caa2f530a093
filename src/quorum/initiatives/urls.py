from django.urls import path

from quorum.initiatives import views

app_name = "initiatives"

urlpatterns = [
    path("", views.initiative_list, name="list"),
    path("i/<slug:slug>/", views.initiative_detail, name="detail"),
]
