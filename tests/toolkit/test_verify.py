"""quorum-authority verify: integrity, decryption, validation, duplicates, certificate."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pytest

from quorum.proofs.count_certificate import certificate_payload_bytes, verify_certificate
from quorum.proofs.crypto import encode_key, read_key_file
from quorum.toolkit.cli import EXIT_ERROR, EXIT_OK, EXIT_REJECTED
from quorum.toolkit.verify import VerifyOptions, verify_batch

PASSPHRASE = b"correct horse battery staple"


def _pl(world, n: int, *, first: str = "Anna", family: str = "Nowak", year: int = 1990):
    return [
        world.part_b(f"{first}{i}", family, world.pesel(date(year, 1, 1 + i % 28), serial=i))
        for i in range(n)
    ]


def _mixed(world):
    """3 valid PL statements among leaves of DE and FR."""
    return [
        world.part_b("Anna", "Nowak", world.pesel(date(1990, 1, 1))),
        world.part_a("Hans", "Müller", "1980-02-02"),
        world.part_b("Jan", "Kowalski", world.pesel(date(1975, 5, 14), serial=77)),
        world.part_a("Marie", "Curie", "1967-11-07", ms="FR"),
        world.part_b("Zofia", "Wiśniewska", world.pesel(date(2001, 12, 31), serial=8)),
    ]


def _line(lines: list[str], number: int) -> dict:
    return json.loads(lines[number])


def _set(lines: list[str], number: int, **changes) -> None:
    document = json.loads(lines[number])
    document.update(changes)
    lines[number] = json.dumps(document, separators=(",", ":"), ensure_ascii=False) + "\n"


# --- a clean batch -------------------------------------------------------------------------


def test_clean_batch_yields_a_certificate_that_verifies(world, capsys):
    batch = world.batch("PL", _mixed(world))
    code, out = world.verify(batch)
    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err
    document = json.loads((out / "certificate.json").read_text(encoding="utf-8"))
    pl = world.keys["PL"]
    assert verify_certificate(document, pl.signing_public_key)
    cert = document["certificate"]
    assert cert == {
        "format": "quorum-certificate-v1",
        "scheme": "eci",
        "initiative": {"slug": "clean-air", "registration_number": "ECI(2025)000007"},
        "member_state": "PL",
        "authority_signing_key": encode_key(pl.signing_public_key),
        "checkpoint": cert["checkpoint"],
        "statements_in_batch": 3,
        "valid_statements": 3,
        "valid_online": 3,
        "valid_paper": 0,
        "method": "full",
        "sample_size": None,
        "date": "2025-06-30",
    }
    assert cert["checkpoint"]["origin"] == "quorum.test/clean-air"
    assert cert["checkpoint"]["size"] == 5
    # The same check the platform does, from the bytes.
    assert certificate_payload_bytes(cert).startswith(b'{"authority_signing_key":')
    # Another authority's key, or a changed count, does not verify.
    assert not verify_certificate(document, world.keys["DE"].signing_public_key)
    forged = json.loads(json.dumps(document))
    forged["certificate"]["valid_statements"] = 4
    assert not verify_certificate(forged, pl.signing_public_key)

    report = world.report_of(out)
    assert report["verdict"] == "certified"
    assert report["leaves_read"] == 5
    assert report["statements_in_batch"] == 3
    assert report["invalid"] == []
    assert report["log_key_pinned"] is True
    assert "destroy" in captured.out and "2025-09-30" in captured.out
    assert "Art. 19(6)" in captured.out
    assert "5 / 5 leaves checked" in captured.err
    assert "not pinned" not in captured.err


def test_a_batch_without_own_statements_certifies_zero(world):
    batch = world.batch("PL", [world.part_a("Hans", "Müller", "1980-02-02")])
    code, out = world.verify(batch)
    assert code == EXIT_OK
    cert = json.loads((out / "certificate.json").read_text())["certificate"]
    assert (cert["statements_in_batch"], cert["valid_statements"]) == (0, 0)


def test_unpinned_log_key_warns(world, capsys):
    code, _ = world.verify(world.batch("PL", _mixed(world)), pin=False)
    assert code == EXIT_OK
    err = capsys.readouterr().err
    assert "warning: the log key was not pinned" in err


def _with_partners(world):
    """_mixed, two of its leaves signed through coalition partners' links: one PL, one DE."""
    statements = _mixed(world)
    statements[0].partner = "edri"
    statements[1].partner = "reclaim-2027"
    return statements


def test_a_batch_with_partner_leaves_verifies(world, capsys):
    lines = world.lines("PL", _with_partners(world))
    assert [_line(lines, n).get("p") for n in range(1, 6)] == [
        "edri",
        "reclaim-2027",
        None,
        None,
        None,
    ]
    code, out = world.verify(world.write("partners.jsonl", lines))
    assert code == EXIT_OK, capsys.readouterr().err
    report = world.report_of(out)
    assert report["verdict"] == "certified"
    assert (report["leaves_read"], report["statements_in_batch"]) == (5, 3)


# --- integrity: dropped, added, altered, reordered ------------------------------------------


def _rejected(world, lines: list[str], capsys, *, pin: bool = True, out: str = "out") -> dict:
    code, out_dir = world.verify(world.write("tampered.jsonl", lines), pin=pin, out=out)
    out = out_dir
    captured = capsys.readouterr()
    assert code == EXIT_REJECTED, captured.err
    assert not (out / "certificate.json").exists()
    assert "Traceback" not in captured.err
    report = world.report_of(out)
    assert report["verdict"] == "rejected"
    assert report["valid_statements"] is None
    assert "batch rejected" in captured.err
    return report


@pytest.mark.parametrize("dropped", [1, 3, 5], ids=["first", "middle-own", "last"])
def test_a_dropped_entry_is_rejected(world, capsys, dropped):
    lines = world.lines("PL", _mixed(world))
    del lines[dropped]
    report = _rejected(world, lines, capsys)
    assert "the leaves do not reproduce the checkpoint" in report["reason"]
    assert "dropped" in report["reason"]


def test_a_dropped_entry_with_renumbered_indices_is_rejected(world, capsys):
    lines = world.lines("PL", _mixed(world))
    del lines[2]
    for number in range(2, len(lines)):
        _set(lines, number, i=number - 1)
    report = _rejected(world, lines, capsys)
    assert "dropped" in report["reason"]


def test_an_added_entry_is_rejected(world, capsys):
    statements = _mixed(world)
    lines = world.lines("PL", statements)
    extra = world.lines(
        "PL", [*statements, world.part_b("Ewa", "Nowa", world.pesel(date(1985, 3, 3)))]
    )
    lines.append(extra[-1])  # a sealed PL statement the checkpoint does not cover
    report = _rejected(world, lines, capsys)
    assert "the leaves do not reproduce the checkpoint" in report["reason"]
    assert "added" in report["reason"]


def test_an_entry_inserted_in_the_middle_is_rejected(world, capsys):
    statements = _mixed(world)
    lines = world.lines("PL", statements)
    injected = world.lines("PL", [world.part_b("Ewa", "Nowa", world.pesel(date(1985, 3, 3)))])[1]
    lines.insert(3, injected)
    for number in range(1, len(lines)):
        _set(lines, number, i=number - 1)
    report = _rejected(world, lines, capsys)
    assert "added" in report["reason"]


def test_an_altered_other_state_entry_is_rejected(world, capsys):
    lines = world.lines("PL", _mixed(world))
    _set(lines, 2, t="2025-03-01T10:00:01Z")  # a DE leaf's time
    report = _rejected(world, lines, capsys)
    assert "the leaves do not reproduce the checkpoint" in report["reason"]
    assert "altered" in report["reason"]


@pytest.mark.parametrize(
    ("number", "change"),
    [
        (1, {"p": "other"}),  # an own leaf credited to another partner
        (2, {"p": "other"}),  # another state's leaf
        (3, {"p": "edri"}),  # a leaf with no partner given one
    ],
    ids=["own-changed", "other-state-changed", "added"],
)
def test_a_changed_partner_code_is_rejected(world, capsys, number, change):
    lines = world.lines("PL", _with_partners(world))
    _set(lines, number, **change)
    report = _rejected(world, lines, capsys)
    assert "recomputed root differs" in report["reason"]


def test_a_removed_partner_code_is_rejected(world, capsys):
    lines = world.lines("PL", _with_partners(world))
    document = _line(lines, 2)
    del document["p"]
    lines[2] = json.dumps(document, separators=(",", ":")) + "\n"
    report = _rejected(world, lines, capsys)
    assert "recomputed root differs" in report["reason"]


def test_a_malformed_partner_code_is_a_format_error(world, capsys):
    lines = world.lines("PL", _with_partners(world))
    _set(lines, 2, p="Reclaim 2027")
    report = _rejected(world, lines, capsys)
    assert report["reason"].startswith("the batch is malformed: line 3: p must be a partner code")


def test_an_altered_ciphertext_is_rejected(world, capsys):
    statements = _mixed(world)
    lines = world.lines("PL", statements)
    other = world.lines("PL", statements)  # fresh seals of the same statements
    _set(lines, 1, c=_line(other, 1)["c"])
    report = _rejected(world, lines, capsys)
    assert "ciphertext of leaf 0 does not match its digest" in report["reason"]
    assert "altered" in report["reason"]


def test_a_replaced_statement_with_a_matching_digest_is_rejected(world, capsys):
    statements = _mixed(world)
    lines = world.lines("PL", statements)
    other = world.lines("PL", statements)
    _set(lines, 1, c=_line(other, 1)["c"], d=_line(other, 1)["d"])
    report = _rejected(world, lines, capsys)
    assert "recomputed root differs" in report["reason"]


def test_reordered_entries_are_rejected(world, capsys):
    lines = world.lines("PL", _mixed(world))
    lines[1], lines[3] = lines[3], lines[1]
    report = _rejected(world, lines, capsys)
    assert "out of order" in report["reason"] or "missing" in report["reason"]
    # ... and with their indices swapped back into order, the root gives them away.
    lines = world.lines("PL", _mixed(world))
    lines[1], lines[3] = lines[3], lines[1]
    _set(lines, 1, i=0)
    _set(lines, 3, i=2)
    report = _rejected(world, lines, capsys, out="out2")
    assert "recomputed root differs" in report["reason"]


def test_a_ciphertext_on_another_states_line_is_rejected(world, capsys):
    lines = world.lines("PL", _mixed(world))
    _set(lines, 2, c=_line(lines, 1)["c"])
    report = _rejected(world, lines, capsys)
    assert "line 3" in report["reason"]
    assert "carries a ciphertext" in report["reason"]


def test_a_malformed_line_is_rejected_without_traceback(world, capsys):
    lines = world.lines("PL", _mixed(world))
    lines[2] = '{"i":1,"ms":"DE"\n'
    report = _rejected(world, lines, capsys)
    assert report["reason"].startswith("the batch is malformed: line 3")


def test_a_file_that_is_not_a_batch_is_rejected(world, capsys):
    report = _rejected(world, ["id_number,first_names\n"], capsys)
    assert "line 1" in report["reason"]


# --- the checkpoint ------------------------------------------------------------------------


def test_a_checkpoint_signed_by_another_key_is_rejected(world, capsys):
    lines = world.lines("PL", _mixed(world), log_seed=world.other_log_seed)
    report = _rejected(world, lines, capsys)
    assert "not signed by the pinned log key" in report["reason"]


def test_a_header_log_key_that_did_not_sign_is_rejected(world, capsys):
    lines = world.lines(
        "PL", _mixed(world), log_seed=world.other_log_seed, header_log_key=world.log_verifier
    )
    report = _rejected(world, lines, capsys, pin=False)
    assert "does not verify with the batch's log key" in report["reason"]


def test_a_checkpoint_for_another_origin_is_rejected(world, capsys):
    lines = world.lines("PL", _mixed(world), origin="quorum.test/another-initiative")
    report = _rejected(world, lines, capsys)
    assert "another-initiative" in report["reason"]


def test_a_tree_size_unlike_the_checkpoint_is_rejected(world, capsys):
    lines = world.lines("PL", _mixed(world))
    _set(lines, 0, tree_size=4)
    report = _rejected(world, lines, capsys)
    assert "tree_size" in report["reason"]


def test_a_bad_pinned_key_is_a_usage_error(world, capsys):
    batch = world.batch("PL", _mixed(world))
    code, _ = world.verify(batch, "PL", "--log-key", "not-a-key", pin=False)
    assert code == EXIT_ERROR
    assert "--log-key" in capsys.readouterr().err


# --- statements ----------------------------------------------------------------------------


def _invalid(report: dict) -> dict[int, str]:
    return {item["leaf_index"]: item["reason"] for item in report["invalid"]}


def test_a_statement_sealed_to_another_state_cannot_be_decrypted(world):
    statements = _mixed(world)
    statements[2] = world.part_b("Jan", "Kowalski", world.pesel(date(1975, 5, 14)), seal_to="DE")
    code, out = world.verify(world.batch("PL", statements))
    assert code == EXIT_OK
    report = world.report_of(out)
    assert _invalid(report) == {2: "cannot be decrypted"}
    assert report["valid_statements"] == 2


def test_another_authority_refuses_a_batch_sealed_to_keys_that_are_not_its_own(world, capsys):
    french = [world.part_a(f"Jeanne{i}", "Dupont", "1970-01-01", ms="FR") for i in range(4)]
    french.append(world.part_a("Hans", "Müller", "1980-02-02"))
    code, out = world.verify(world.batch("FR", french), "FR", key_state="DE")
    assert code == EXIT_REJECTED
    assert not (out / "certificate.json").exists()
    assert "sealed to a key that is not the authority's" in world.report_of(out)["reason"]


def test_another_authority_can_read_nothing(world, capsys):
    # The batch names DE's key as FR's (a platform that lies about the key): nothing opens.
    french = [world.part_a(f"Jeanne{i}", "Dupont", "1970-01-01", ms="FR") for i in range(4)]
    french.append(world.part_a("Hans", "Müller", "1980-02-02"))
    batch = world.batch(
        "FR", french, sealing_keys={1: encode_key(world.keys["DE"].sealing_public_key)}
    )
    code, out = world.verify(batch, "FR", key_state="DE")
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert "none of the 4 statements" in err
    assert not (out / "certificate.json").exists()
    report = world.report_of(out)
    assert report["invalid_by_reason"]["cannot be decrypted"] == 4
    assert report["valid_in_checked"] == 0


def test_rule_failures_are_invalid_with_reasons(world):
    good = world.pesel(date(1990, 1, 1))
    bad_check = good[:-1] + str((int(good[-1]) + 1) % 10)
    statements = [
        world.part_b("Anna", "Nowak", good),  # 0 valid
        world.part_b("Kid", "Nowak", world.pesel(date(2010, 1, 1), serial=5)),  # 1 under age
        world.part_b("Bad", "Check", bad_check),  # 2 checksum
        world.part_b("Wrong", "Type", good, id_type="passport"),  # 3 not a PL document
        world.part_b("Other", "Land", good, nationality="DE"),  # 4 says DE, sealed to PL
        world.part_b("Else", "Where", good, slug="another-initiative"),  # 5
        world.part_b("No", "", world.pesel(date(1980, 1, 1))),  # 6 missing family name
        world.part_b("X", "Y", good, plaintext=b"not json" + b" " * 248),  # 7
        world.part_b(
            "Young", "Day", world.pesel(date(2007, 3, 2), serial=9)
        ),  # 8 turns 18 on 2 Mar
        world.part_b("Old", "Enough", world.pesel(date(2007, 3, 1), serial=11)),  # 9 18 today
    ]
    code, out = world.verify(world.batch("PL", statements))
    assert code == EXIT_OK
    report = world.report_of(out)
    assert _invalid(report) == {
        1: "under age",
        2: "invalid ID number",
        3: "invalid ID number",
        4: "wrong nationality",
        5: "belongs to another initiative",
        6: "missing required field",
        7: "malformed statement",
        8: "under age",
    }
    details = {item["leaf_index"]: item.get("detail") for item in report["invalid"]}
    assert details[2] == "The check digit is wrong."
    assert details[6] == "family_names"
    assert report["valid_statements"] == 2


def test_a_statement_whose_time_differs_from_its_leaf_is_invalid(world):
    statement = world.part_b("Anna", "Nowak", world.pesel(date(1990, 1, 1)))
    statement.plaintext = world.plaintext(statement).replace(
        b"2025-03-01T10:00:00Z", b"2025-03-01T10:00:09Z"
    )
    code, out = world.verify(world.batch("PL", [statement]))
    assert code == EXIT_OK
    assert _invalid(world.report_of(out)) == {0: "does not match its log entry"}


def test_part_a_rules_and_duplicates(world):
    statements = [
        world.part_a("Hans Peter", "Müller", "1980-02-02"),  # 0 valid
        world.part_a("hans  peter", "MÜLLER ", "1980-02-02"),  # 1 duplicate of 0
        world.part_a("Hans Peter", "Müller", "1981-02-02"),  # 2 another person
        world.part_a("Kind", "Klein", "2010-01-01"),  # 3 under 16
        world.part_a("Zukunft", "Klein", "2030-01-01"),  # 4 born in the future
        world.part_a("Kein", "Datum", "1980-02-30"),  # 5 not a date
        world.part_a("Ｈａｎｓ Peter", "Müller", "1980-02-02"),  # 6 full-width: NFKC duplicate
        world.part_a("Sechzehn", "Jahre", "2009-03-01"),  # 7 exactly 16
    ]
    code, out = world.verify(world.batch("DE", statements), "DE")
    assert code == EXIT_OK
    report = world.report_of(out)
    assert _invalid(report) == {
        1: "duplicate",
        3: "under age",
        4: "invalid date of birth",
        5: "invalid date of birth",
        6: "duplicate",
    }
    assert report["valid_statements"] == 3


def test_part_b_duplicates_count_once_the_first(world):
    number = world.pesel(date(1990, 1, 1))
    spaced = f"{number[:4]} {number[4:8]}-{number[8:]}"
    statements = [
        world.part_b("Anna", "Nowak", world.pesel(date(1991, 1, 1))),  # 0
        world.part_b("Anna", "Nowak", number),  # 1 first of this person
        world.part_b("Anna Maria", "Nowak", spaced),  # 2 same number, another spelling
        world.part_b("Anna", "Nowak", number),  # 3 again
    ]
    code, out = world.verify(world.batch("PL", statements))
    assert code == EXIT_OK
    report = world.report_of(out)
    assert _invalid(report) == {2: "duplicate", 3: "duplicate"}
    assert report["valid_statements"] == 2


def test_an_invalid_first_statement_does_not_shadow_a_later_valid_one(world):
    number = world.pesel(date(1990, 1, 1))
    statements = [
        world.part_b("Anna", "Nowak", number, nationality="DE"),  # 0 invalid
        world.part_b("Anna", "Nowak", number),  # 1 counts
        world.part_b("Anna", "Nowak", number),  # 2 duplicate
    ]
    code, out = world.verify(world.batch("PL", statements))
    assert code == EXIT_OK
    assert _invalid(world.report_of(out)) == {0: "wrong nationality", 2: "duplicate"}


def test_age_is_unchecked_where_the_number_has_no_birth_date(world):
    statements = [
        world.part_b("Ana", "García", "12345678Z", ms="ES", id_type="dni"),
        world.part_b("Luis", "Pérez", "12345678A", ms="ES", id_type="dni"),  # bad letter
    ]
    code, out = world.verify(world.batch("ES", statements), "ES")
    assert code == EXIT_OK
    report = world.report_of(out)
    assert _invalid(report) == {1: "invalid ID number"}
    assert report["age_not_checkable"] == 1


# --- the population register ---------------------------------------------------------------


def test_register_part_b(world):
    numbers = [world.pesel(date(1990, 1, 1 + i), serial=i) for i in range(3)]
    statements = [world.part_b(f"P{i}", "Nowak", n) for i, n in enumerate(numbers)]
    statements.append(world.part_b("P0", "Nowak", numbers[0]))  # duplicate of 0
    register = world.root / "register.csv"
    register.write_text(
        "first_names,family_names,date_of_birth,id_number,extra\n"
        f"P0,Nowak,1990-01-01,{numbers[0][:5]} {numbers[0][5:]},x\n"
        f"P2,Nowak,1990-01-03,{numbers[2]},y\n",
        encoding="utf-8-sig",
    )
    code, out = world.verify(world.batch("PL", statements), "PL", "--register", str(register))
    assert code == EXIT_OK
    report = world.report_of(out)
    assert _invalid(report) == {1: "not in the population register", 3: "duplicate"}
    assert report["valid_statements"] == 2
    assert report["population_register"] == {"used": True, "rows": 2}


def test_register_part_a(world):
    statements = [
        world.part_a("Hans", "Müller", "1980-02-02"),
        world.part_a("Greta", "Schmidt", "1985-05-05"),
    ]
    register = world.root / "register.csv"
    register.write_text(
        "id_number,first_names,family_names,date_of_birth\n,HANS,müller,1980-02-02\n",
        encoding="utf-8",
    )
    code, out = world.verify(world.batch("DE", statements), "DE", "--register", str(register))
    assert code == EXIT_OK
    assert _invalid(world.report_of(out)) == {1: "not in the population register"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("id_number,first_names\n1,2\n", "must name the columns"),
        ("id_number,first_names,family_names,date_of_birth\n,A,B,1.1.1980\n", "line 2"),
        ("id_number,first_names,family_names,date_of_birth\n,A,B\n", "too few columns"),
    ],
)
def test_a_bad_register_is_a_usage_error(world, capsys, content, message):
    register = world.root / "register.csv"
    register.write_text(content, encoding="utf-8")
    batch = world.batch("DE", [world.part_a("Hans", "Müller", "1980-02-02")])
    code, _ = world.verify(batch, "DE", "--register", str(register))
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert message in err
    assert "Traceback" not in err


# --- sampling ------------------------------------------------------------------------------


def test_sampling_is_deterministic_with_a_seed_and_extrapolates_down(world):
    statements = _pl(world, 30)
    for i in range(0, 30, 3):  # every third is under age: 20 valid of 30
        statements[i] = world.part_b(f"Kid{i}", "Nowak", world.pesel(date(2012, 1, 1), serial=i))
    batch = world.batch("PL", statements)
    first_code, first = world.verify(batch, "PL", "--sample", "7", "--seed", "42", out="a")
    second_code, second = world.verify(batch, "PL", "--sample", "7", "--seed", "42", out="b")
    assert first_code == second_code == EXIT_OK
    a, b = world.report_of(first), world.report_of(second)
    for key in ("invalid", "valid_in_checked", "valid_statements", "sample_seed"):
        assert a[key] == b[key]
    assert a["method"] == "sample" and a["sample_size"] == 7 and a["statements_checked"] == 7
    assert a["valid_statements"] == a["valid_in_checked"] * 30 // 7
    cert = json.loads((first / "certificate.json").read_text())["certificate"]
    assert (cert["method"], cert["sample_size"]) == ("sample", 7)
    assert cert["valid_statements"] == a["valid_statements"]
    assert cert["statements_in_batch"] == 30
    samples = set()
    for seed in range(12):
        _, out = world.verify(batch, "PL", "--sample", "7", "--seed", str(seed), out=f"s{seed}")
        samples.add(json.dumps(world.report_of(out)["invalid"]))
    assert len(samples) > 1  # other seeds, other samples


def test_a_sample_as_large_as_the_batch_is_a_full_check(world):
    batch = world.batch("PL", _pl(world, 5))
    code, out = world.verify(batch, "PL", "--sample", "50", "--seed", "1")
    assert code == EXIT_OK
    report = world.report_of(out)
    assert (report["method"], report["sample_size"], report["valid_statements"]) == (
        "full",
        None,
        5,
    )


def test_seed_without_sample_is_a_usage_error(world, capsys):
    code, _ = world.verify(world.batch("PL", _pl(world, 1)), "PL", "--seed", "3")
    assert code == EXIT_ERROR


# --- keys, files, privacy -------------------------------------------------------------------


def test_wrong_passphrase_exits_1_with_a_message(world, capsys):
    (world.root / "passphrase").write_text("not the passphrase\n")
    code, out = world.verify(world.batch("PL", _pl(world, 2)))
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert "wrong passphrase" in err
    assert "Traceback" not in err
    assert not (out / "report.json").exists()


@pytest.mark.parametrize("what", ["batch", "key", "register"])
def test_missing_files_exit_1(world, capsys, what):
    batch = world.batch("PL", _pl(world, 1))
    args: list[str] = []
    if what == "batch":
        batch = world.root / "nope.jsonl"
    if what == "key":
        world.key_files = {**world.key_files, "PL": world.root / "nope.key"}
    if what == "register":
        args = ["--register", str(world.root / "nope.csv")]
    code, _ = world.verify(batch, "PL", *args)
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert "no such file" in err.lower()
    assert err.count("\n") <= 2


def test_an_output_directory_with_a_report_is_not_overwritten(world, capsys):
    batch = world.batch("PL", _pl(world, 1))
    assert world.verify(batch)[0] == EXIT_OK
    before = (world.root / "out" / "certificate.json").read_bytes()
    code, out = world.verify(batch)
    assert code == EXIT_ERROR
    assert "already holds" in capsys.readouterr().err
    assert (out / "certificate.json").read_bytes() == before


def test_no_personal_data_reaches_the_output(world, capsys):
    canaries = ["Zbigniewcanary", "Brzęczyszczykiewiczcanary", "Hanscanary", "Kanarienvogel"]
    number = world.pesel(date(1977, 7, 7), serial=4242)
    statements = [
        world.part_b(canaries[0], canaries[1], number),
        world.part_b(canaries[0], canaries[1], number),  # duplicate: listed in the report
        world.part_b("Kidcanary", canaries[1], world.pesel(date(2011, 1, 1), serial=3)),
        world.part_a(canaries[2], canaries[3], "1966-06-16"),
    ]
    register = world.root / "register.csv"
    register.write_text(f"id_number,first_names,family_names,date_of_birth\n{number},,,\n")
    code, out = world.verify(world.batch("PL", statements), "PL", "--register", str(register))
    captured = capsys.readouterr()
    assert code == EXIT_OK
    files = sorted(p.name for p in out.iterdir())
    assert files == ["certificate.json", "report.json", "report.txt"]
    secrets = [*canaries, "Kidcanary", number, "1977-07-07", "1966-06-16", "Hauptstra"]
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        for secret in secrets:
            assert secret not in text, (path.name, secret)
    for secret in secrets:
        assert secret not in captured.out and secret not in captured.err
    assert sorted(p.name for p in world.root.iterdir() if p.is_file()) == [
        "batch.jsonl",
        "passphrase",
        "register.csv",
    ]


# --- the engine: worker processes, progress -------------------------------------------------


def test_worker_processes_give_the_same_result(world, session_keys):
    statements = _pl(world, 40)
    statements[5] = world.part_b("Kid", "Nowak", world.pesel(date(2012, 1, 1)))
    statements[17] = statements[3]  # a duplicate, in another chunk
    statements[30] = world.part_b("X", "Y", world.pesel(date(1990, 1, 1)), seal_to="DE")
    batch = world.batch("PL", statements)
    keys = read_key_file(world.key_files["PL"], PASSPHRASE)
    progress = io.StringIO()
    reports = []
    for jobs in (1, 2):
        options = VerifyOptions(
            on=date(2025, 6, 30),
            pinned_log_key=world.log_verifier,
            jobs=jobs,
            chunk_size=4,
            progress=progress,
            progress_every=10,
        )
        outcome = verify_batch(batch, keys, options)
        assert outcome.verdict == "certified"
        reports.append(outcome.report)
    assert reports[0] == reports[1]
    assert {i["leaf_index"]: i["reason"] for i in reports[0]["invalid"]} == {
        5: "under age",
        17: "duplicate",
        30: "cannot be decrypted",
    }
    lines = progress.getvalue().splitlines()
    assert any(line.startswith("10 / 40 leaves checked") for line in lines)
    assert any(line.startswith("40 / 40 leaves checked") for line in lines)


def test_batch_file_digest_is_reported(world):
    import hashlib

    batch = world.batch("PL", _pl(world, 2))
    code, out = world.verify(batch)
    assert code == EXIT_OK
    digest = hashlib.sha256(Path(batch).read_bytes()).hexdigest()
    assert world.report_of(out)["batch"]["sha256"] == digest
