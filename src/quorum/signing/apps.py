from django.apps import AppConfig


class SigningConfig(AppConfig):
    name = "quorum.signing"
    label = "signing"
    verbose_name = "Signing"
