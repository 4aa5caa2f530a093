from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Back-office accounts: sign-in with a second factor, roles, the ``quorum users`` command."""

    name = "quorum.accounts"
    label = "accounts"
    verbose_name = "Quorum accounts"
