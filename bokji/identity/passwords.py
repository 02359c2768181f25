"""Password hashes: argon2id (pwdlib) for every new hash; the old scrypt hashes still verify.

A hash that is not argon2id with today's parameters is replaced at the next successful sign-in
(`verify` returns the new hash), so old scrypt hashes and weaker argon2 parameters fade out without
anybody resetting a password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class LegacyScryptHasher:
    """The platform's first format, `scrypt$<salt b64>$<digest b64>`: verified, never written again."""

    @classmethod
    def identify(cls, hash: str | bytes) -> bool:
        return _text(hash).startswith("scrypt$")

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        salt = salt or secrets.token_bytes(16)
        digest = hashlib.scrypt(_bytes(password), salt=salt, **_SCRYPT)
        return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()

    def verify(self, password: str | bytes, hash: str | bytes) -> bool:
        try:
            _scheme, salt_b64, digest_b64 = _text(hash).split("$")
            salt, expected = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
        except ValueError:
            return False
        return hmac.compare_digest(hashlib.scrypt(_bytes(password), salt=salt, **_SCRYPT), expected)

    def check_needs_rehash(self, hash: str | bytes) -> bool:
        return True


# The first hasher writes new hashes; the others only verify. argon2-cffi's defaults are RFC 9106's
# low-memory profile (argon2id, t=3, m=64 MiB, p=4); `check_needs_rehash` compares a hash with them.
HASHER = PasswordHash((Argon2Hasher(), LegacyScryptHasher()))


def hash_password(password: str) -> str:
    return HASHER.hash(password)  # a fresh random salt every time


def verify(password: str, stored: str) -> tuple[bool, str | None]:
    """(matches, the hash to store instead or None). An unrecognised hash never matches."""
    if not any(h.identify(stored) for h in HASHER.hashers):
        return False, None
    return HASHER.verify_and_update(password, stored)


_DUMMY: str | None = None


def dummy_hash() -> str:
    """A hash of a random password, verified when the username is unknown: the answer then costs one
    argon2 run like a wrong password does, so timing does not tell which usernames exist."""
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = hash_password(secrets.token_urlsafe(16))
    return _DUMMY


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value
