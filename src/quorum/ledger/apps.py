from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "quorum.ledger"
    label = "ledger"
    verbose_name = "Ledger of sealed statements"

    def ready(self) -> None:
        from quorum.initiatives.signals import initiative_page_sections
        from quorum.ledger.sections import counts_section

        initiative_page_sections.connect(counts_section, dispatch_uid="ledger.counts_section")
