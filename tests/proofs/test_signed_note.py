"""quorum.proofs.signed_note: C2SP signed notes and checkpoints.

External vectors come from Go's golang.org/x/mod/sumdb/note (note.go doc comment and
note_test.go: TestNewVerifier, TestSign, TestOpen), the reference implementation of the format.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quorum.proofs import crypto
from quorum.proofs.signed_note import (
    Checkpoint,
    NoteError,
    format_checkpoint,
    key_id,
    open_checkpoint,
    parse_checkpoint,
    parse_verifier_key,
    sign_note,
    verifier_key,
    verify_note,
)

DASH = "\u2014"

# --- Go sumdb/note vectors -----------------------------------------------------------------

PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
# The signer key "PRIVATE+KEY+PeterNeumann+c74f20a3+<base64(0x01 || seed)>".
PETER_SKEY_B64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    f"{DASH} PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    f"{DASH} EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)
GO_NOTE = GO_TEXT + "\n" + PETER_SIG


def _peter_seed() -> bytes:
    raw = base64.b64decode(PETER_SKEY_B64)
    assert raw[0] == 1
    return raw[1:]


def test_the_go_verifier_key_parses_and_its_key_id_matches() -> None:
    name, public = parse_verifier_key(PETER_VKEY)
    assert name == "PeterNeumann"
    assert key_id(name, public).hex() == "c74f20a3"
    assert verifier_key(name, public) == PETER_VKEY
    assert crypto.signing_public_key(_peter_seed()) == public


def test_signing_the_go_example_reproduces_the_published_note_byte_for_byte() -> None:
    assert sign_note(GO_TEXT, "PeterNeumann", _peter_seed()) == GO_NOTE


def test_the_published_go_note_verifies() -> None:
    assert verify_note(GO_NOTE, PETER_VKEY) == GO_TEXT
    assert verify_note(GO_NOTE.encode("utf-8"), PETER_VKEY) == GO_TEXT


def test_a_note_signed_by_two_keys_verifies_under_each_and_ignores_the_other() -> None:
    note = GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert verify_note(note, PETER_VKEY) == GO_TEXT
    assert verify_note(note, ENOCH_VKEY) == GO_TEXT
    assert verify_note(GO_TEXT + "\n" + ENOCH_SIG + PETER_SIG, PETER_VKEY) == GO_TEXT


def test_the_go_note_with_a_changed_text_fails() -> None:
    with pytest.raises(NoteError):
        verify_note(GO_NOTE.replace("cryptography", "cryptographY"), PETER_VKEY)


def test_a_go_signature_with_inserted_bytes_fails() -> None:
    with pytest.raises(NoteError, match="invalid signature"):
        verify_note(GO_TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:], PETER_VKEY)


def test_a_failing_signature_from_our_key_rejects_the_note_even_beside_a_good_one() -> None:
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(NoteError):
        verify_note(GO_TEXT + "\n" + PETER_SIG + bad, PETER_VKEY)


def test_a_forged_line_under_another_keys_name_or_id_is_ignored() -> None:
    # Same name, other key id; other name, same key id: both are "unknown keys".
    _, blob = PETER_SIG.rstrip("\n").rsplit(" ", 1)
    raw = base64.b64decode(blob)
    other_id = base64.b64encode(b"\x00\x00\x00\x00" + raw[4:]).decode()
    note = GO_TEXT + "\n" + PETER_SIG + f"{DASH} PeterNeumann {other_id}\n"
    note += f"{DASH} CarmenSandiego {blob}\n"
    assert verify_note(note, PETER_VKEY) == GO_TEXT


@pytest.mark.parametrize(
    "note",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        GO_TEXT + "\n" + f"{DASH} Bad Name " + PETER_SIG.split(" ")[-1],
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + PETER_SIG.replace(DASH, "-"),
        GO_TEXT + "\n" + PETER_SIG.replace(DASH, "\u2013"),
        GO_TEXT.replace("\n", "\r\n") + "\r\n" + PETER_SIG,
        GO_TEXT + "\n" + PETER_SIG + "\n",
        GO_TEXT + "\n" + PETER_SIG * 101,
        GO_TEXT + "\n" + f"{DASH} PeterNeumann \n",
        GO_TEXT + "\n" + f"{DASH} PeterNeumann AAAAAA==\n",
        GO_TEXT + "\n" + f"{DASH} PeterNeumann not*base64\n",
        GO_TEXT + "\n" + f"{DASH} Peter+Neumann " + PETER_SIG.split(" ")[-1],
        GO_TEXT + "\n" + f"{DASH} PeterNeumann" + PETER_SIG.split(" ")[-1],
        "\ud800" + GO_NOTE,
    ],
)
def test_malformed_notes_are_rejected(note) -> None:
    with pytest.raises(NoteError):
        verify_note(note, PETER_VKEY)


def test_a_note_that_is_not_utf8_is_rejected() -> None:
    with pytest.raises(NoteError):
        verify_note(b"\xff" + GO_NOTE.encode("utf-8"), PETER_VKEY)


def test_a_note_with_no_line_by_our_key_is_rejected() -> None:
    with pytest.raises(NoteError, match="no signature"):
        verify_note(GO_TEXT + "\n" + ENOCH_SIG, PETER_VKEY)


def test_every_mangling_of_the_go_verifier_key_is_rejected() -> None:
    # Ported from Go's TestNewVerifier: every proper substring and every one-character bump.
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(NoteError):
                    parse_verifier_key(PETER_VKEY[i:j])
    for i in range(len(PETER_VKEY)):
        bumped = PETER_VKEY[:i] + chr(ord(PETER_VKEY[i]) + 1) + PETER_VKEY[i + 1 :]
        with pytest.raises(NoteError):
            parse_verifier_key(bumped)


@pytest.mark.parametrize(
    "vkey",
    [
        # Go's own bad keys: wrong key length and unknown algorithm, each with a matching id.
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+0xc74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3",
        "",
    ],
)
def test_bad_verifier_keys_are_rejected(vkey) -> None:
    with pytest.raises(NoteError):
        parse_verifier_key(vkey)


def test_verifier_key_ids_accept_uppercase_hex_like_go() -> None:
    assert parse_verifier_key(PETER_VKEY.replace("c74f20a3", "C74F20A3"))[0] == "PeterNeumann"


# --- round trips with fresh keys -----------------------------------------------------------

SEED, PUBLIC = crypto.generate_signing_key()
NAME = "quorum.example/log/stop-finning"
VKEY = verifier_key(NAME, PUBLIC)


@given(
    st.lists(
        st.text(
            alphabet=st.characters(exclude_categories=("Cs",), min_codepoint=0x20),
            max_size=40,
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_valid_text_round_trips(lines) -> None:
    text = "\n".join(lines) + "\n"
    assert verify_note(sign_note(text, NAME, SEED), VKEY) == text


def test_a_text_with_blank_lines_round_trips() -> None:
    text = "a\n\nb\n\n"
    assert verify_note(sign_note(text, NAME, SEED), VKEY) == text


def test_a_note_fails_under_another_key_with_the_same_name() -> None:
    _, other_public = crypto.generate_signing_key()
    with pytest.raises(NoteError):
        verify_note(sign_note("hello\n", NAME, SEED), verifier_key(NAME, other_public))


def test_a_tampered_signature_fails() -> None:
    note = sign_note("hello\n", NAME, SEED)
    head, blob = note.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 1
    with pytest.raises(NoteError, match="invalid signature"):
        verify_note(f"{head} {base64.b64encode(bytes(raw)).decode()}\n", VKEY)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("no newline", NAME),
        ("", NAME),
        ("tab\there\n", NAME),
        ("carriage\r\n", NAME),
        ("\ud800\n", NAME),
        ("fine\n", "has space"),
        ("fine\n", "has+plus"),
        ("fine\n", ""),
        ("fine\n", "nbsp\u00a0name"),
    ],
)
def test_sign_note_refuses_bad_text_and_names(text, name) -> None:
    with pytest.raises(NoteError):
        sign_note(text, name, SEED)


def test_sign_note_refuses_a_bad_seed() -> None:
    with pytest.raises(NoteError):
        sign_note("fine\n", NAME, b"\x00" * 31)


def test_verifier_key_refuses_bad_names_and_keys() -> None:
    with pytest.raises(NoteError):
        verifier_key("a+b", PUBLIC)
    with pytest.raises(NoteError):
        verifier_key(NAME, PUBLIC[:31])


# --- checkpoints ---------------------------------------------------------------------------

ROOT = bytes.fromhex("0ac5186a91863e8e1d90c808014aa89bf5da8e3ee1d9f07630f0378f68f1ab62")
URLSAFE_ROOT = base64.urlsafe_b64encode(b"\xff" * 32).decode()


def test_the_c2sp_example_checkpoint_body_parses() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert parse_checkpoint(text) == Checkpoint("example.com/behind-the-sofa", 20852163, ROOT)
    assert format_checkpoint("example.com/behind-the-sofa", 20852163, ROOT) == text


@given(
    size=st.integers(min_value=0, max_value=2**64 - 1),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(
        st.text(st.characters(min_codepoint=0x20, exclude_categories=("Cs",)), min_size=1),
        max_size=3,
    ),
)
def test_checkpoints_round_trip(size, root, extensions) -> None:
    text = format_checkpoint(NAME, size, root, extensions)
    assert parse_checkpoint(text) == Checkpoint(NAME, size, root, tuple(extensions))


def test_a_signed_checkpoint_opens_for_its_origin_only() -> None:
    note = sign_note(format_checkpoint(NAME, 42, ROOT), NAME, SEED)
    assert open_checkpoint(note, VKEY, origin=NAME) == Checkpoint(NAME, 42, ROOT)
    with pytest.raises(NoteError, match="not"):
        open_checkpoint(note, VKEY, origin="quorum.example/log/other")


@pytest.mark.parametrize(
    "text",
    [
        f"{NAME}\n042\n{base64.b64encode(ROOT).decode()}\n",
        f"{NAME}\n00\n{base64.b64encode(ROOT).decode()}\n",
        f"{NAME}\n+42\n{base64.b64encode(ROOT).decode()}\n",
        f"{NAME}\n-1\n{base64.b64encode(ROOT).decode()}\n",
        f"{NAME}\n4_2\n{base64.b64encode(ROOT).decode()}\n",
        f"{NAME}\n\u0664\u0662\n{base64.b64encode(ROOT).decode()}\n",
        f"{NAME}\n 42\n{base64.b64encode(ROOT).decode()}\n",
        f"{NAME}\n{2**64}\n{base64.b64encode(ROOT).decode()}\n",
        f"{NAME}\n42\n{base64.b64encode(ROOT[:31]).decode()}\n",
        f"{NAME}\n42\n{base64.b64encode(ROOT + b'x').decode()}\n",
        f"{NAME}\n42\n{base64.b64encode(ROOT).decode().rstrip('=')}\n",
        f"{NAME}\n42\n{URLSAFE_ROOT}\n",
        f"{NAME}\n42\n",
        f"{NAME}\n42\n{base64.b64encode(ROOT).decode()}",
        f"\n42\n{base64.b64encode(ROOT).decode()}\n",
        f"{NAME}\n42\n{base64.b64encode(ROOT).decode()}\n\n",
        f"{NAME}\n42\n{base64.b64encode(ROOT).decode()}\next\n\nmore\n",
        f"{NAME}\r\n42\n{base64.b64encode(ROOT).decode()}\n",
        "",
    ],
)
def test_malformed_checkpoints_are_rejected(text) -> None:
    with pytest.raises(NoteError):
        parse_checkpoint(text)


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, ROOT, ()),
        ("two\nlines", 1, ROOT, ()),
        (NAME, -1, ROOT, ()),
        (NAME, 2**64, ROOT, ()),
        (NAME, True, ROOT, ()),
        (NAME, 1, ROOT[:31], ()),
        (NAME, 1, ROOT, ("",)),
        (NAME, 1, ROOT, ("a\nb",)),
        (NAME, 1, ROOT, "ext"),
    ],
)
def test_format_checkpoint_refuses_what_parse_would_reject(origin, size, root, extensions):
    with pytest.raises(NoteError):
        format_checkpoint(origin, size, root, extensions)
