"""The public auditor: an outsider recomputes an initiative's log and catches every lie.

A real log is built through the API and the sequencer; the auditor reads it through a fetch
function backed by Django's test client, so tampering can happen in the database (as a
dishonest operator would) or in the answers (as a dishonest server or proxy would). One slow
test runs `quorum audit` against a real `quorum serve` over HTTP.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from quorum.core.log_key import log_key, log_origin
from quorum.ledger.models import Checkpoint, Statement
from quorum.ledger.sequencer import sequence_all
from quorum.proofs import auditor, merkle
from quorum.proofs.auditor import AuditReport, FetchError, audit
from quorum.proofs.crypto import generate_signing_key
from quorum.proofs.signed_note import format_checkpoint, parse_checkpoint, sign_note, verify_note

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "http://testserver"
SLUG = "clean-air"
STATEMENTS = f"/api/v1/initiatives/{SLUG}/statements"
API = f"/api/v1/initiatives/{SLUG}"

# The log built below: 40 statements, checkpoints at 25 and 40, interleaved Member States.
FIRST_ROUND = ["PL", "DE", "FR", "PL", "DE"] * 5  # PL 10, DE 10, FR 5
SECOND_ROUND = ["FR", "PL", "FR", "DE", "PL"] * 3  # FR 6, PL 6, DE 3
COUNTS = {"DE": 13, "FR": 11, "PL": 16}

Tamper = Callable[[bytes], bytes]


@dataclass
class Site:
    """A fetch function for the auditor, answered by Django's test client.

    ``tamper[path]`` rewrites the body served for a path (the query string is ignored);
    ``fail[path]`` makes fetching it raise, as a network error would.
    """

    client: object
    tamper: dict[str, Tamper] = field(default_factory=dict)
    fail: dict[str, Exception] = field(default_factory=dict)
    urls: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == BASE
        if parts.path in self.fail:
            raise self.fail[parts.path]
        response = self.client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
        if response.status_code != 200:
            raise FetchError(f"HTTP {response.status_code}")
        body = response.content
        tamper = self.tamper.get(parts.path)
        return tamper(body) if tamper is not None else body


@dataclass
class Log:
    first: str  # the signed checkpoint of size 25
    latest: str  # the signed checkpoint of size 40
    counts_at_25: bytes  # the /counts body when the log had 25 statements


@pytest.fixture
def french_citizen() -> dict:
    return {
        "nationality": "FR",
        "first_names": "Camille",
        "family_names": "Martin",
        "date_of_birth": "1985-11-02",
        "residence": {
            "street": "12 rue de la Paix",
            "postal_code": "75002",
            "city": "Paris",
            "country": "France",
        },
    }


@pytest.fixture
def sign(
    client,
    collecting_initiative,
    authority_keys,
    settings,
    polish_citizen,
    german_citizen,
    french_citizen,
):
    settings.QUORUM_POW = False
    settings.QUORUM_RATE_BURST = 1_000_000
    settings.QUORUM_RATE_SUSTAINED = 1_000_000
    bodies = {"PL": polish_citizen, "DE": german_citizen, "FR": french_citizen}

    def sign(member_states: list[str], *, via: str | None = None) -> None:
        """Sign, through the partner's link ``via`` if given, and sequence."""
        extra = {"via": via} if via is not None else {}
        for code in member_states:
            response = client.post(
                STATEMENTS,
                data=json.dumps({**bodies[code], **extra}),
                content_type="application/json",
            )
            assert response.status_code == 201, response.content
        sequence_all()

    return sign


def note_at(size: int) -> str:
    return Checkpoint.objects.get(size=size).note


@pytest.fixture
def log(client, sign) -> Log:
    sign(FIRST_ROUND)
    counts_at_25 = client.get(f"{API}/counts").content
    sign(SECOND_ROUND)
    return Log(first=note_at(25), latest=note_at(40), counts_at_25=counts_at_25)


@pytest.fixture
def site(client) -> Site:
    return Site(client)


def json_tamper(change: Callable[[dict], None]) -> Tamper:
    def tamper(body: bytes) -> bytes:
        data = json.loads(body)
        change(data)
        return json.dumps(data).encode()

    return tamper


def has(report: AuditReport, *needles: str) -> bool:
    return all(any(n in f for f in report.findings) for n in needles)


def leaf_of(member_state: str) -> int:
    return (
        Statement.objects.filter(member_state=member_state, leaf_index__gte=10)
        .order_by("leaf_index")
        .values_list("leaf_index", flat=True)
        .first()
    )


def forged_checkpoint(size: int, root: bytes, *, origin: str | None = None) -> str:
    """A checkpoint signed with the real log key: the platform itself lying."""
    key = log_key()
    text = format_checkpoint(origin or log_origin(SLUG), size, root)
    return sign_note(text, key.name, key.seed)


# --- an honest log -------------------------------------------------------------------------


def test_an_honest_log_passes_and_the_counts_are_recomputed(log, site) -> None:
    seen: list[tuple[int, int]] = []
    report = audit(BASE, SLUG, fetch=site, progress=lambda done, total: seen.append((done, total)))
    assert report.findings == []
    assert report.ok and report.verdict == "ok"
    latest = parse_checkpoint(verify_note(log.latest, log_key().verifier))
    assert (report.size, report.root) == (40, latest.root)
    assert report.counts == COUNTS
    assert report.leaves_checked == 40
    assert report.checkpoint == log.latest
    assert seen[-1] == (40, 40)
    assert any("not pinned" in note for note in report.notes)


def test_a_pinned_key_and_a_previous_checkpoint_pass(log, site) -> None:
    report = audit(BASE, SLUG, log_key=log_key().verifier, previous=log.first, fetch=site)
    assert report.findings == [] and report.ok
    assert report.notes == []
    assert not any("/log-key" in url for url in site.urls)  # a pinned key is not fetched
    assert any("proof/consistency?from=25&to=40" in url for url in site.urls)


def test_a_previous_checkpoint_of_the_same_size_passes(log, site) -> None:
    assert audit(BASE, SLUG, previous=log.latest, fetch=site).ok


def test_paging_is_independent_of_the_page_size(log, site, monkeypatch) -> None:
    monkeypatch.setattr(auditor, "PAGE_SIZE", 7)
    seen: list[int] = []
    report = audit(BASE, SLUG, fetch=site, progress=lambda done, total: seen.append(done))
    assert report.ok, report.findings
    assert seen == [7, 14, 21, 28, 35, 40]


def test_a_site_serving_shorter_pages_than_asked_still_passes(log, site) -> None:
    site.tamper[f"{API}/leaves"] = json_tamper(lambda d: d.update(leaves=d["leaves"][:3]))
    report = audit(BASE, SLUG, fetch=site)
    assert report.ok, report.findings
    assert sum(f"{API}/leaves?" in url for url in site.urls) == 14  # ceil(40 / 3)


def test_counts_published_for_an_older_checkpoint_are_compared_at_their_size(log, site) -> None:
    # The log grew between reading /counts and the checkpoint (here: a cache served it late).
    site.tamper[f"{API}/counts"] = lambda body: log.counts_at_25
    report = audit(BASE, SLUG, fetch=site)
    assert report.ok, report.findings
    assert any("compared at that size" in note for note in report.notes)


def test_an_empty_log_passes(collecting_initiative, site) -> None:
    sequence_all()  # signs the empty checkpoint
    report = audit(BASE, SLUG, fetch=site)
    assert report.ok, report.findings
    assert (report.size, report.root, report.counts) == (0, merkle.EMPTY_ROOT, {})


# --- a dishonest operator: the database is changed -----------------------------------------


def test_a_deleted_statement_is_detected(log, site) -> None:
    index = leaf_of("PL")
    Statement.objects.filter(leaf_index=index).delete()
    report = audit(BASE, SLUG, fetch=site)
    assert not report.ok and report.verdict == "failed"
    assert has(report, f"leaf {index} is missing", "root mismatch")
    assert has(report, f"count for PL: published {COUNTS['PL']}, recomputed {COUNTS['PL'] - 1}")
    assert has(report, "total count: published 40, recomputed 39")


def test_a_deleted_last_statement_is_detected(log, site) -> None:
    Statement.objects.filter(leaf_index=39).delete()
    report = audit(BASE, SLUG, fetch=site)
    assert has(report, "leaf 39 is missing", "root mismatch", "total count")


def test_an_altered_member_state_is_detected(log, site) -> None:
    index = leaf_of("PL")
    Statement.objects.filter(leaf_index=index).update(member_state="FR")
    report = audit(BASE, SLUG, fetch=site)
    assert not report.ok
    assert has(report, f"leaf {index}: published leaf hash does not match its data")
    assert has(report, "root mismatch")
    assert has(report, f"count for PL: published {COUNTS['PL']}, recomputed {COUNTS['PL'] - 1}")
    assert has(report, f"count for FR: published {COUNTS['FR']}, recomputed {COUNTS['FR'] + 1}")


def test_an_altered_ciphertext_digest_is_detected(log, site) -> None:
    Statement.objects.filter(leaf_index=3).update(ciphertext_sha256=bytes(32))
    report = audit(BASE, SLUG, fetch=site)
    assert has(report, "leaf 3: published leaf hash does not match its data", "root mismatch")


def test_a_leaf_rewritten_with_a_matching_leaf_hash_still_breaks_the_root(log, site) -> None:
    from quorum.proofs.leaves import format_received_at, statement_leaf_hash

    statement = Statement.objects.get(leaf_index=5)
    forged = statement_leaf_hash(
        initiative=SLUG,
        member_state="DE",
        received_at=format_received_at(statement.received_at),
        ciphertext_sha256=bytes(statement.ciphertext_sha256),
    )
    Statement.objects.filter(pk=statement.pk).update(member_state="DE", leaf_hash=forged)
    report = audit(BASE, SLUG, fetch=site)
    assert not report.ok
    assert has(report, "root mismatch")
    assert not has(report, "leaf 5:")  # the row is self-consistent; the signed root is not


# --- a dishonest server: the answers are changed -------------------------------------------


def test_a_checkpoint_signed_by_another_key_is_refused(log, site) -> None:
    seed, _ = generate_signing_key()
    latest = parse_checkpoint(verify_note(log.latest, log_key().verifier))
    other = sign_note(format_checkpoint(latest.origin, 40, latest.root), log_key().name, seed)
    site.tamper[f"{API}/checkpoint"] = lambda body: other.encode()
    report = audit(BASE, SLUG, log_key=log_key().verifier, fetch=site)
    assert not report.ok and report.checkpoint is None
    assert has(report, "checkpoint signature does not verify")


def test_a_checkpoint_with_a_changed_root_and_the_original_signature_is_refused(log, site) -> None:
    lines = log.latest.split("\n")
    lines[2] = base64.b64encode(bytes(32)).decode()
    site.tamper[f"{API}/checkpoint"] = lambda body: "\n".join(lines).encode()
    report = audit(BASE, SLUG, fetch=site)
    assert not report.ok
    assert has(report, "checkpoint signature does not verify", "root mismatch")


def test_a_checkpoint_the_platform_signed_over_a_wrong_root_is_caught(log, site) -> None:
    lie = forged_checkpoint(40, bytes(32))
    site.tamper[f"{API}/checkpoint"] = lambda body: lie.encode()
    report = audit(BASE, SLUG, fetch=site)
    assert len(report.findings) == 1 and has(report, "root mismatch")


def test_a_checkpoint_of_another_log_is_refused(log, site) -> None:
    latest = parse_checkpoint(verify_note(log.latest, log_key().verifier))
    other = forged_checkpoint(40, latest.root, origin=log_origin("another-initiative"))
    site.tamper[f"{API}/checkpoint"] = lambda body: other.encode()
    report = audit(BASE, SLUG, fetch=site)
    assert not report.ok and has(report, "the checkpoint is for log")


def test_a_wrong_pinned_key_fails(log, site) -> None:
    from quorum.proofs.signed_note import verifier_key

    _, public = generate_signing_key()
    report = audit(BASE, SLUG, log_key=verifier_key(log_key().name, public), fetch=site)
    assert has(report, "checkpoint signature does not verify")


def test_counts_that_lie_are_caught(log, site) -> None:
    def lie(data: dict) -> None:
        data["by_member_state"]["PL"]["count"] += 1
        data["by_member_state"]["SE"]["count"] = 2

    site.tamper[f"{API}/counts"] = json_tamper(lie)
    report = audit(BASE, SLUG, fetch=site)
    assert not report.ok
    assert has(report, f"count for PL: published {COUNTS['PL'] + 1}, recomputed {COUNTS['PL']}")
    assert has(report, "count for SE: published 2, recomputed 0")


def test_a_total_that_lies_is_caught(log, site) -> None:
    site.tamper[f"{API}/counts"] = json_tamper(lambda d: d.update(total=1_000_000))
    report = audit(BASE, SLUG, fetch=site)
    assert has(report, "total count: published 1000000, recomputed 40")


def test_a_threshold_reached_flag_that_lies_is_caught(log, site) -> None:
    def lie(data: dict) -> None:
        data["by_member_state"]["PL"]["reached"] = True
        data["states_reached"] += 1

    site.tamper[f"{API}/counts"] = json_tamper(lie)
    report = audit(BASE, SLUG, fetch=site)
    assert has(report, "PL is published as reaching its threshold")


def test_a_leaf_served_twice_is_caught(log, site) -> None:
    site.tamper[f"{API}/leaves"] = json_tamper(
        lambda d: d["leaves"].insert(5, d["leaves"][4]) if d["start"] == 0 else None
    )
    report = audit(BASE, SLUG, fetch=site)
    assert has(report, "leaf 4 is published twice or out of order")


def test_a_leaf_hidden_by_the_server_is_caught(log, site) -> None:
    site.tamper[f"{API}/leaves"] = json_tamper(
        lambda d: d.update(leaves=[x for x in d["leaves"] if x["index"] != 12])
    )
    report = audit(BASE, SLUG, fetch=site)
    assert has(report, "leaf 12 is missing", "root mismatch")


def test_a_flood_of_bad_leaves_is_summarised(log, site) -> None:
    def corrupt(data: dict) -> None:
        for leaf in data["leaves"]:
            leaf["leaf_hash"] = "0" * 64

    site.tamper[f"{API}/leaves"] = json_tamper(corrupt)
    report = audit(BASE, SLUG, fetch=site)
    assert sum("published leaf hash does not match" in f for f in report.findings) == 40
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auditor, "MAX_LISTED_LEAF_FINDINGS", 10)
        report = audit(BASE, SLUG, fetch=site)
    assert sum("published leaf hash does not match" in f for f in report.findings) == 10
    assert has(report, "… and 30 more leaf problem(s) not listed")


# --- previous checkpoints ------------------------------------------------------------------


def test_a_previous_checkpoint_from_another_branch_is_inconsistent(log, site) -> None:
    branch = forged_checkpoint(25, merkle.root_from_leaves([bytes(32)] * 25))
    report = audit(BASE, SLUG, previous=branch, fetch=site)
    assert not report.ok
    assert has(report, "not consistent with the previous checkpoint (size 25): the consistency")
    assert has(report, "published leaves do not reproduce its root")


def test_a_previous_checkpoint_larger_than_the_log_means_it_shrank(log, site) -> None:
    bigger = forged_checkpoint(41, bytes(32))
    report = audit(BASE, SLUG, previous=bigger, fetch=site)
    assert has(report, "not consistent with the previous checkpoint: the log shrank from 41 to 40")


def test_a_previous_checkpoint_of_the_same_size_and_another_root_is_inconsistent(log, site) -> None:
    report = audit(BASE, SLUG, previous=forged_checkpoint(40, bytes(32)), fetch=site)
    assert has(report, "both have 40 statements but different roots")


def test_a_previous_checkpoint_by_another_key_is_refused(log, site) -> None:
    seed, _ = generate_signing_key()
    first = parse_checkpoint(verify_note(log.first, log_key().verifier))
    other = sign_note(format_checkpoint(first.origin, 25, first.root), log_key().name, seed)
    report = audit(BASE, SLUG, previous=other, fetch=site)
    assert has(report, "the previous checkpoint is not signed by this log key")


def test_a_forged_consistency_proof_is_caught(log, site) -> None:
    site.tamper[f"{API}/proof/consistency"] = json_tamper(
        lambda d: d.update(path=["00" * 32 for _ in d["path"]])
    )
    report = audit(BASE, SLUG, previous=log.first, fetch=site)
    assert has(report, "not consistent with the previous checkpoint (size 25)")


# --- coalition partners: their counts are recounted from the leaves too --------------------

# The partner log: 10 statements, 3 signed via edri, 2 via reclaim-2027, 5 via no partner.
PARTNER_COUNTS = {"edri": 3, "reclaim-2027": 2}


@pytest.fixture
def partner_log(client, sign, collecting_initiative) -> bytes:
    """The log above; returns the /counts body as it was after its first 6 statements."""
    from quorum.initiatives.services import partner_add
    from quorum.signing.selectors import forget_intake_targets

    partner_add(initiative=collecting_initiative, code="edri", name="EDRi")
    partner_add(initiative=collecting_initiative, code="reclaim-2027", name="Reclaim")
    forget_intake_targets()  # the intake's cached view of the initiative knows no partners yet
    sign(["PL", "DE"], via="edri")
    sign(["FR", "PL"])
    sign(["DE"], via="reclaim-2027")
    sign(["PL"])
    counts_at_6 = client.get(f"{API}/counts").content
    sign(["FR"], via="edri")
    sign(["PL"], via="reclaim-2027")
    sign(["DE", "FR"])
    return counts_at_6


def leaf_via(partner: str) -> int:
    return (
        Statement.objects.filter(partner=partner)
        .order_by("leaf_index")
        .values_list("leaf_index", flat=True)
        .first()
    )


def leaves_tamper(index: int, **changes: object) -> Tamper:
    """Serve leaf ``index`` with ``changes`` (a key set to None is left out)."""

    def change(data: dict) -> None:
        for leaf in data["leaves"]:
            if leaf["index"] == index:
                leaf.update(changes)
                for key in [k for k, v in changes.items() if v is None]:
                    del leaf[key]

    return json_tamper(change)


def test_the_partner_leaves_are_v2_and_the_published_counts_agree(partner_log, site) -> None:
    from quorum.proofs.leaves import format_received_at, statement_leaf_hash

    statement = Statement.objects.get(leaf_index=leaf_via("edri"))
    assert bytes(statement.leaf_hash) == statement_leaf_hash(
        initiative=SLUG,
        member_state=statement.member_state,
        received_at=format_received_at(statement.received_at),
        ciphertext_sha256=bytes(statement.ciphertext_sha256),
        partner="edri",
    )
    report = audit(BASE, SLUG, fetch=site)
    assert report.findings == [] and report.ok
    assert report.partner_counts == PARTNER_COUNTS
    assert report.without_partner == 5
    assert report.counts == {"DE": 3, "FR": 3, "PL": 4}


def test_partner_counts_published_for_an_older_checkpoint_are_compared_at_their_size(
    partner_log, site
) -> None:
    site.tamper[f"{API}/counts"] = lambda body: partner_log
    report = audit(BASE, SLUG, fetch=site)
    assert report.ok, report.findings
    assert json.loads(partner_log)["by_partner"] == {"edri": 2, "reclaim-2027": 1}
    assert report.partner_counts == PARTNER_COUNTS  # the report has the whole log's


def test_a_log_without_partners_reports_none(log, site) -> None:
    report = audit(BASE, SLUG, fetch=site)
    assert report.ok, report.findings
    assert (report.partner_counts, report.without_partner) == ({}, 40)


def test_a_site_from_before_partners_still_passes(log, site) -> None:
    def older(data: dict) -> None:
        del data["by_partner"], data["without_partner"]

    site.tamper[f"{API}/counts"] = json_tamper(older)
    site.tamper[f"{API}/leaves"] = json_tamper(
        lambda d: [leaf.pop("partner") for leaf in d["leaves"]]
    )
    report = audit(BASE, SLUG, fetch=site)
    assert report.ok, report.findings


def test_a_leaf_credited_to_another_partner_is_caught(partner_log, site) -> None:
    index = leaf_via("edri")
    site.tamper[f"{API}/leaves"] = leaves_tamper(index, partner="other")
    report = audit(BASE, SLUG, fetch=site)
    assert not report.ok
    assert has(report, f"leaf {index}: published leaf hash does not match its data")
    assert has(report, "root mismatch")
    assert has(report, "count for partner edri: published 3, recomputed 2")
    assert has(report, "count for partner other: published nothing, recomputed 1")


@pytest.mark.parametrize(
    ("partner", "count"),
    [("", "count for partner edri: published 3, recomputed 2"), (None, "count for partner edri")],
    ids=["emptied", "left-out"],
)
def test_a_leaf_whose_partner_is_hidden_is_caught(partner_log, site, partner, count) -> None:
    index = leaf_via("edri")
    site.tamper[f"{API}/leaves"] = leaves_tamper(index, partner=partner)
    report = audit(BASE, SLUG, fetch=site)
    assert has(report, f"leaf {index}: published leaf hash does not match its data", count)
    assert has(report, "count without a partner: published 5, recomputed 6")


def test_a_leaf_given_a_partner_it_was_not_signed_through_is_caught(partner_log, site) -> None:
    index = leaf_via("")
    site.tamper[f"{API}/leaves"] = leaves_tamper(index, partner="edri")
    report = audit(BASE, SLUG, fetch=site)
    assert has(report, f"leaf {index}: published leaf hash does not match its data")
    assert has(report, "count for partner edri: published 3, recomputed 4")


@pytest.mark.parametrize("partner", [7, ["edri"], "ed ri", "edri\n", " edri", "edri\x1b[2J"])
def test_a_malformed_partner_code_is_a_malformed_leaf(partner_log, site, partner) -> None:
    index = leaf_via("edri")
    site.tamper[f"{API}/leaves"] = leaves_tamper(index, partner=partner)
    report = audit(BASE, SLUG, fetch=site)
    assert has(report, f"leaf {index}: malformed data (partner is not a code")
    # The leaf keeps its place in the tree (the root still checks) but counts nowhere.
    assert not has(report, "root mismatch")
    assert has(report, "count for partner edri: published 3, recomputed 2")


def test_an_inflated_partner_count_is_caught(partner_log, site) -> None:
    def lie(data: dict) -> None:
        data["by_partner"]["edri"] += 1
        data["by_partner"]["friends"] = 4

    site.tamper[f"{API}/counts"] = json_tamper(lie)
    report = audit(BASE, SLUG, fetch=site)
    assert not report.ok
    assert has(report, "count for partner edri: published 4, recomputed 3")
    assert has(report, "count for partner friends: published 4, recomputed 0")
    assert len(report.findings) == 2  # the leaves and the root are fine


def test_a_partner_count_left_out_is_caught(partner_log, site) -> None:
    site.tamper[f"{API}/counts"] = json_tamper(lambda d: d["by_partner"].pop("reclaim-2027"))
    report = audit(BASE, SLUG, fetch=site)
    assert has(report, "count for partner reclaim-2027: published nothing, recomputed 2")


def test_a_count_without_partner_that_lies_is_caught(partner_log, site) -> None:
    site.tamper[f"{API}/counts"] = json_tamper(lambda d: d.update(without_partner=9))
    report = audit(BASE, SLUG, fetch=site)
    assert report.findings == ["count without a partner: published 9, recomputed 5"]


@pytest.mark.parametrize(
    ("change", "finding"),
    [
        ({"by_partner": ["edri"]}, "'by_partner' must be an object"),
        ({"by_partner": {"edri": -1}}, "the count for partner edri must be a non-negative"),
        ({"by_partner": {"edri": "3"}}, "the count for partner edri must be a non-negative"),
        ({"by_partner": {"ed ri": 3}}, "'by_partner' has a key that is no partner code"),
        ({"without_partner": None}, "'without_partner' must be a non-negative integer"),
    ],
)
def test_malformed_partner_counts_are_findings(partner_log, site, change, finding) -> None:
    site.tamper[f"{API}/counts"] = json_tamper(lambda d: d.update(change))
    report = audit(BASE, SLUG, fetch=site)
    assert has(report, f"the answer for the counts is malformed: {finding}"), report.findings


# --- broken answers: findings, never tracebacks --------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "finding"),
    [
        ("/api/v1/log-key", b"not a key\n", "the published log key is malformed"),
        (f"{API}/checkpoint", b"garbage", "the checkpoint is malformed"),
        (f"{API}/checkpoint", b"\xff\xfe", "the answer for the checkpoint is not valid UTF-8"),
        (f"{API}/counts", b"{", "the answer for the counts is not valid JSON"),
        (f"{API}/counts", b"[]", "the answer for the counts is malformed"),
        (
            f"{API}/counts",
            b'{"total": "40"}',
            "the answer for the counts is malformed: 'by_member_state'",
        ),
        (f"{API}/leaves", b"<html>", "the answer for leaves 0 to 39 is not valid JSON"),
        (f"{API}/leaves", b'{"leaves": 5}', "the answer for leaves 0 to 39 is malformed"),
        (f"{API}/leaves", b'{"leaves": [7, {"index": true}]}', "an entry has no valid index"),
        (
            f"{API}/leaves",
            b'{"leaves": [{"index": 0, "member_state": "PL"}]}',
            "leaf 0: malformed data",
        ),
        (
            f"{API}/proof/consistency",
            b'{"path": ["zz"]}',
            "the answer for the consistency proof from 25 to 40 is malformed",
        ),
    ],
)
def test_malformed_answers_become_findings(log, site, path, body, finding) -> None:
    site.tamper[path] = lambda _: body
    report = audit(BASE, SLUG, previous=log.first, fetch=site)
    assert not report.ok
    assert has(report, finding), report.findings


@pytest.mark.parametrize(
    "path", ["/api/v1/log-key", f"{API}/checkpoint", f"{API}/counts", f"{API}/leaves"]
)
def test_network_errors_become_findings(log, site, path) -> None:
    site.fail[path] = urllib.error.URLError("connection refused")
    report = audit(BASE, SLUG, fetch=site)
    assert not report.ok
    assert has(report, "could not fetch", "connection refused"), report.findings


def test_an_unknown_initiative_is_a_finding(log, site) -> None:
    report = audit(BASE, "no-such-initiative", fetch=site)
    assert not report.ok and has(report, "could not fetch the checkpoint", "HTTP 404")


def test_an_exception_of_any_kind_in_fetch_is_a_finding(log, site) -> None:
    site.fail[f"{API}/leaves"] = RuntimeError("boom")
    report = audit(BASE, SLUG, fetch=site)
    assert has(report, "could not fetch leaves 0 to 39", "boom")


def test_http_fetch_reports_an_unreachable_site_as_a_fetch_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens on it once closed
    with pytest.raises(FetchError):
        auditor.http_fetch(f"http://127.0.0.1:{port}/api/v1/log-key")
    with pytest.raises(FetchError):
        auditor.http_fetch("file:///etc/passwd")
    report = audit(f"http://127.0.0.1:{port}", SLUG)
    assert not report.ok and has(report, "could not fetch the log key")


def test_the_auditor_imports_no_django() -> None:
    code = (
        "import sys; import quorum.proofs.auditor; "
        "bad = [m for m in sys.modules if m.split('.')[0] == 'django']; "
        "assert not bad, bad"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# --- the command ---------------------------------------------------------------------------


def run_audit(*args: str) -> tuple[str, str]:
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("audit", BASE, SLUG, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_exits_0_on_a_passing_audit(log, site, monkeypatch) -> None:
    monkeypatch.setattr(auditor, "http_fetch", site)
    out, err = run_audit("--log-key", log_key().verifier)
    assert "verdict: ok" in out and "40 statements (DE 13, FR 11, PL 16)" in out
    assert "leaves checked: 40 / 40" in err
    assert "partners:" not in out  # no coalition partners, no line about them


def test_the_command_prints_the_partner_counts(partner_log, site, monkeypatch) -> None:
    monkeypatch.setattr(auditor, "http_fetch", site)
    out, _err = run_audit("--quiet")
    assert "partners: edri 3, reclaim-2027 2; without a partner: 5\n" in out
    assert out.splitlines()[-1].startswith("verdict: ok — clean-air: 10 statements")


def test_the_command_exits_1_on_a_failing_audit(log, site, monkeypatch) -> None:
    monkeypatch.setattr(auditor, "http_fetch", site)
    Statement.objects.filter(leaf_index=7).delete()
    from io import StringIO

    out = StringIO()
    with pytest.raises(CommandError) as failed:
        call_command("audit", BASE, SLUG, "--quiet", stdout=out)
    assert failed.value.returncode == 1
    assert "problem: leaf 7 is missing from the published leaves" in out.getvalue()
    assert "verdict: FAILED" in out.getvalue()


def test_save_then_previous_across_two_runs(log, site, sign, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(auditor, "http_fetch", site)
    saved = tmp_path / "clean-air.checkpoint"
    run_audit("--save", str(saved), "--quiet")
    assert saved.read_text() == log.latest
    sign(["DE", "PL", "FR"])
    out, _ = run_audit("--previous", str(saved), "--save", str(saved), "--quiet")
    assert "verdict: ok" in out and "43 statements" in out
    assert parse_checkpoint(verify_note(saved.read_text(), log_key().verifier)).size == 43
    assert any("proof/consistency?from=40&to=43" in url for url in site.urls)


def test_the_command_keeps_the_saved_checkpoint_when_the_audit_fails(
    log, site, monkeypatch, tmp_path
) -> None:
    monkeypatch.setattr(auditor, "http_fetch", site)
    saved = tmp_path / "clean-air.checkpoint"
    saved.write_text(forged_checkpoint(25, bytes(32)))
    before = saved.read_text()
    with pytest.raises(CommandError) as failed:
        run_audit("--previous", str(saved), "--save", str(saved))
    assert failed.value.returncode == 1
    assert saved.read_text() == before


def test_progress_is_shown_every_10000_leaves_and_at_the_end() -> None:
    from io import StringIO

    from quorum.proofs.audit_cli import _ProgressLine

    stream = StringIO()
    shown = _ProgressLine(stream)
    for done in range(1000, 25_001, 1000):
        shown(done, 25_000)
    shown.done(25_000, 25_000)
    assert stream.getvalue().splitlines() == [
        "leaves checked: 10,000 / 25,000",
        "leaves checked: 20,000 / 25,000",
        "leaves checked: 25,000 / 25,000",
    ]


def test_an_unreadable_previous_file_is_a_usage_error(log, tmp_path) -> None:
    with pytest.raises(CommandError) as failed:
        run_audit("--previous", str(tmp_path / "missing"))
    assert failed.value.returncode == 2


# --- end to end: `quorum audit` against a real `quorum serve` -------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("QUORUM_", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"))
    }
    env.update(
        QUORUM_DATA_DIR=str(data_dir),
        QUORUM_POW="off",
        QUORUM_RATE_BURST="1000000",
        QUORUM_RATE_SUSTAINED="1000000",
        QUORUM_SEQUENCER_INTERVAL="0.2",
        QUORUM_LOG_LEVEL="warning",
    )
    return env


def _quorum(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "quorum.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.mark.slow
@pytest.mark.own_database
@pytest.mark.django_db(transaction=False)
def test_quorum_audit_against_a_real_server(
    tmp_path, polish_citizen, german_citizen, french_citizen
) -> None:
    env = _env(tmp_path)
    setup = _quorum(["demo", "--no-serve"], env)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    slug = "ban-biometric-mass-surveillance"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = tmp_path / "server.log"
    with server_log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "quorum.cli", "serve", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the sequencer goes with it
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server_log.read_text()
            try:
                _get_json(f"{base}/api/v1/initiatives/{slug}/counts")
                break
            except OSError:
                assert time.monotonic() < deadline, server_log.read_text()
                time.sleep(0.2)
        bodies = [polish_citizen, german_citizen, french_citizen] * 10
        for body in bodies:
            request = urllib.request.Request(
                f"{base}/api/v1/initiatives/{slug}/statements",
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 201
        deadline = time.monotonic() + 60
        while _get_json(f"{base}/api/v1/initiatives/{slug}/counts")["checkpoint_size"] < 30:
            assert time.monotonic() < deadline, "the sequencer did not catch up"
            time.sleep(0.2)

        saved = tmp_path / "audit.checkpoint"
        passed = _quorum(["audit", base, slug, "--save", str(saved)], env)
        assert passed.returncode == 0, passed.stdout + passed.stderr
        assert "verdict: ok" in passed.stdout and "30 statements (DE 10, FR 10, PL 10)" in (
            passed.stdout
        )
        assert "leaves checked: 30 / 30" in passed.stderr
        with urllib.request.urlopen(f"{base}/api/v1/log-key", timeout=5) as response:
            key = response.read().decode().strip()

        # The operator quietly drops a statement from the database.
        with sqlite3.connect(tmp_path / "quorum.sqlite3") as db:
            db.execute("DELETE FROM ledger_statement WHERE leaf_index = 11")
        failed = _quorum(["audit", base, slug, "--log-key", key, "--previous", str(saved)], env)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert "leaf 11 is missing" in failed.stdout and "verdict: FAILED" in failed.stdout
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_declared_paper_statements_change_neither_the_logs_counts_nor_the_verdict(
    client, log, site
) -> None:
    from quorum.initiatives.models import Initiative
    from quorum.initiatives.services import progress_report_file

    before = client.get(f"{API}/counts").json()
    progress_report_file(
        initiative=Initiative.objects.get(slug=SLUG),
        online_count=40,
        paper_counts={"PL": 38_150, "MT": 12},
    )
    after = client.get(f"{API}/counts").json()
    assert after["total"] == before["total"] == 40
    assert {code: row["count"] for code, row in after["by_member_state"].items()} == {
        code: row["count"] for code, row in before["by_member_state"].items()
    }
    assert after["paper_declared"] == 38_162
    assert after["by_member_state"]["PL"]["reached_with_paper"] is True
    report = audit(BASE, SLUG, fetch=site)
    assert report.ok, report.findings
    assert report.counts == COUNTS
