"""Structured logs: one JSON object per line (``QUORUM_LOG_FORMAT=json``).

Each line holds the time (UTC, ISO 8601 with milliseconds), the level, the logger's name, the
message and, for an exception, its traceback as text: the same as a plain-text line, and
nothing more. In particular a record's extra attributes are never written, since Django puts
the request there (``django.request``: its headers, its body, its client address); the
messages themselves name no address and no content of a statement.
"""

from __future__ import annotations

import datetime
import json
import logging


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ensure_ascii: one line whatever the message holds (no raw control characters).
        return json.dumps(entry, ensure_ascii=True)
