"""Resident registration number protection: parsing rules, check digit warning, encryption at rest."""

from __future__ import annotations

import base64
from datetime import date

import pytest

from bokji.config import get_settings
from bokji.errors import Invalid
from bokji.privacy import protection
from bokji.privacy.protection import (
    CHECK_DIGIT_WARNING,
    ProtectionError,
    check_digit_ok,
    lookup_hash,
    mask,
    normalize,
    protect,
    reveal,
    validate,
)

WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def with_check(first12: str) -> str:
    """Append the classic check digit, computed independently of the module under test."""
    assert len(first12) == 12 and first12.isdigit()
    check = (11 - sum(int(d) * w for d, w in zip(first12, WEIGHTS, strict=True)) % 11) % 10
    return first12 + str(check)


def hyphenated(digits: str) -> str:
    return f"{digits[:6]}-{digits[6:]}"


def wrong_check(first12: str) -> str:
    good = with_check(first12)
    return good[:12] + str((int(good[12]) + 1) % 10)


VALID = with_check("900101123456")  # 1990-01-01, male


@pytest.fixture(autouse=True)
def fresh_settings():
    # Settings are cached; clear around each test so monkeypatched environments take effect and leak nowhere.
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def reason_of(exc: pytest.ExceptionInfo[Invalid]) -> str:
    assert exc.value.detail["field"] == "registration_number"
    assert "registration_number" in exc.value.message
    return exc.value.detail["reason"]


# --- parsing ---------------------------------------------------------------------------------------

def test_hyphen_and_plain_forms_normalize_to_the_same_digits():
    assert normalize(hyphenated(VALID)) == VALID
    assert normalize(VALID) == VALID
    assert normalize(f"  {hyphenated(VALID)} ") == VALID


@pytest.mark.parametrize("bad", ["900101-123456", "9001011234567 8", "90010112345678", "", "900101--1234567"])
def test_wrong_length_is_rejected(bad):
    with pytest.raises(Invalid) as exc:
        normalize(bad)
    assert "13 digits" in reason_of(exc)


@pytest.mark.parametrize(
    "bad", ["90010a-1234567", "900101-12345x7", "900101_1234567", "９００１０１-1234567"]  # full-width digits
)
def test_letters_and_other_characters_are_rejected(bad):
    with pytest.raises(Invalid) as exc:
        normalize(bad)
    assert "13 digits" in reason_of(exc)


@pytest.mark.parametrize("first12", ["990231123456", "991301123456", "990000123456", "990132123456"])
def test_impossible_birth_date_is_rejected(first12):
    with pytest.raises(Invalid) as exc:
        normalize(with_check(first12))
    assert "birth date" in reason_of(exc)


def test_error_does_not_echo_the_number():
    number = hyphenated(with_check("990231123456"))
    with pytest.raises(Invalid) as exc:
        normalize(number)
    text = str(exc.value.to_dict())
    assert number not in text and number.replace("-", "") not in text


def test_seventh_digit_sets_the_century():
    assert validate(with_check("050301312345")).birth_date == date(2005, 3, 1)
    assert validate(with_check("050301112345")).birth_date == date(1905, 3, 1)
    assert validate(with_check("950301012345")).birth_date == date(1895, 3, 1)
    assert validate(with_check("950301912345")).sex == "M"


def test_leap_day_depends_on_the_century():
    # 2000 was a leap year, 1900 and 1800 were not: the century digit decides whether 29 Feb exists.
    assert validate(with_check("000229312345")).birth_date == date(2000, 2, 29)
    for century_digit in "1290":
        with pytest.raises(Invalid):
            normalize(with_check(f"000229{century_digit}12345"))


def test_future_birth_date_is_rejected():
    with pytest.raises(Invalid) as exc:
        normalize(with_check("991231312345"))  # 2099-12-31
    assert "future" in reason_of(exc)


def test_sex_follows_the_parity_of_the_seventh_digit():
    assert validate(with_check("900101112345")).sex == "M"
    assert validate(with_check("900101212345")).sex == "F"
    assert validate(with_check("050101412345")).sex == "F"


def test_foreigner_number_is_accepted_and_flagged():
    result = validate(hyphenated(with_check("850615512345")))
    assert result.foreigner is True
    assert result.birth_date == date(1985, 6, 15)
    assert result.sex == "M"
    assert validate(with_check("050615812345")).foreigner is True
    assert validate(VALID).foreigner is False


# --- check digit -----------------------------------------------------------------------------------

def test_check_digit():
    assert check_digit_ok(VALID)
    assert not check_digit_ok(wrong_check("900101123456"))


@pytest.mark.parametrize(
    "number, ok",
    [
        ("800101-1000008", True),  # weighted sum 36, 36 % 11 = 3, 11 - 3 = 8
        ("800101-1000040", True),  # sum 56, 56 % 11 = 1, 11 - 1 = 10 -> 0 (the "% 10" wrap)
        ("800101-1000061", True),  # sum 66, 66 % 11 = 0, 11 - 0 = 11 -> 1
        ("800101-1000049", False),
        ("800101-1000060", False),
    ],
)
def test_check_digit_worked_examples(number, ok):
    # Hand-computed, so the helper above (which repeats the formula) is not the only oracle.
    assert check_digit_ok(number) is ok


def test_valid_check_digit_gives_no_warning():
    result = validate(VALID)
    assert result.digits == VALID
    assert result.warnings == []


def test_wrong_check_digit_warns_but_is_accepted():
    number = wrong_check("201015312345")  # issued after October 2020: random last digit
    result = validate(hyphenated(number))
    assert result.digits == number
    assert result.warnings == [CHECK_DIGIT_WARNING]
    assert protect(number).masked == "201015-3******"  # and it can still be stored


def test_repr_does_not_show_the_digits():
    assert VALID not in repr(validate(VALID))


# --- encryption, look-up hash, mask ----------------------------------------------------------------

def test_protect_reveal_round_trip():
    sealed = protect(hyphenated(VALID))
    assert sealed.ciphertext[0] == protection.KEY_VERSION
    assert VALID.encode() not in sealed.ciphertext
    assert reveal(sealed.ciphertext) == VALID
    assert reveal(memoryview(sealed.ciphertext)) == VALID


def test_ciphertext_is_random_but_lookup_hash_is_stable():
    first, second = protect(VALID), protect(hyphenated(VALID))
    assert first.ciphertext != second.ciphertext
    assert first.ciphertext[1:13] != second.ciphertext[1:13]  # fresh nonce each time
    assert first.lookup_hash == second.lookup_hash == lookup_hash(VALID)
    assert len(first.lookup_hash) == 64 and int(first.lookup_hash, 16) >= 0
    assert lookup_hash(with_check("900101123457")) != first.lookup_hash


def test_lookup_hash_is_keyed(monkeypatch):
    before = lookup_hash(VALID)
    monkeypatch.setenv("BOKJI_LOOKUP_KEY", "another-lookup-key")
    get_settings.cache_clear()
    assert lookup_hash(VALID) != before


@pytest.mark.parametrize("position", [0, 1, 12, 13, -1])
def test_tampering_raises_protection_error(position):
    blob = bytearray(protect(VALID).ciphertext)
    blob[position] ^= 0x01
    with pytest.raises(ProtectionError):
        reveal(bytes(blob))


def test_truncated_ciphertext_raises_protection_error():
    blob = protect(VALID).ciphertext
    for cut in (blob[:10], blob[:-1], b""):
        with pytest.raises(ProtectionError):
            reveal(cut)


def test_keys_are_read_when_used_not_at_import(monkeypatch):
    sealed = protect(VALID).ciphertext
    monkeypatch.setenv("BOKJI_DATA_KEY", base64.b64encode(b"k" * 32).decode())
    get_settings.cache_clear()
    with pytest.raises(ProtectionError):
        reveal(sealed)
    assert reveal(protect(VALID).ciphertext) == VALID


def test_bad_data_key_is_a_protection_error(monkeypatch):
    monkeypatch.setenv("BOKJI_DATA_KEY", base64.b64encode(b"short").decode())
    get_settings.cache_clear()
    with pytest.raises(ProtectionError, match="32 bytes"):
        protect(VALID)


def test_mask_keeps_birth_date_and_gender_digit():
    assert mask(VALID) == "900101-1******"
    assert mask(hyphenated(with_check("050301412345"))) == "050301-4******"
    assert protect(VALID).masked == "900101-1******"


def test_mask_rejects_invalid_numbers():
    with pytest.raises(Invalid):
        mask("12345")
