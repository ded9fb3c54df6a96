"""The orchestrator: consumes `birthlink.orchestrator`, the adapters' replies,
and hands each to the saga through the replies service (one committed change
per reply, applied once)."""

from contracts.envelope import Envelope
from gateway.services.replies import apply_reply
from gateway.services.unit_of_work import UnitOfWork


class Orchestrator:
    """The consumer of adapters' replies."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    async def handle_reply(self, envelope: Envelope) -> None:
        """The transport's handler: return acks, raise redelivers."""
        await apply_reply(self.uow, envelope)
