"""Sealing JSON documents with AES-GCM under a keyring of key ids."""

import pytest

from contracts.sealing import Keyring, SealingError

OLD, NEW = Keyring.generate("k0"), Keyring.generate("k1")
DOC = {"mother": {"name": "王芳", "id_number": "110105199001011234"}, "n": [1, 2]}


def test_a_sealed_document_opens_to_the_same_document_and_hides_its_values() -> None:
    keyring = Keyring.parse(NEW)
    sealed = keyring.seal(DOC, context="births.event")
    assert sealed["kid"] == "k1"
    assert "王芳" not in str(sealed)
    assert "110105199001011234" not in str(sealed)
    assert keyring.open(sealed, context="births.event") == DOC


def test_the_first_key_seals_and_every_key_opens() -> None:
    old_value = Keyring.parse(OLD).seal(DOC, context="c")
    rotated = Keyring.parse(f"{NEW},{OLD}")
    assert rotated.current == "k1"
    assert rotated.open(old_value, context="c") == DOC
    assert rotated.seal(DOC, context="c")["kid"] == "k1"


def test_two_seals_of_one_document_differ() -> None:
    keyring = Keyring.parse(NEW)
    assert keyring.seal(DOC, context="c") != keyring.seal(DOC, context="c")


def test_a_value_moved_to_another_column_does_not_open() -> None:
    keyring = Keyring.parse(NEW)
    with pytest.raises(SealingError, match="cannot decrypt"):
        keyring.open(keyring.seal(DOC, context="steps.output"), context="births.event")


def test_a_tampered_value_does_not_open() -> None:
    keyring = Keyring.parse(NEW)
    sealed = keyring.seal(DOC, context="c")
    flipped = sealed["ct"][:-4] + ("AAAA" if sealed["ct"][-4:] != "AAAA" else "BBBB")
    with pytest.raises(SealingError):
        keyring.open({**sealed, "ct": flipped}, context="c")


def test_a_value_under_a_dropped_key_names_the_key_id() -> None:
    sealed = Keyring.parse(OLD).seal(DOC, context="c")
    with pytest.raises(SealingError, match="k0"):
        Keyring.parse(NEW).open(sealed, context="c")


def test_plaintext_is_refused_rather_than_read() -> None:
    with pytest.raises(SealingError, match="not encrypted"):
        Keyring.parse(NEW).open(DOC, context="c")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("k1", "kid:base64key"),
        ("k1:not base64!", "not base64"),
        ("k1:c2hvcnQ=", "must be 16, 24 or 32 bytes"),
        (f"{NEW},{NEW}", "appears twice"),
    ],
)
def test_badly_written_keys_are_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Keyring.parse(text)
