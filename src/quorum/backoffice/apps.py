from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """The staff side: organisers, the registrar and the authorities' staff, on top of every room."""

    name = "quorum.backoffice"
    label = "backoffice"
    verbose_name = "Back office"
