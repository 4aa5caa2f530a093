from django.apps import AppConfig


class SiteConfig(AppConfig):
    """The assembled platform: commands that start processes or span every room (demo, serve)."""

    name = "quorum.site"
    label = "quorum_site"
    verbose_name = "Quorum site"
