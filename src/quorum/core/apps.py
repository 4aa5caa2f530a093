from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "quorum.core"
    label = "core"
    verbose_name = "Quorum core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from quorum.core import checks  # noqa: F401 - registers the start-up checks
        from quorum.core.datadir import make_sqlite_files_private

        connection_created.connect(make_sqlite_files_private, dispatch_uid="quorum-sqlite-private")
