"""Personal data helpers: keyed look-up hashes (HMAC-SHA256), so that a person
can be found by an ID number without that number being stored in clear."""

import hashlib
import hmac

from contracts.birth import BirthEvent


def lookup_hash(key: str, *parts: str) -> str:
    """A keyed hash of `parts` (normalised: stripped, upper-case), hex."""
    message = "\x1f".join(p.strip().upper() for p in parts)
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def mother_hash(key: str, event: BirthEvent) -> str:
    """The keyed hash that finds a mother's births without her ID number."""
    return lookup_hash(key, event.mother.id_type, event.mother.id_number)
