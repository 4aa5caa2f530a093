"""The organisers' page for coalition partners: their links, their counts, add and remove."""

from __future__ import annotations

from html import unescape

import pytest
from django.test import Client

from quorum.core.models import AuditEntry
from quorum.initiatives.models import Initiative, Partner
from quorum.initiatives.services import partner_add
from quorum.ledger.models import Checkpoint, PartnerCount, Statement
from quorum.proofs import merkle

from .conftest import OURS

pytestmark = pytest.mark.django_db
PAGE = f"/manage/initiatives/{OURS}/partners/"
SIGNING_FORM = f"/manage/initiatives/{OURS}/signing-form/"
DASHBOARD = f"/manage/initiatives/{OURS}/"


def partner_rows(html: str) -> str:
    return html.split('id="partners"', 1)[1].split("</table>", 1)[0]


def one_statement_through(initiative: Initiative, code: str) -> None:
    """As if the sequencer had logged the round's four statements, the first through ``code``."""
    first = Statement.objects.filter(initiative=initiative).order_by("leaf_index").first()
    assert first is not None
    Statement.objects.filter(pk=first.pk).update(partner=code)
    leaves = list(
        Statement.objects.filter(initiative=initiative)
        .order_by("leaf_index")
        .values_list("leaf_hash", flat=True)
    )
    Checkpoint.objects.create(
        initiative=initiative,
        size=len(leaves),
        root=merkle.root_from_leaves([bytes(leaf) for leaf in leaves]),
        note="checkpoint for the test\n",
    )
    PartnerCount.objects.create(initiative=initiative, partner=code, count=1)


@pytest.fixture
def alice(ours, organiser_alice, signed_in) -> Client:
    return signed_in(organiser_alice)


def test_an_organiser_adds_a_partner_and_gets_its_own_signing_link(alice, ours) -> None:
    assert 'id="partners-none"' in alice.get(PAGE).content.decode()
    added = alice.post(PAGE, {"code": "edri", "name": "European Digital Rights", "action": "add"})
    assert added.status_code == 302 and added["Location"] == PAGE
    page = alice.get(PAGE).content.decode()
    assert "European Digital Rights can now collect signatures through its own link." in page
    rows = partner_rows(page)
    assert ">edri</code>" in rows and "European Digital Rights" in rows
    assert f"http://testserver/i/{OURS}/sign/?via=edri" in rows
    assert "Signed through no partner" in rows
    entry = AuditEntry.objects.get(action="quorum.initiative.partner_added")
    assert entry.data == {"code": "edri", "name": "European Digital Rights"}
    assert entry.actor_id == ours.organisers.get().user_id


def test_the_same_code_again_renames_the_partner(alice, ours) -> None:
    alice.post(PAGE, {"code": "edri", "name": "EDRi", "action": "add"})
    renamed = alice.post(PAGE, {"code": "edri", "name": "European Digital Rights"})
    assert renamed.status_code == 302
    assert list(Partner.objects.values_list("code", "name")) == [
        ("edri", "European Digital Rights")
    ]
    assert AuditEntry.objects.filter(action="quorum.initiative.partner_renamed").count() == 1
    assert "European Digital Rights" in partner_rows(alice.get(PAGE).content.decode())


def test_a_removed_partner_keeps_its_count_and_is_marked_removed(alice, ours) -> None:
    partner_add(initiative=ours, code="edri", name="European Digital Rights")
    one_statement_through(ours, "edri")
    removed = alice.post(PAGE, {"code": "edri", "action": "remove"})
    assert removed.status_code == 302
    assert not Partner.objects.exists()
    assert AuditEntry.objects.filter(action="quorum.initiative.partner_removed").count() == 1
    page = alice.get(PAGE).content.decode()
    assert "The partner was removed; its statements keep its code." in page
    rows = partner_rows(page)
    edri = rows.split('id="partner-edri"', 1)[1].split("</tr>", 1)[0]
    assert "removed" in edri
    assert ">1</td>" in edri, "its statement still counts for it"
    assert "?via=edri" not in rows, "no link: the code no longer counts a new statement"
    assert 'value="remove"' not in edri
    none = rows.split('id="partner-none"', 1)[1].split("</tr>", 1)[0]
    assert ">3</td>" in none
    assert Statement.objects.filter(partner="edri").count() == 1


def test_the_dashboard_links_the_page_and_shows_the_counts_per_partner(alice, ours) -> None:
    dashboard = alice.get(DASHBOARD).content.decode()
    assert f'href="{PAGE}"' in dashboard
    assert 'id="partner-counts"' not in dashboard, "no table without partners"
    partner_add(initiative=ours, code="edri", name="European Digital Rights")
    partner_add(initiative=ours, code="reclaim", name="Reclaim Your Face")
    one_statement_through(ours, "edri")
    dashboard = alice.get(DASHBOARD).content.decode()
    table = dashboard.split('id="partner-counts"', 1)[1].split("</table>", 1)[0]
    assert "European Digital Rights <code>edri</code>" in table
    assert "Reclaim Your Face <code>reclaim</code>" in table
    assert "Signed through no partner" in table
    assert [
        cell.split("<", 1)[0] for cell in table.split('quorum-number" data-label="Received">')[1:]
    ] == ["1", "0", "3"]


def test_a_bad_code_is_refused_with_the_reason_and_what_was_typed_stays(alice) -> None:
    refused = alice.post(PAGE, {"code": "EDRi Brussels!", "name": "European Digital Rights"})
    assert refused.status_code == 422
    html = refused.content.decode()
    assert "Enter a code of 1 to 32 lower-case letters, digits and hyphens" in html
    assert 'id="id_code-error"' in html
    assert 'aria-describedby="id_code-hint id_code-error"' in html
    assert 'value="EDRi Brussels!"' in html
    assert 'value="European Digital Rights"' in html
    assert not Partner.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="quorum.initiative.partner").exists()


def test_the_hundred_and_first_partner_is_refused(alice, ours) -> None:
    for n in range(100):
        partner_add(initiative=ours, code=f"partner-{n}", name=f"Partner {n}")
    refused = alice.post(PAGE, {"code": "one-too-many", "name": "One too many"})
    assert refused.status_code == 422
    assert "An initiative may have at most 100 partners." in refused.content.decode()
    assert Partner.objects.count() == 100
    # Renaming one of the hundred is still possible.
    assert alice.post(PAGE, {"code": "partner-7", "name": "Seven"}).status_code == 302


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("edri", "European\x00Digital Rights"),
        ("edri", "European\nDigital Rights"),
        ("edri", "\u202eEuropean Digital Rights"),
        ("ed\x00ri", "European Digital Rights"),
        ("edri\n", "European Digital Rights"),
        ("edri", "x" * 100_000),
        ("e" * 100_000, "European Digital Rights"),
        ("", ""),
    ],
    ids=[
        "nul-in-name",
        "newline-in-name",
        "bidi-in-name",
        "nul-in-code",
        "newline-after-code",
        "huge-name",
        "huge-code",
        "empty",
    ],
)
def test_control_characters_and_huge_input_are_refused_not_an_error(alice, code, name) -> None:
    refused = alice.post(PAGE, {"code": code, "name": name})
    assert refused.status_code == 422
    assert not Partner.objects.exists()


def test_removing_a_code_that_is_no_partner_changes_nothing(alice, ours) -> None:
    partner_add(initiative=ours, code="edri", name="European Digital Rights")
    response = alice.post(PAGE, {"code": "someone-else", "action": "remove"})
    assert response.status_code == 302
    assert Partner.objects.count() == 1
    assert not AuditEntry.objects.filter(action="quorum.initiative.partner_removed").exists()


def test_the_signing_form_snippet_carries_the_chosen_partner(alice, ours) -> None:
    assert 'name="via"' not in alice.get(SIGNING_FORM).content.decode(), "no partners, no choice"
    partner_add(initiative=ours, code="edri", name="European Digital Rights")
    page = alice.get(SIGNING_FORM + "?embed_language=el&via=edri").content.decode()
    assert '<option value="edri" selected>' in page
    snippet = unescape(page.split('id="signing-form-snippet"', 1)[1].split("</textarea>", 1)[0])
    assert f'/i/{OURS}/embed/sign/?lang=el&amp;via=edri"' in snippet
    assert f'src="/i/{OURS}/embed/sign/?lang=el&amp;via=edri"' in page, "the preview"
    page = alice.get(SIGNING_FORM + "?via=edri").content.decode()
    snippet = unescape(page.split('id="signing-form-snippet"', 1)[1].split("</textarea>", 1)[0])
    assert f'/i/{OURS}/embed/sign/?via=edri"' in snippet
    # The counter's snippet on the dashboard has the language choice only.
    dashboard = alice.get(DASHBOARD).content.decode()
    assert 'id="embed-language"' in dashboard
    assert 'id="embed-via"' not in dashboard


@pytest.mark.parametrize("via", ["nobody", "EDRI ", "edri\n", "<script>"])
def test_the_signing_form_snippet_ignores_a_code_that_is_no_partner(alice, ours, via) -> None:
    partner_add(initiative=ours, code="edri", name="European Digital Rights")
    response = alice.get(SIGNING_FORM, {"via": via})
    assert response.status_code == 200
    page = response.content.decode()
    assert '<option value="" selected>' in page.split('id="embed-via"', 1)[1]
    snippet = unescape(page.split('id="signing-form-snippet"', 1)[1].split("</textarea>", 1)[0])
    assert "via=" not in snippet
    assert f'src="/i/{OURS}/embed/sign/"' in page
