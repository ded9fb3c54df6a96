"""Sealing JSON documents: AES-256-GCM under a keyring of key ids.

One format for what rests in the saga store (`gateway.store.crypto`) and what
waits in the broker's queues (`bus.sealed`): `{"kid", "nonce", "ct"}`, the key
id beside the ciphertext, and a context (a column's name, a message's id) as
associated data, so that a sealed value moved elsewhere does not open.
Keys are written `kid:base64key,kid:base64key`; the first is current.
"""

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class SealingError(Exception):
    """A value cannot be sealed or opened: unknown key id, wrong key, or tampering."""


@dataclass(frozen=True)
class Keyring:
    """Keys by id; `current` seals, every key opens (so keys rotate without downtime)."""

    current: str
    keys: Mapping[str, bytes]

    @classmethod
    def parse(cls, text: str) -> "Keyring":
        """Read `kid:base64key,kid:base64key` (the first is current)."""
        keys: dict[str, bytes] = {}
        for item in (part.strip() for part in text.split(",")):
            kid, sep, encoded = item.partition(":")
            if not sep or not kid:
                raise ValueError("keys are written kid:base64key, separated by commas")
            try:
                key = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise ValueError(f"key {kid!r} is not base64") from None
            if len(key) not in (16, 24, 32):
                raise ValueError(f"key {kid!r} must be 16, 24 or 32 bytes, not {len(key)}")
            if kid in keys:
                raise ValueError(f"key id {kid!r} appears twice")
            keys[kid] = key
        return cls(current=next(iter(keys)), keys=keys)

    @staticmethod
    def development(purpose: str) -> str:
        """A fixed `dev:` entry derived from `purpose`, so that `birthlink up`
        works out of the box; every deployment sets its own keys."""
        key = hashlib.sha256(f"birthlink development {purpose} key".encode()).digest()
        return f"dev:{base64.b64encode(key).decode()}"

    @staticmethod
    def generate(kid: str) -> str:
        """A new `kid:base64key` entry with a random 256-bit key."""
        return f"{kid}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"

    def seal(self, document: Any, *, context: str) -> dict[str, str]:
        """Encrypt a JSON document under the current key."""
        nonce = os.urandom(12)
        plain = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        ct = AESGCM(self.keys[self.current]).encrypt(nonce, plain, context.encode())
        return {"kid": self.current, "nonce": _b64(nonce), "ct": _b64(ct)}

    def open(self, sealed: Mapping[str, Any], *, context: str) -> Any:
        """Decrypt a sealed document (under whichever key it names)."""
        if not is_sealed(sealed):
            raise SealingError(f"{context}: value is not encrypted")
        key = self.keys.get(sealed["kid"])
        if key is None:
            raise SealingError(f"{context}: unknown key id {sealed['kid']!r}")
        try:
            plain = AESGCM(key).decrypt(
                base64.b64decode(sealed["nonce"]), base64.b64decode(sealed["ct"]), context.encode()
            )
        except (InvalidTag, binascii.Error, ValueError):
            raise SealingError(f"{context}: cannot decrypt under key {sealed['kid']!r}") from None
        return json.loads(plain)


def is_sealed(value: Any) -> bool:
    return isinstance(value, Mapping) and {"kid", "nonce", "ct"} <= value.keys()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
