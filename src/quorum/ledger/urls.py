from django.urls import path

from quorum.ledger import views

app_name = "ledger"

urlpatterns = [
    path("i/<slug:slug>/receipt/", views.receipt_page, name="receipt"),
    path("i/<slug:slug>/counter/", views.counter_embed, name="counter"),
]
