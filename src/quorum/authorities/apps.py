from django.apps import AppConfig


class AuthoritiesConfig(AppConfig):
    name = "quorum.authorities"
    label = "authorities"
    verbose_name = "Competent authorities"
