"""Shared fixtures for the rules tests (pure Python: no database, no Django)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from quorum.rules import Scheme, scheme
from quorum.rules.loader import data_path


@pytest.fixture(scope="session")
def eci() -> Scheme:
    return scheme("eci")


@pytest.fixture
def raw_eci() -> dict[str, Any]:
    """A fresh, mutable copy of the decoded eci.json."""
    return json.loads(data_path("eci").read_text(encoding="utf-8"))
