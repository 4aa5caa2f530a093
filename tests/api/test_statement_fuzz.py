"""Any input whatever: always a 4xx with a reason, never a 5xx, nothing stored."""

from __future__ import annotations

import json

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.ledger.models import Statement

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/initiatives/clean-air/statements"
FIELDS = [
    "nationality",
    "first_names",
    "family_names",
    "date_of_birth",
    "id_type",
    "id_number",
    "altcha",
    "residence",
]
NASTY = [
    "\x00",
    "\u202e",
    "\u2066",
    "\ufeff",
    "\ud800",
    "A" * 10_000,  # far over every field's maximum, yet within the body limit (16 KiB)
    "Zofia\x00",
    "<script>",
    "'; DROP TABLE x; --",
    "PL",
    "pesel",
    "44051401359",
    "1990-02-30",
    "9999-12-31",
]
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=300)
    | st.sampled_from(NASTY),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=6,
)
residences = st.fixed_dictionaries(
    {},
    optional={k: values for k in ("street", "postal_code", "city", "country", "extra")},
)
bodies = st.dictionaries(st.sampled_from([*FIELDS, "unexpected"]), values | residences, max_size=9)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def ready(collecting_initiative, authority_keys, settings):
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 10**6
    settings.QUORUM_RATE_SUSTAINED = 10**6


def assert_refused_cleanly(response, before: int) -> None:
    assert 400 <= response.status_code < 500, response.content[:500]
    errors = response.json()["errors"]
    assert errors and all(isinstance(m, str) and m for ms in errors.values() for m in ms)
    assert Statement.objects.count() == before


@FUZZ
@given(body=bodies)
def test_any_json_object_is_answered_without_a_server_error(client, ready, body) -> None:
    before = Statement.objects.count()
    response = client.post(URL, data=json.dumps(body), content_type="application/json")
    if response.status_code == 201:  # a random body that happens to be a valid statement
        assert Statement.objects.count() == before + 1
    else:
        assert_refused_cleanly(response, before)


@FUZZ
@given(raw=st.binary(max_size=2000))
def test_any_bytes_are_answered_without_a_server_error(client, ready, raw) -> None:
    before = Statement.objects.count()
    response = client.post(URL, data=raw, content_type="application/json")
    assert_refused_cleanly(response, before)


@FUZZ
@given(
    field=st.sampled_from(["first_names", "family_names", "id_number"]),
    value=st.sampled_from(NASTY) | st.text(),
)
def test_one_bad_field_in_an_otherwise_valid_statement_is_named(
    client, ready, field, value
) -> None:
    body = {
        "nationality": "PL",
        "first_names": "Zofia",
        "family_names": "Kowalska",
        "id_type": "pesel",
        "id_number": "44051401359",
        field: value,
    }
    before = Statement.objects.count()
    response = client.post(URL, data=json.dumps(body), content_type="application/json")
    if response.status_code != 201:
        assert_refused_cleanly(response, before)
        assert field in response.json()["errors"]


# A form post is bytes on the wire: lone surrogates cannot be encoded, so they are left out here
# (the JSON tests above send them as escapes).
form_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
form_values = form_text | st.sampled_from([v for v in NASTY if v != "\ud800"])


@FUZZ
@given(
    form=st.dictionaries(
        st.sampled_from([*FIELDS, "residence.city", "privacy_read"]), form_values, max_size=8
    )
)
def test_any_web_form_is_answered_without_a_server_error(client, ready, form) -> None:
    before = Statement.objects.count()
    response = client.post("/i/clean-air/sign/de/", form)
    if response.status_code == 413:  # several long values together pass the body limit
        assert (
            sum(len(v.encode()) for v in form.values()) + 1000 > django_settings.QUORUM_BODY_LIMIT
        )
        assert Statement.objects.count() == before
        return
    assert response.status_code in (200, 422), response.status_code
    if response.status_code == 422:
        assert Statement.objects.count() == before
