from django.urls import path

from quorum.api.v1 import api

urlpatterns = [path("api/v1/", api.urls)]
