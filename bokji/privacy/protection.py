"""The one place that handles resident registration numbers (주민등록번호, YYMMDD-GNNNNNN).

Stored numbers are AES-256-GCM ciphertext (`protect`/`reveal`); equality look-ups use a keyed HMAC
(`lookup_hash`) so the database never needs the plain number to find a person; screens show
`mask`. Error messages never contain the number itself: they end up in logs and API responses.

Keys come from `get_settings()` when first needed, not at import, so tests and the CLI can change
the environment before anything reads them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from datetime import date

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bokji.config import get_settings
from bokji.errors import Invalid
from bokji.i18n import N_
from bokji.i18n import gettext as _

FIELD = "registration_number"
ASSOCIATED_DATA = b"bokji:rrn:v1"
KEY_VERSION = 1  # first byte of every ciphertext; a rotation adds version 2 and keeps 1 readable
NONCE_BYTES = 12
TAG_BYTES = 16

# ASCII digits only: str.isdigit() would also accept full-width and other Unicode digits.
_PATTERN = re.compile(r"([0-9]{6})-?([0-9]{7})")
_CHECK_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
# 7th digit -> century of birth. 5-8 are the same centuries for foreigners' registration numbers.
_CENTURY = {"9": 1800, "0": 1800, "1": 1900, "2": 1900, "5": 1900, "6": 1900,
            "3": 2000, "4": 2000, "7": 2000, "8": 2000}
_FOREIGNER_DIGITS = frozenset("5678")
CHECK_DIGIT_WARNING = (
    "check digit does not match; expected for numbers issued since October 2020, "
    "otherwise verify the number"
)


class ProtectionError(ValueError):
    """Ciphertext that cannot be decrypted (tampered, truncated, unknown key version) or a bad key."""


@dataclass(frozen=True)
class ValidatedNumber:
    digits: str = field(repr=False)  # kept out of repr so a logged object does not leak the number
    birth_date: date
    sex: str  # "M" or "F", from the parity of the 7th digit
    foreigner: bool
    warnings: list[str]


@dataclass(frozen=True)
class Protected:
    ciphertext: bytes  # version byte + nonce + AES-GCM ciphertext and tag
    lookup_hash: str
    masked: str


def _reject(reason: str, **params: object) -> Invalid:
    """`reason` a catalog id (N_): the message in the caller's language, the detail's `reason` in English."""
    return Invalid(_("%(field)s is not valid: %(reason)s") % {"field": FIELD, "reason": _(reason) % params},
                   field=FIELD, reason=reason % params)


def _birth_date(digits: str) -> date:
    year = _CENTURY[digits[6]] + int(digits[0:2])
    try:
        born = date(year, int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        raise _reject(N_("impossible birth date for the century given by the 7th digit (%(year)s assumed)"),
                      year=year) from None
    if born > date.today():
        raise _reject(N_("birth date is in the future"))
    return born


def normalize(rrn: str) -> str:
    """The 13 digits of `rrn` (with or without the hyphen), or `Invalid` saying what is wrong."""
    if not isinstance(rrn, str):
        raise _reject(N_("must be text"))
    match = _PATTERN.fullmatch(rrn.strip())
    if match is None:
        raise _reject(N_("must be 13 digits, as YYMMDD-GNNNNNN or without the hyphen"))
    digits = match.group(1) + match.group(2)
    _birth_date(digits)
    return digits


def check_digit_ok(rrn: str) -> bool:
    digits = normalize(rrn)
    total = sum(int(d) * w for d, w in zip(digits[:12], _CHECK_WEIGHTS, strict=True))
    return (11 - total % 11) % 10 == int(digits[12])


def validate(rrn: str) -> ValidatedNumber:
    """Parse and check `rrn`. A wrong check digit only warns: numbers issued since October 2020
    carry a random last digit, so rejecting them would lock out real people."""
    digits = normalize(rrn)
    warnings = [] if check_digit_ok(digits) else [CHECK_DIGIT_WARNING]
    return ValidatedNumber(
        digits=digits,
        birth_date=_birth_date(digits),
        sex="M" if int(digits[6]) % 2 == 1 else "F",
        foreigner=digits[6] in _FOREIGNER_DIGITS,
        warnings=warnings,
    )


def mask(rrn: str) -> str:
    """`YYMMDD-G******`: birth date and gender digit stay visible, as on Korean screens."""
    digits = normalize(rrn)
    return f"{digits[:6]}-{digits[6]}******"


def mask_name(name: str) -> str:
    """`홍*동`, `김*`, `남궁**`: the first and (from three letters) the last letter stay, as on Korean screens."""
    name = name.strip()
    if len(name) <= 2:
        return name[:1] + "*" * (len(name) - 1)
    return name[0] + "*" * (len(name) - 2) + name[-1]


def lookup_hash(rrn: str) -> str:
    key = get_settings().lookup_key.encode()
    return hmac.new(key, normalize(rrn).encode(), hashlib.sha256).hexdigest()


def _data_keys() -> dict[int, bytes]:
    """Key version -> AES key. Only version 1 exists; rotation will add entries here."""
    try:
        key = base64.b64decode(get_settings().data_key, validate=True)
    except (binascii.Error, ValueError):
        raise ProtectionError("data_key is not valid base64") from None
    if len(key) != 32:
        raise ProtectionError(f"data_key must decode to 32 bytes for AES-256, not {len(key)}")
    return {KEY_VERSION: key}


def protect(rrn: str) -> Protected:
    digits = normalize(rrn)
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(_data_keys()[KEY_VERSION]).encrypt(nonce, digits.encode(), ASSOCIATED_DATA)
    return Protected(
        ciphertext=bytes([KEY_VERSION]) + nonce + sealed,
        lookup_hash=lookup_hash(digits),
        masked=mask(digits),
    )


def reveal(ciphertext: bytes) -> str:
    """The 13 digits sealed by `protect`; `ProtectionError` if the bytes were altered."""
    blob = bytes(ciphertext)  # database drivers may hand back memoryview
    if len(blob) < 1 + NONCE_BYTES + TAG_BYTES:
        raise ProtectionError("ciphertext is too short")
    key = _data_keys().get(blob[0])
    if key is None:
        raise ProtectionError(f"unknown key version {blob[0]}")
    nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, sealed, ASSOCIATED_DATA).decode()
    except (InvalidTag, UnicodeDecodeError):
        raise ProtectionError("ciphertext failed authentication (tampered or wrong key)") from None
