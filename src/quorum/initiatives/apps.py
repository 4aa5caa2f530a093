from django.apps import AppConfig


class InitiativesConfig(AppConfig):
    name = "quorum.initiatives"
    label = "initiatives"
    verbose_name = "Initiatives"
