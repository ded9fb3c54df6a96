"""Who may see a birth: its tracking code with a verification (the last six
characters of the mother's ID number or of the contact phone), and the limits on
wrong tries. The threat model and the numbers: `docs/tracking-security.md`.

An unknown code and a wrong verification are the same answer (`404`), and count
the same. Wrong tries are counted three ways, each in a moving window:

- per address and code (`tracking_client_code_limit`, 5 in 15 minutes and 10 a
  day): a guesser is stopped on the code it guesses, and nobody else is;
- per code, from all addresses together (`tracking_code_limit`, 10 an hour and 20
  a day): the cap that many addresses cannot get around;
- per address, over all codes (`tracking_rate_limit`, 30 in 15 minutes): one
  address cannot lock many families' codes.

Past a limit the try is not checked at all (`429` with `Retry-After`, until the
oldest counted try leaves its window), so a locked guesser learns nothing. An
address that gave the right answer for a code in the last day is "known" for it:
the per-code and per-address limits do not apply to it there, so the parents who
already follow a birth (and the page's live stream, which reconnects) are not
locked out by other people's wrong tries; only its own wrong tries on that code
can stop it. Correct answers are never counted.

The client address is the TCP peer. `X-Forwarded-For` counts only when the peer is
a proxy named in `trusted_proxies` (none by default): then the client is the
nearest address in the header that is not a trusted proxy.

The `limits` library keeps the counts; the default storage is this process's memory
(`async+memory://`): several gateway processes each count on their own until
`rate_limit_storage` names a shared store such as `async+redis://…`.
"""

import hmac
import ipaddress
import math
import time
from collections.abc import Iterable, Sequence
from typing import Any

from limits import RateLimitItem, RateLimitItemPerSecond, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.store.tables import Birth

NAMESPACE = "tracking-wrong-tries"
KNOWN_NAMESPACE = "tracking-known"
KNOWN_FOR_S = 24 * 3600  # how long a right answer makes an address known for a code
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def normalise_code(code: str) -> str:
    """`abcd efgh jkmn` and `ABCD-EFGH-JKMN` are the same code."""
    chars = "".join(c for c in code.upper() if c.isalnum())
    return f"{chars[:4]}-{chars[4:8]}-{chars[8:]}" if len(chars) == 12 else code.strip().upper()


def code_key(code: str) -> str:
    """What a code is counted under: the code itself when it has a code's shape, else
    one shared key (a malformed code matches no birth; it must not grow the store)."""
    normal = normalise_code(code)
    return normal if len(normal) == 14 and normal.isascii() else "malformed"


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


def trusted_networks(spec: str) -> tuple[IpNetwork, ...]:
    """`10.0.0.1, 192.168.0.0/16, ::1` as networks (ValueError on a wrong entry)."""
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()
    )


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.7:51000
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_address(
    peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[IpNetwork]
) -> str:
    """The address wrong tries are counted under.

    The TCP peer, unless it is one of the `trusted` proxies: then the nearest address
    of `X-Forwarded-For` (read from the right, as each proxy appends the address it
    saw) that is not a trusted proxy. An entry that is not an address ends the walk
    at the last trusted hop: what a client writes cannot pick its own key.
    """
    if peer is None:
        return "unknown"
    address = _address(peer)
    if address is None or not any(address in net for net in trusted):
        return peer
    hops = [hop for header in forwarded_for for hop in header.split(",") if hop.strip()]
    client = str(address)
    for hop in reversed(hops):
        found = _address(hop)
        if found is None:
            return client
        client = str(found)
        if not any(found in net for net in trusted):
            return client
    return client


class WrongTries:
    """Counts wrong look-ups per address and code, per code, and per address."""

    def __init__(
        self,
        limit: str = "30/15 minutes",
        storage: str = "async+memory://",
        *,
        per_code: str = "10/hour;20/day",
        per_client_code: str = "5/15 minutes;10/day",
        known_for_s: int = KNOWN_FOR_S,
    ) -> None:
        self._per_client = parse_many(limit)
        self._per_code = parse_many(per_code)
        self._per_client_code = parse_many(per_client_code)
        self._known: RateLimitItem = RateLimitItemPerSecond(1, known_for_s)
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage))

    def _counters(
        self, client: str, code: str, *, known: bool
    ) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        counters: list[tuple[RateLimitItem, tuple[str, ...]]] = [
            (item, ("client-code", client, code)) for item in self._per_client_code
        ]
        if not known:
            counters += [(item, ("code", code)) for item in self._per_code]
            counters += [(item, ("client", client)) for item in self._per_client]
        return counters

    async def known(self, client: str, code: str) -> bool:
        """Whether this address gave the right answer for this code lately."""
        return not await self._limiter.test(self._known, KNOWN_NAMESPACE, client, code)

    async def retry_after(self, client: str, code: str) -> int | None:
        """Seconds before this address may try this code; None: it may try now."""
        code = code_key(code)
        known = await self.known(client, code)
        waits: list[int] = []
        for item, keys in self._counters(client, code, known=known):
            if await self._limiter.test(item, NAMESPACE, *keys):
                continue
            stats = await self._limiter.get_window_stats(item, NAMESPACE, *keys)
            waits.append(max(1, math.ceil(stats.reset_time - time.time())))
        return max(waits) if waits else None

    async def count(self, client: str, code: str) -> None:
        """Count one wrong try of this address on this code, in every counter."""
        code = code_key(code)
        for item, keys in self._counters(client, code, known=False):
            await self._limiter.hit(item, NAMESPACE, *keys)

    async def remember(self, client: str, code: str) -> None:
        """This address gave the right answer for this code: it is known there."""
        code = code_key(code)
        if await self.known(client, code):
            await self._limiter.clear(self._known, KNOWN_NAMESPACE, client, code)
        await self._limiter.hit(self._known, KNOWN_NAMESPACE, client, code)
