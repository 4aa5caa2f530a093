"""Invalid input never changes state and never ends in a 500: generated decisions and files."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quorum.core.models import AuditEntry
from quorum.initiatives.models import Initiative
from quorum.verification.models import Certificate

from .conftest import make_initiative, registered_fields

pytestmark = pytest.mark.django_db

Status = Initiative.Status
VALID = {"registered", "partially_registered", "refused"}
TAKEN = "ECI(2025)000007"
text = st.text(alphabet=st.characters(codec="utf-8"), max_size=120)
blank = st.text(alphabet=" \t\r\n\u00a0\u2003", max_size=8)

invalid_decisions = st.one_of(
    # Not a decision at all.
    st.fixed_dictionaries(
        {
            "decision": text.filter(lambda d: d not in VALID),
            "registration_number": text,
            "reasons": text,
        }
    ),
    # A refusal or a partial registration without reasons.
    st.fixed_dictionaries(
        {
            "decision": st.sampled_from(["refused", "partially_registered"]),
            "registration_number": st.text(alphabet="ECI()0123456789", max_size=30),
            "reasons": blank,
        }
    ),
    # A registration number too long, or already someone else's.
    st.fixed_dictionaries(
        {
            "decision": st.just("registered"),
            "registration_number": st.one_of(
                st.text(alphabet="ECI()0123456789", min_size=41, max_size=80), st.just(TAKEN)
            ),
            "reasons": text,
        }
    ),
)

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def snapshot(initiative: Initiative) -> tuple:
    initiative.refresh_from_db()
    return (
        initiative.status,
        initiative.registration_number,
        initiative.registration_date,
        initiative.decision_reasons,
        initiative.partially_registered,
        AuditEntry.objects.count(),
    )


@pytest.fixture
def decision_world(organiser_alice, registrar, signed_in, today):
    make_initiative("taken", status=Status.COLLECTING, title="Taken", **registered_fields(today))
    requested = make_initiative(
        "open-data",
        organiser=organiser_alice,
        title="Open data",
        status=Status.REGISTRATION_REQUESTED,
        registration_requested_on=today,
    )
    return requested, signed_in(registrar)


@SETTINGS
@given(data=invalid_decisions)
def test_an_invalid_decision_is_refused_with_422_and_changes_nothing(decision_world, data) -> None:
    initiative, client = decision_world
    before = snapshot(initiative)
    response = client.post("/manage/registrar/open-data/decide/", data)
    assert response.status_code == 422
    assert b'class="govuk-error-summary"' in response.content
    assert snapshot(initiative) == before


@pytest.fixture
def staff_de(world, signed_in, authority_staff_de):
    return signed_in(authority_staff_de)


@SETTINGS
@given(
    content=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
            lambda children: (
                st.lists(children, max_size=4)
                | st.dictionaries(
                    st.sampled_from(
                        ["certificate", "signature", "member_state", "scheme", "initiative", "slug"]
                    )
                    | text,
                    children,
                    max_size=4,
                )
            ),
            max_leaves=12,
        ).map(lambda value: json.dumps(value).encode()),
    )
)
def test_any_uploaded_file_but_a_good_certificate_is_refused_and_stores_nothing(
    staff_de, content: bytes
) -> None:
    response = staff_de.post(
        "/manage/authority/DE/certificate/",
        {"certificate": SimpleUploadedFile("certificate.json", content)},
    )
    assert response.status_code == 422
    assert not Certificate.objects.exists()
