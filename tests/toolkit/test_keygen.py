"""quorum-authority keygen and public-keys."""

from __future__ import annotations

import json
import stat

import pytest

from quorum.proofs.crypto import decode_key, open_sealed, read_key_file, seal, sign, verify
from quorum.toolkit import cli

PASSPHRASE = b"a long enough passphrase"


@pytest.fixture
def passphrase_file(tmp_path):
    path = tmp_path / "passphrase.txt"
    path.write_bytes(PASSPHRASE + b"\n")
    return path


def _keygen(run_cli, out, passphrase_file, *extra):
    return run_cli(
        "keygen",
        "--out",
        str(out),
        "--passphrase-file",
        str(passphrase_file),
        "--strength",
        "interactive",
        *extra,
    )


def test_keygen_writes_a_0600_key_file_and_prints_the_public_keys(
    tmp_path, passphrase_file, run_cli
):
    out = tmp_path / "pl.key"
    code, stdout, _ = _keygen(run_cli, out, passphrase_file, "--label", "PL authority")
    assert code == cli.EXIT_OK
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    keys = read_key_file(out, PASSPHRASE)
    assert keys.public_part()["sealing_public_key"] in stdout
    assert keys.public_part()["signing_public_key"] in stdout
    assert json.loads(out.read_text())["label"] == "PL authority"
    # No private key anywhere in the output.
    assert keys.sealing_private_key.hex() not in stdout
    from quorum.proofs.crypto import encode_key

    assert encode_key(keys.sealing_private_key) not in stdout
    assert encode_key(keys.signing_seed) not in stdout


def test_keygen_json_prints_exactly_the_two_public_keys(tmp_path, passphrase_file, run_cli):
    out = tmp_path / "pl.key"
    code, stdout, _ = _keygen(run_cli, out, passphrase_file, "--format", "json")
    assert code == cli.EXIT_OK
    public = json.loads(stdout)
    assert list(public) == ["sealing_public_key", "signing_public_key"]
    assert stdout == json.dumps(public) + "\n"
    # What the platform registers round-trips with the key file.
    keys = read_key_file(out, PASSPHRASE)
    sealing, signing = (decode_key(public[name]) for name in public)
    assert open_sealed(keys.sealing_private_key, seal(sealing, b"statement")) == b"statement"
    assert verify(signing, b"certificate", sign(keys.signing_seed, b"certificate"))


def test_keygen_refuses_to_overwrite(tmp_path, passphrase_file, run_cli):
    out = tmp_path / "pl.key"
    assert _keygen(run_cli, out, passphrase_file)[0] == cli.EXIT_OK
    before = out.read_bytes()
    code, _, err = _keygen(run_cli, out, passphrase_file)
    assert code == cli.EXIT_ERROR
    assert "refusing to overwrite" in err
    assert out.read_bytes() == before


def test_keygen_asks_twice_and_refuses_a_mismatch(tmp_path, run_cli, monkeypatch):
    answers = iter(["first passphrase", "second passphrase"])
    monkeypatch.setattr(cli.getpass, "getpass", lambda prompt="": next(answers))
    out = tmp_path / "pl.key"
    code, _, err = run_cli("keygen", "--out", str(out), "--strength", "interactive")
    assert code == cli.EXIT_ERROR
    assert "differ" in err
    assert not out.exists()

    answers = iter(["same passphrase", "same passphrase"])
    code, _, _ = run_cli("keygen", "--out", str(out), "--strength", "interactive")
    assert code == cli.EXIT_OK
    read_key_file(out, b"same passphrase")


@pytest.mark.parametrize("content", [b"", b"short\n", b"\nsecond line is ignored\n"])
def test_keygen_refuses_short_or_empty_passphrases(tmp_path, run_cli, content):
    source = tmp_path / "p"
    source.write_bytes(content)
    out = tmp_path / "pl.key"
    code, _, err = _keygen(run_cli, out, source)
    assert code == cli.EXIT_ERROR
    assert "passphrase" in err
    assert not out.exists()


def test_keygen_into_a_missing_directory_is_a_usage_error(tmp_path, passphrase_file, run_cli):
    code, _, err = _keygen(run_cli, tmp_path / "no" / "pl.key", passphrase_file)
    assert code == cli.EXIT_ERROR
    assert "does not exist" in err


def test_public_keys_reprints_them(tmp_path, passphrase_file, run_cli):
    out = tmp_path / "pl.key"
    _, printed, _ = _keygen(run_cli, out, passphrase_file, "--format", "json")
    code, stdout, _ = run_cli("public-keys", str(out), "--format", "json")
    assert code == cli.EXIT_OK
    assert stdout == printed


def test_usage_errors_exit_1(run_cli):
    with pytest.raises(SystemExit) as exit_info:
        run_cli("verify")
    assert exit_info.value.code == cli.EXIT_ERROR
