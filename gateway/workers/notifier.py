"""The notifier: sends the parents' text messages that the outbox published.

It consumes `birthlink.notifier` in batches. For each message it reads the
birth's contact phone and tracking code (the bus carries neither; one read for
the batch), words the message
(`gateway.tracking.texts`) and hands it to an `SmsProvider` with the message
id as idempotency key: a redelivered message, or one sent again after a crash
between the provider's answer and our ack, reaches the provider with the same
key, and the provider sends nothing new. Messages already sent are remembered
in the inbox (consumer `notifier`) so a redelivery does not even call it.

Errors: `SmsRefusedError` (the provider refuses the message, e.g. a number it
cannot reach) is logged and dropped: sending again would not help.
`SmsUnavailableError` (connect errors, timeouts, 5xx, 429) is retried a few
times in the call, then raised so the bus redelivers the message, and after
its delivery limit dead-letters it for operators.
"""

import asyncio
from typing import Protocol

import httpx
import structlog
from sqlalchemy import select
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from contracts.envelope import Envelope
from contracts.registry import Registry
from gateway.clock import Clock
from gateway.saga.notices import Notice
from gateway.store.db import Database
from gateway.store.inbox import claim_many
from gateway.store.tables import Birth, InboxRow
from gateway.tracking import texts

log = structlog.get_logger()

CONSUMER = "notifier"


class SmsError(Exception):
    """Base of the notifier's errors."""


class SmsRefusedError(SmsError):
    """The provider will not send this message; trying again will not help."""


class SmsUnavailableError(SmsError):
    """The provider could not be reached or asked us to come back later."""


class SmsProvider(Protocol):
    """Sends one text message; the same `key` never sends a second one."""

    async def send(self, to: str, text: str, *, key: str) -> str:
        """Send `text` to the phone `to`; return the provider's message id."""
        ...

    async def close(self) -> None: ...


class HttpSmsProvider:
    """An SMS gateway over HTTP: `POST {base}/messages` `{"to", "text"}` with an
    `Idempotency-Key` header, answering `{"id"}` (the sandbox's `sms` speaks it)."""

    def __init__(
        self, base_url: str, *, timeout_s: float = 10, attempts: int = 3, max_wait_s: float = 2
    ) -> None:
        self.base_url, self._timeout_s = base_url.rstrip("/"), timeout_s
        self._attempts, self._max_wait_s = attempts, max_wait_s
        self._http: httpx.AsyncClient | None = None

    def _client(self) -> httpx.AsyncClient:
        # Made on first use, so that a runtime stopped and started again works.
        if self._http is None or self._http.is_closed:
            self._http = httpx.AsyncClient(base_url=self.base_url, timeout=self._timeout_s)
        return self._http

    async def send(self, to: str, text: str, *, key: str) -> str:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._attempts),
            wait=wait_exponential(multiplier=0.2, max=self._max_wait_s),
            retry=retry_if_exception_type(SmsUnavailableError),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._send_once(to, text, key)
        raise AssertionError("unreachable: tenacity reraises")

    async def _send_once(self, to: str, text: str, key: str) -> str:
        try:
            response = await self._client().post(
                "/messages", json={"to": to, "text": text}, headers={"Idempotency-Key": key}
            )
        except httpx.TransportError as exc:
            raise SmsUnavailableError(type(exc).__name__) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise SmsUnavailableError(f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise SmsRefusedError(f"HTTP {response.status_code}")
        try:
            return str(response.json()["id"])
        except (ValueError, KeyError, TypeError):
            raise SmsUnavailableError("unreadable answer") from None

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()


def word(notice: Notice, registry: Registry, tracking_code: str, page_url: str) -> str:
    """The message for `notice`; names no person, no ID number, no address."""
    steps = [registry[s] for s in notice.steps if s in registry]
    benefits = "".join(f" {line}" for line in notice.benefits)
    match notice.kind:
        case "accepted":
            return texts.sms_accepted(tracking_code, page_url, steps) + benefits
        case "action_needed":
            return texts.sms_action_needed(tracking_code, page_url, steps)
        case "completed":
            return texts.sms_completed(tracking_code, page_url, steps) + benefits
        case "benefits":
            return texts.sms_benefits(tracking_code, page_url) + benefits


class Notifier:
    """Consumes `birthlink.notifier` and sends each message once."""

    def __init__(
        self,
        db: Database,
        provider: SmsProvider,
        clock: Clock,
        registry: Registry,
        *,
        public_url: str,
    ) -> None:
        self.db, self.provider, self.clock, self.registry = db, provider, clock, registry
        self.page_url = f"{public_url.rstrip('/')}/track"

    async def handle(self, envelope: Envelope) -> None:
        """The transport's handler: return acks, raise redelivers."""
        await self.handle_batch([envelope])

    async def handle_batch(self, envelopes: list[Envelope]) -> None:
        """The transport's batch handler: one read for the whole batch (what was
        sent already, the births), each text sent once, one write to remember
        them. Raise, and the transport hands them again one at a time; the
        provider sends nothing new for a key it has seen."""
        fresh = {e.message_id: e for e in envelopes}
        async with self.db.read() as session:
            sent = await session.scalars(
                select(InboxRow.message_id).where(
                    InboxRow.consumer == CONSUMER, InboxRow.message_id.in_(fresh)
                )
            )
            for message_id in sent:
                del fresh[message_id]
            wanted = {e.birth_id for e in fresh.values()}
            births = {
                b.id: b for b in await session.scalars(select(Birth).where(Birth.id.in_(wanted)))
            }
        if not fresh:
            return
        await asyncio.gather(*(self._send(e, births.get(e.birth_id)) for e in fresh.values()))
        async with self.db.write() as session:
            await claim_many(session, ((CONSUMER, m) for m in fresh), now=self.clock.now())

    async def _send(self, envelope: Envelope, birth: Birth | None) -> None:
        if birth is None:
            log.warning("notifier.unknown_birth", birth_id=envelope.birth_id)
            return
        notice = Notice.model_validate(envelope.data)
        phone = str(birth.event.get("contact", {}).get("phone", ""))
        text = word(notice, self.registry, birth.tracking_code, self.page_url)
        try:
            await self.provider.send(phone, text, key=envelope.message_id)
        except SmsRefusedError as exc:
            log.warning("notifier.sms.refused", birth_id=birth.id, kind=notice.kind, error=str(exc))
        else:
            log.debug("notifier.sms.sent", birth_id=birth.id, kind=notice.kind)

    async def close(self) -> None:
        await self.provider.close()
