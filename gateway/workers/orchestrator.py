"""The orchestrator: consumes `birthlink.orchestrator`, the adapters' replies,
in batches, and hands each batch to the saga through the replies service (one
transaction per batch, each reply applied once)."""

from contracts.envelope import Envelope
from gateway.services.replies import apply_replies
from gateway.services.unit_of_work import UnitOfWork


class Orchestrator:
    """The consumer of adapters' replies."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def handle_reply(self, envelope: Envelope) -> None:
        """The transport's handler: return acks, raise redelivers."""
        await apply_replies(self.uow, [envelope])

    async def handle_replies(self, envelopes: list[Envelope]) -> None:
        """The transport's batch handler: return acks them all; raise, and the
        transport hands them again one at a time."""
        await apply_replies(self.uow, envelopes)
