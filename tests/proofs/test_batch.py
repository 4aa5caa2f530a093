"""quorum.proofs.batch: the quorum-batch-v3 format (and v2, read still), written and read
strictly."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quorum.proofs.batch import (
    MAX_LINE_LENGTH,
    BatchEntry,
    BatchFormatError,
    BatchHeader,
    BatchInitiative,
    read_batch,
    write_batch,
)

HEADER = BatchHeader(
    scheme="eci",
    initiative=BatchInitiative(
        slug="clean-air",
        registration_number="ECI(2025)000007",
        registration_date="2025-01-15",
        title="Saubere Luft für alle — ąę",
    ),
    member_state="PL",
    log_key="quorum.test+01234567+AQ==",
    checkpoint="quorum.test/clean-air\n3\nAAAA\n\n— quorum.test xyz\n",
    tree_size=3,
    created_at="2025-06-01T12:00:00Z",
    sealing_keys={1: "A" * 43 + "="},
)


def _entries() -> list[BatchEntry]:
    ciphertexts = [b"\x00" * 80, None, b"\xff" * 81]
    states = ["PL", "DE", "PL"]
    partners = ["", "edri", "reclaim-2027"]  # none, another state's leaf, an own leaf
    return [
        BatchEntry(
            i,
            states[i],
            f"2025-03-0{i + 1}T10:00:00Z",
            hashlib.sha256(ciphertexts[i] or bytes([i])).digest(),
            ciphertexts[i],
            1 if ciphertexts[i] is not None else None,
            partners[i],
        )
        for i in range(3)
    ]


def _text() -> str:
    out = io.StringIO()
    write_batch(out, HEADER, _entries())
    return out.getvalue()


def test_round_trip():
    text = _text()
    lines = text.splitlines()
    assert len(lines) == 4
    assert json.loads(lines[0])["format"] == "quorum-batch-v3"
    assert "p" not in json.loads(lines[1])  # no partner: no key, not an empty one
    assert lines[2] == json.dumps(
        {
            "i": 1,
            "ms": "DE",
            "p": "edri",
            "t": "2025-03-02T10:00:00Z",
            "d": _entries()[1].ciphertext_sha256.hex(),
        },
        separators=(",", ":"),
    )
    assert "ąę" in lines[0]  # UTF-8, not escaped
    header, entries = read_batch(io.StringIO(text))
    assert header == HEADER
    assert list(entries) == _entries()
    assert [entry.partner for entry in _entries()] == ["", "edri", "reclaim-2027"]


def test_an_entry_built_positionally_has_no_partner():
    entry = BatchEntry(0, "DE", "2025-03-01T10:00:00Z", bytes(32))
    assert (entry.ciphertext, entry.key, entry.partner) == (None, None, "")


def _as_v2(text: str) -> str:
    """The batch as written before partners existed: the v2 header, no "p" on any line."""
    lines = [json.loads(line) for line in text.splitlines()]
    lines[0]["format"] = "quorum-batch-v2"
    for line in lines[1:]:
        line.pop("p", None)
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)


def test_a_v2_batch_is_still_read_its_leaves_without_partners():
    header, entries = read_batch(io.StringIO(_as_v2(_text())))
    assert header == HEADER
    assert list(entries) == [entry._replace(partner="") for entry in _entries()]


def test_a_partner_code_in_a_v2_batch_is_refused_on_its_line():
    lines = _as_v2(_text()).splitlines(keepends=True)
    entry = json.loads(lines[2])
    lines[2] = json.dumps({**entry, "p": "edri"}) + "\n"
    _header, entries = read_batch(io.StringIO("".join(lines)))
    with pytest.raises(BatchFormatError, match="line 3: a quorum-batch-v2 batch has no partner"):
        list(entries)


def test_a_missing_final_newline_is_accepted():
    _header, entries = read_batch(io.StringIO(_text().rstrip("\n")))
    assert len(list(entries)) == 3


def _line(**document) -> str:
    return json.dumps(document, separators=(",", ":"))


D = "ab" * 32
C = base64.b64encode(b"x" * 60).decode()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "not a JSON object"),
        ("[1,2]", "not a JSON object"),
        ("", "an empty line"),
        (_line(i=0, ms="DE", t="2025-03-01T10:00:00Z"), "lacks d"),
        (_line(i=0, ms="DE", t="2025-03-01T10:00:00Z", d=D, x=1), "unknown x"),
        (_line(i=0, ms="DE", p="", t="2025-03-01T10:00:00Z", d=D), "p must be a partner code"),
        (_line(i=0, ms="DE", p="EDRI", t="2025-03-01T10:00:00Z", d=D), "p must be a partner"),
        (_line(i=0, ms="DE", p="ed ri", t="2025-03-01T10:00:00Z", d=D), "p must be a partner"),
        (_line(i=0, ms="DE", p="edri\n", t="2025-03-01T10:00:00Z", d=D), "p must be a partner"),
        (_line(i=0, ms="DE", p="a" * 33, t="2025-03-01T10:00:00Z", d=D), "p must be a partner"),
        (_line(i=0, ms="DE", p=7, t="2025-03-01T10:00:00Z", d=D), "p must be a partner"),
        (_line(i=0, ms="DE", p=None, t="2025-03-01T10:00:00Z", d=D), "p must be a partner"),
        (_line(i=0, ms="DE", p="edri", t="2025-03-01T10:00:00Z"), "lacks d"),
        (_line(i="0", ms="DE", t="2025-03-01T10:00:00Z", d=D), "i must be"),
        (_line(i=True, ms="DE", t="2025-03-01T10:00:00Z", d=D), "i must be"),
        (_line(i=-1, ms="DE", t="2025-03-01T10:00:00Z", d=D), "i must be"),
        (_line(i=1.0, ms="DE", t="2025-03-01T10:00:00Z", d=D), "i must be"),
        (_line(i=0, ms="de", t="2025-03-01T10:00:00Z", d=D), "ms must be"),
        (_line(i=0, ms="DE", t="2025-03-01 10:00:00", d=D), "t must be"),
        (_line(i=0, ms="DE", t="2025-03-01T10:00:00Z", d=D.upper()), "d must be"),
        (_line(i=0, ms="DE", t="2025-03-01T10:00:00Z", d=D[:-2]), "d must be"),
        (_line(i=0, ms="DE", t="2025-03-01T10:00:00Z", d=D, c=C), "carries a ciphertext"),
        (_line(i=0, ms="PL", t="2025-03-01T10:00:00Z", d=D), "lacks its ciphertext"),
        (_line(i=0, ms="PL", t="2025-03-01T10:00:00Z", d=D, c="!!!!", k=1), "not valid base64"),
        (_line(i=0, ms="PL", t="2025-03-01T10:00:00Z", d=D, c="QR==", k=1), "not canonical"),
        (_line(i=0, ms="PL", t="2025-03-01T10:00:00Z", d=D, c="", k=1), "c must be"),
        (_line(i=0, ms="PL", t="2025-03-01T10:00:00Z", d=D, c=C), "lacks its sealing key"),
        (_line(i=0, ms="PL", t="2025-03-01T10:00:00Z", d=D, c=C, k=0), "k must be"),
        (_line(i=0, ms="PL", t="2025-03-01T10:00:00Z", d=D, c=C, k=2), "not among the header"),
        ('{"i":0,"i":1,"ms":"DE","t":"2025-03-01T10:00:00Z","d":"' + D + '"}', "twice"),
        ('{"i":NaN,"ms":"DE","t":"2025-03-01T10:00:00Z","d":"' + D + '"}', "i must be"),
        ("[" * 100_000, "not a JSON object"),
    ],
)
def test_malformed_lines_name_their_line(line, message):
    lines = _text().splitlines(keepends=True)
    lines[2] = line + "\n"
    _header, entries = read_batch(io.StringIO("".join(lines)))
    with pytest.raises(BatchFormatError) as info:
        list(entries)
    assert info.value.line == 3
    assert message in str(info.value)
    assert str(info.value).startswith("line 3: ")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "quorum-batch-v1"}, "not a quorum-batch-v3 batch (nor a quorum-batch-v2"),
        ({"tree_size": -1}, "tree_size"),
        ({"tree_size": "3"}, "tree_size"),
        ({"member_state": "Poland"}, "member_state"),
        ({"created_at": "2025-06-01"}, "created_at"),
        ({"extra": 1}, "unknown extra"),
        ({"initiative": {"slug": "x"}}, "initiative lacks"),
        ({"initiative": "x"}, "initiative must be an object"),
        ({"log_key": "a\nb"}, "log_key"),
        ({"checkpoint": ""}, "checkpoint"),
    ],
)
def test_malformed_headers(change, message):
    lines = _text().splitlines(keepends=True)
    header = json.loads(lines[0])
    header.update(change)
    lines[0] = json.dumps(header) + "\n"
    with pytest.raises(BatchFormatError) as info:
        read_batch(io.StringIO("".join(lines)))
    assert info.value.line == 1
    assert message in str(info.value)


def test_empty_file():
    with pytest.raises(BatchFormatError, match="empty"):
        read_batch(io.StringIO(""))


def test_invalid_utf8_is_a_format_error_on_its_line():
    raw = _text().encode("utf-8").replace(b'"DE"', b'"D\xff"')
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="surrogateescape")
    _header, entries = read_batch(stream)
    with pytest.raises(BatchFormatError) as info:
        list(entries)
    assert info.value.line == 3
    assert "UTF-8" in str(info.value)
    # Strictly decoded, it is still a format error (named by the chunk's first line).
    with pytest.raises(BatchFormatError, match="UTF-8"):
        _header, entries = read_batch(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
        list(entries)
    raw = _text().encode("utf-8").replace("für".encode(), b"f\xfcr")
    with pytest.raises(BatchFormatError, match="line 1: the line is not valid UTF-8"):
        read_batch(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", errors="surrogateescape"))


def test_overlong_lines_are_refused_before_parsing():
    lines = _text().splitlines(keepends=True)
    lines[1] = '{"c":"' + "A" * MAX_LINE_LENGTH + '"}\n'
    _header, entries = read_batch(io.StringIO("".join(lines)))
    with pytest.raises(BatchFormatError, match="longer than"):
        list(entries)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (lambda e: [e[0], e[2]], "where 1 was due"),
        (lambda e: e[:2], "2 entries written for a tree of 3"),
        (lambda e: [e[0], e[1]._replace(ciphertext=b"x"), e[2]], "carries a ciphertext"),
        (lambda e: [e[0]._replace(ciphertext=None), *e[1:]], "lacks its ciphertext"),
        (lambda e: [e[0]._replace(ciphertext_sha256=b"short"), *e[1:]], "d must be"),
        (lambda e: [e[0]._replace(partner="Not A Code"), *e[1:]], "p must be a partner code"),
    ],
)
def test_write_batch_refuses_what_read_batch_would(entries, message):
    with pytest.raises(BatchFormatError, match=message):
        write_batch(io.StringIO(), HEADER, entries(_entries()))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=200), max_size=5))
def test_arbitrary_lines_raise_only_batch_format_errors(lines):
    text = _text().splitlines(keepends=True)[0] + "\n".join(lines)
    try:
        _header, entries = read_batch(io.StringIO(text))
        list(entries)
    except BatchFormatError:
        pass


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["i", "ms", "p", "t", "d", "c", "x"]),
        st.one_of(st.integers(), st.text(max_size=70), st.none(), st.booleans(), st.floats()),
    )
)
def test_arbitrary_entries_raise_only_batch_format_errors(document):
    text = _text().splitlines(keepends=True)[0] + json.dumps(document) + "\n"
    try:
        _header, entries = read_batch(io.StringIO(text))
        list(entries)
    except BatchFormatError:
        pass
