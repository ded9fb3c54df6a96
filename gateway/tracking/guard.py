"""Who may see a birth: its tracking code with a verification (the last six
characters of the mother's ID number or of the contact phone), and a limit on
wrong tries per client.

An unknown code and a wrong verification are the same answer. After
`tracking_rate_limit` wrong tries (10 a minute by default) a client is refused
with `429` and `Retry-After` until its oldest wrong try leaves the moving
window, whatever it sends meanwhile (so a locked client cannot keep probing).
The `limits` library keeps the counts; the default storage is this process's
memory (`async+memory://`): several gateway processes each count on their own
until `rate_limit_storage` names a shared store such as `async+redis://…`.
"""

import hmac
import math
import time
from typing import Any

from limits import parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import Birth

NAMESPACE = "tracking-wrong-tries"


def normalise_code(code: str) -> str:
    """`abcd efgh jkmn` and `ABCD-EFGH-JKMN` are the same code."""
    chars = "".join(c for c in code.upper() if c.isalnum())
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}" if len(chars) == 12 else code.strip().upper()


def verified(event: dict[str, Any], given: str) -> bool:
    """Whether `given` is the last 6 characters of the mother's ID or the contact phone."""
    given = given.strip().upper()
    if len(given) != 6:
        return False
    candidates = [
        str(event.get("mother", {}).get("id_number", ""))[-6:].upper(),
        str(event.get("contact", {}).get("phone", ""))[-6:],
    ]
    # Compare with every candidate, in constant time, whatever matched first; as
    # UTF-8 bytes, since compare_digest refuses str with non-ASCII characters (a
    # header byte such as \xe9 reaches us as "é").
    matches = [hmac.compare_digest(given.encode(), c.encode()) for c in candidates if len(c) == 6]
    return any(matches)


async def find_birth(session: AsyncSession, code: str, verification: str) -> Birth | None:
    """The birth behind the code when the verification matches; None otherwise."""
    birth: Birth | None = await session.scalar(
        select(Birth).where(Birth.tracking_code == normalise_code(code))
    )
    if birth is None or not verified(birth.event, verification):
        return None
    return birth


class WrongTries:
    """Counts wrong look-ups per client in a moving window."""

    def __init__(self, limit: str = "10/minute", storage: str = "async+memory://") -> None:
        self._item = parse(limit)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage))

    async def retry_after(self, client: str) -> int | None:
        """Seconds this client must wait before trying again; None: it may try now."""
        if await self._limiter.test(self._item, NAMESPACE, client):
            return None
        stats = await self._limiter.get_window_stats(self._item, NAMESPACE, client)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def count(self, client: str) -> None:
        """Count one wrong try of this client."""
        await self._limiter.hit(self._item, NAMESPACE, client)
