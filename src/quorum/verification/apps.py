from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "quorum.verification"
    label = "verification"
    verbose_name = "Verification by the national authorities"
