"""Reasons are fixed English sentences, each written literally inside N_() for makemessages."""

from __future__ import annotations

import inspect
import re

import pytest

from quorum.rules import ages, ids, success


@pytest.mark.parametrize("module", [ids, ages, success], ids=lambda m: m.__name__)
def test_every_reason_is_a_literal_inside_the_n_marker(module):
    source = inspect.getsource(module)
    for reason in module.REASONS:
        literal = re.escape(f'"{reason}"')
        assert re.search(rf"N_\(\s*{literal}\s*\)", source), reason
        assert "%(" not in reason and "{" not in reason
