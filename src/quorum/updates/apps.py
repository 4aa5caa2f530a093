from django.apps import AppConfig


class UpdatesConfig(AppConfig):
    name = "quorum.updates"
    label = "updates"
    default_auto_field = "django.db.models.BigAutoField"
