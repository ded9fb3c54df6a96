"""Names and shape of the exchanges and queues (SPEC §6).

Commands: topic exchange `birthlink.commands`, routing key
`<department>.<action>`, one quorum queue per department `birthlink.<department>`.
Results: topic exchange `birthlink.results`, one queue `birthlink.orchestrator`.
Each queue dead-letters into `<queue>.dead` after `delivery_limit` deliveries.
"""

from dataclasses import dataclass, field

COMMANDS_EXCHANGE = "birthlink.commands"
RESULTS_EXCHANGE = "birthlink.results"
DEAD_LETTER_EXCHANGE = "birthlink.dead"
ORCHESTRATOR_QUEUE = "birthlink.orchestrator"
DEPARTMENTS = ("nhc", "cdc", "mps", "nhsa", "hrss")
DEFAULT_DELIVERY_LIMIT = 5


def department_queue(department: str) -> str:
    """`birthlink.nhc`, …"""
    return f"birthlink.{department}"


def dead_letter_queue(queue: str) -> str:
    """Where `queue` dead-letters to."""
    return f"{queue}.dead"


@dataclass(frozen=True)
class QueueSpec:
    """A queue, the exchange it is bound to and its binding keys."""

    name: str
    exchange: str
    bindings: tuple[str, ...]


@dataclass(frozen=True)
class Topology:
    """Every exchange and queue. `prefix` keeps tests on one broker apart."""

    prefix: str = ""
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT
    queues: tuple[QueueSpec, ...] = field(init=False)

    def __post_init__(self) -> None:
        queues = [
            QueueSpec(self.name(department_queue(d)), self.name(COMMANDS_EXCHANGE), (f"{d}.*",))
            for d in DEPARTMENTS
        ]
        queues.append(
            QueueSpec(self.name(ORCHESTRATOR_QUEUE), self.name(RESULTS_EXCHANGE), ("#",))
        )
        object.__setattr__(self, "queues", tuple(queues))

    def name(self, base: str) -> str:
        """A name with this topology's prefix (`""` in production)."""
        return f"{self.prefix}{base}"

    @property
    def exchanges(self) -> tuple[str, ...]:
        return (self.name(COMMANDS_EXCHANGE), self.name(RESULTS_EXCHANGE))

    @property
    def dead_letter_exchange(self) -> str:
        return self.name(DEAD_LETTER_EXCHANGE)
