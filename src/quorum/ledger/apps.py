from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "quorum.ledger"
    label = "ledger"
    verbose_name = "Ledger of sealed statements"
