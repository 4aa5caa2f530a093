"""The translation marker for messages produced by the rules package.

``N_`` returns its argument unchanged. It only marks the string for extraction, so that
``django-admin makemessages --keyword=N_`` collects it; the web layer translates the
returned message with gettext at display time. The rules package itself never imports
Django or gettext.

Only ever wrap a literal string: no f-strings and no data inside the marker.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the conventional name of a no-op gettext marker
    """Mark ``message`` for translation and return it unchanged."""
    return message
