from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "quorum.api"
    label = "api"
    verbose_name = "Public JSON API"
