"""Personal data helpers: keyed look-up hashes (HMAC-SHA256), so that a person
can be found by an ID number without that number being stored in clear."""

import hashlib
import hmac
from datetime import UTC

from contracts.birth import BirthEvent


def lookup_hash(key: str, *parts: str) -> str:
    """A keyed hash of `parts` (normalised: stripped, upper-case), hex."""
    message = "\x1f".join(p.strip().upper() for p in parts)
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def mother_hash(key: str, event: BirthEvent) -> str:
    """The keyed hash that finds a mother's births without her ID number."""
    return lookup_hash(key, event.mother.id_type, event.mother.id_number)


def duplicate_key(key: str, event: BirthEvent) -> str:
    """The keyed hash of what makes two posts one birth (the duplicate rule): the
    mother, the birth time (as an instant) and the birth order."""
    mother, child = event.mother, event.child
    born = child.born_at.astimezone(UTC).isoformat()
    return lookup_hash(key, "birth", mother.id_type, mother.id_number, born, str(child.birth_order))
