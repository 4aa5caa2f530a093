"""Hooks through which higher rooms add to the public initiative page.

The initiative page belongs to `initiatives`, which may not import the rooms above it (the
ledger's counts, the signing link). Those rooms connect a receiver to
`initiative_page_sections`; each receiver returns HTML (already rendered and safe) or "".
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent with: initiative (Initiative), request (HttpRequest). Receivers return SafeString | "".
initiative_page_sections = Signal()
