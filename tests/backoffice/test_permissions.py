"""The permission matrix: every back-office route, every role, the expected answer per cell.

Refusals that concern an initiative or an authority are 404s, so that nobody learns what
exists; the registrar's and the operator's pages answer 403 to other signed-in users (roles
are not secret, and the 403 comes before any initiative is looked up).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from quorum.backoffice import urls as backoffice_urls
from quorum.initiatives.models import Initiative
from quorum.rules import scheme

from .conftest import MISSING, OURS, THEIRS

pytestmark = pytest.mark.django_db

# Roles (columns of the matrix).
ANON = "anonymous"
ANON_JSON = "anonymous-json"
HALF = "password-only"  # gave a right password, not yet a TOTP code
ALICE = "organiser"  # of clean-air
BOB = "other-organiser"  # of quiet-water only
REG = "registrar"
DE = "authority-de"
FR = "authority-fr"
OP = "operator"
ROLES = (ANON, ANON_JSON, HALF, ALICE, BOB, REG, DE, FR, OP)
SIGNED_IN = (ALICE, BOB, REG, DE, FR, OP)

LOGIN = "→login"  # 302 to the sign-in page
JSON = {"HTTP_ACCEPT": "application/json"}


def everyone(status: int) -> dict[str, Any]:
    """Any signed-in user gets ``status``; the others are sent to sign in."""
    return {ANON: LOGIN, ANON_JSON: 401, HALF: LOGIN, **dict.fromkeys(SIGNED_IN, status)}


def only(role: str, status: int, others: int) -> dict[str, Any]:
    return {**everyone(others), role: status}


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    kwargs: dict[str, str]
    expect: dict[str, Any]
    data: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return reverse(f"backoffice:{self.name}", kwargs=self.kwargs)

    def __str__(self) -> str:
        where = self.kwargs.get("member_state", "")
        return f"{self.method.upper()} {self.name}{' ' + where if where else ''}"


S = {"slug": OURS}
GET, POST = "get", "post"

# Bodies are empty or wrong on purpose: the allowed role gets a 422 and nothing changes —
# except withdraw and the progress report, which need no input (302).
MATRIX = [
    Row("home", GET, {}, everyone(200)),
    Row("organiser-list", GET, {}, everyone(200)),
    Row("draft-create", GET, {}, everyone(200)),
    Row("draft-create", POST, {}, everyone(422)),
    Row("organiser-dashboard", GET, S, only(ALICE, 200, 404)),
    Row("invite", POST, S, only(ALICE, 422, 404)),
    Row("request-registration", POST, S, only(ALICE, 422, 404)),
    Row("set-start", POST, S, only(ALICE, 422, 404)),
    Row("stop-collection", POST, S, only(ALICE, 422, 404)),
    Row("withdraw", POST, S, only(ALICE, 302, 404)),
    Row("add-sponsor", POST, S, only(ALICE, 422, 404)),
    Row("report-progress", POST, S, only(ALICE, 302, 404)),
    Row("request-verification", POST, S, only(ALICE, 422, 404)),
    Row("submit", POST, S, only(ALICE, 422, 404)),
    Row("organiser-updates", GET, S, only(ALICE, 200, 404)),
    Row("organiser-updates", POST, S, only(ALICE, 422, 404)),
    Row("organiser-signing-form", GET, S, only(ALICE, 200, 404)),
    Row("organiser-signing-form", POST, S, only(ALICE, 422, 404)),
    Row("organiser-partners", GET, S, only(ALICE, 200, 404)),
    Row("organiser-partners", POST, S, only(ALICE, 422, 404)),
    Row("join", GET, {"token": "not-a-token"}, everyone(200)),
    Row("join", POST, {"token": "not-a-token"}, everyone(400)),
    Row("registrar-queue", GET, {}, only(REG, 200, 403)),
    Row("registrar-detail", GET, S, only(REG, 200, 403)),
    Row("registrar-decide", POST, S, only(REG, 422, 403)),
    Row("registrar-translation", POST, S, only(REG, 422, 403)),
    Row("registrar-extension", POST, S, only(REG, 422, 403)),
    Row("registrar-follow-up", POST, S, only(REG, 422, 403)),
    Row("authority-home", GET, {"member_state": "DE"}, only(DE, 200, 404)),
    Row("authority-home", GET, {"member_state": "FR"}, only(FR, 200, 404)),
    Row("authority-batch", GET, {"member_state": "DE", **S}, only(DE, 200, 404)),
    Row("authority-batch", GET, {"member_state": "FR", **S}, only(FR, 200, 404)),
    Row("authority-certificate", POST, {"member_state": "DE"}, only(DE, 422, 404)),
    Row("authority-certificate", POST, {"member_state": "FR"}, only(FR, 422, 404)),
    Row("operator-authorities", GET, {}, only(OP, 200, 403)),
    Row("operator-authority-keys", GET, {}, only(OP, 302, 403)),
    Row("operator-authority-keys", POST, {}, only(OP, 422, 403)),
    Row("designations", GET, {}, only(REG, 200, 403)),
    Row("designation-record", POST, {}, only(REG, 422, 403)),
    Row("authority-keys", POST, {"member_state": "DE"}, only(DE, 422, 404)),
    Row("authority-keys", POST, {"member_state": "FR"}, only(FR, 422, 404)),
]


@pytest.fixture
def client_as(
    world,
    login,
    make_user,
    cast_password,
    organiser_alice,
    organiser_bob,
    registrar,
    operator,
    authority_staff_de,
    authority_staff_fr,
) -> Callable[[str], tuple[Client, dict]]:
    users = {
        ALICE: organiser_alice,
        BOB: organiser_bob,
        REG: registrar,
        DE: authority_staff_de,
        FR: authority_staff_fr,
        OP: operator,
    }

    def make(role: str) -> tuple[Client, dict]:
        client = Client()
        if role == ANON_JSON:
            return client, JSON
        if role == HALF:
            user = make_user("half-signed-in")
            response = client.post(
                reverse("accounts:login"),
                {"username": user.username, "password": cast_password},
            )
            assert response["Location"] == reverse("accounts:verify")
        elif role in users:
            login(client, users[role])
        return client, {}

    return make


def send(client: Client, method: str, path: str, data: dict | None = None, **extra: Any):
    return getattr(client, method)(path, data or {}, **extra)


def test_the_matrix_covers_every_back_office_route() -> None:
    names = {p.name for p in backoffice_urls.urlpatterns if isinstance(p, URLPattern)}
    assert names == {row.name for row in MATRIX}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=str)
def test_each_role_gets_the_expected_answer_from_each_route(row: Row, role: str, client_as) -> None:
    client, extra = client_as(role)
    response = send(client, row.method, row.path, row.data, **extra)
    if response.streaming:
        # Read the batch to its end, as a WSGI server would: that closes the response and its file.
        b"".join(response.streaming_content)
    expected = row.expect[role]
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login") + "?next=")
    else:
        assert response.status_code == expected, response.content.decode()[:1500]
    if expected == 401:
        assert response["Content-Type"] == "application/json"
        assert list(response.json()["errors"]) == ["__all__"]
    if role != ALICE or row.name not in ("withdraw", "report-progress"):
        # Nobody but the organiser changed anything (they withdrew or reported).
        assert Initiative.objects.get(slug=OURS).status == Initiative.Status.VERIFICATION


SLUG_ROWS = [row for row in MATRIX if "slug" in row.kwargs]


def _with_slug(row: Row, slug: str) -> str:
    return reverse(f"backoffice:{row.name}", kwargs={**row.kwargs, "slug": slug})


@pytest.mark.parametrize("row", [r for r in SLUG_ROWS if r.expect[BOB] == 404], ids=str)
def test_another_groups_initiative_looks_exactly_like_one_that_does_not_exist(
    row: Row, client_as
) -> None:
    client, _ = client_as(BOB)
    existing = send(client, row.method, _with_slug(row, OURS), row.data)
    missing = send(client, row.method, _with_slug(row, MISSING), row.data)
    assert existing.status_code == missing.status_code == 404
    assert existing.content == missing.content
    assert OURS.encode() not in existing.content


@pytest.mark.parametrize("row", [r for r in SLUG_ROWS if r.name.startswith("registrar-")], ids=str)
def test_the_registrar_cannot_tell_a_draft_from_nothing(row: Row, client_as) -> None:
    client, _ = client_as(REG)
    draft = send(client, row.method, _with_slug(row, THEIRS), row.data)
    missing = send(client, row.method, _with_slug(row, MISSING), row.data)
    assert draft.status_code == missing.status_code == 404
    assert draft.content == missing.content


def test_authority_staff_learn_nothing_from_other_states_and_other_initiatives(client_as) -> None:
    fr, _ = client_as(FR)
    de, _ = client_as(DE)
    missing = fr.get("/manage/authority/XX/").content
    # France cannot see Germany's page or batch: the same 404 as for a Member State with no authority.
    for path in ("/manage/authority/DE/", f"/manage/authority/DE/{OURS}/batch/"):
        response = fr.get(path)
        assert response.status_code == 404 and response.content == missing
    # Germany asking for a draft's batch gets the same 404 as for nothing at all.
    draft = de.get(f"/manage/authority/DE/{THEIRS}/batch/")
    nothing = de.get(f"/manage/authority/DE/{MISSING}/batch/")
    assert draft.status_code == nothing.status_code == 404
    assert draft.content == nothing.content


def test_organisers_can_never_download_a_batch(client_as) -> None:
    """Alice's initiative is under verification; no route, no Member State gives her a batch."""
    client, _ = client_as(ALICE)
    codes = scheme("eci").member_state_codes()
    for pattern in backoffice_urls.urlpatterns:
        names = pattern.pattern.converters
        variants: list[dict[str, str]] = [{}]
        if "member_state" in names:
            variants = [{"member_state": code} for code in [*codes, *(c.lower() for c in codes)]]
        for kwargs in variants:
            if "slug" in names:
                kwargs = {**kwargs, "slug": OURS}
            if "token" in names:
                kwargs = {**kwargs, "token": "x"}
            path = reverse(f"backoffice:{pattern.name}", kwargs=kwargs)
            for method in (GET, POST):
                response = send(client, method, path)
                assert not response.streaming, path
                assert "Content-Disposition" not in response, path
                assert b"quorum-batch-v" not in response.content, path


def row_named(name: str) -> Row:
    return next(row for row in MATRIX if row.name == name)


# Each route that changes something, with a role allowed to use it.
WRITERS = [
    *(
        (ALICE, name)
        for name in (
            "invite",
            "request-registration",
            "set-start",
            "stop-collection",
            "withdraw",
            "add-sponsor",
            "report-progress",
            "request-verification",
            "submit",
        )
    ),
    *(
        (REG, name)
        for name in (
            "registrar-decide",
            "registrar-translation",
            "registrar-extension",
            "registrar-follow-up",
        )
    ),
    (DE, "authority-certificate"),
]


@pytest.mark.parametrize(("role", "name"), [*WRITERS, (DE, "authority-batch")])
def test_the_wrong_method_is_refused(role: str, name: str, client_as) -> None:
    row = row_named(name)
    client, _ = client_as(role)
    response = send(client, GET if row.method == POST else POST, row.path)
    assert response.status_code == 405
    assert Initiative.objects.get(slug=OURS).status == Initiative.Status.VERIFICATION


START = datetime.datetime(2026, 3, 2, 8, 0, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("role", "name"),
    [
        (REG, "registrar-decide"),
        (REG, "registrar-extension"),
        (REG, "registrar-follow-up"),
        (DE, "authority-batch"),
        (DE, "authority-certificate"),
        (ALICE, "withdraw"),
    ],
)
def test_decisions_and_batches_need_a_code_from_the_last_ten_minutes(
    role: str, name: str, client_as, time_machine
) -> None:
    row = row_named(name)
    time_machine.move_to(START, tick=False)
    client, _ = client_as(role)
    time_machine.shift(datetime.timedelta(minutes=11))
    response = send(client, row.method, row.path, row.data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:reauth") + "?next=")
    assert Initiative.objects.get(slug=OURS).status == Initiative.Status.VERIFICATION


def test_a_draft_withdrawn_before_asking_stays_unknown_to_the_registrar(client_as, theirs) -> None:
    bob, _ = client_as(BOB)
    assert bob.post(f"/manage/initiatives/{THEIRS}/withdraw/").status_code == 302
    registrar, _ = client_as(REG)
    assert THEIRS.encode() not in registrar.get("/manage/registrar/").content
    withdrawn = registrar.get(f"/manage/registrar/{THEIRS}/")
    missing = registrar.get(f"/manage/registrar/{MISSING}/")
    assert withdrawn.status_code == missing.status_code == 404
    assert withdrawn.content == missing.content
