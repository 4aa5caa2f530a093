from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "quorum.core"
    label = "core"
    verbose_name = "Quorum core"
