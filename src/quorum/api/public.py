"""Response helpers for public reads: open to any origin, cacheable for one sequencer interval."""

from __future__ import annotations

import math

from django.conf import settings
from django.http import HttpResponse


def public_read(response: HttpResponse, *, max_age: int | None = None) -> HttpResponse:
    age = max_age if max_age is not None else max(1, math.ceil(settings.QUORUM_SEQUENCER_INTERVAL))
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = f"public, max-age={age}, stale-while-revalidate={age * 10}"
    return response
