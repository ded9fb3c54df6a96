"""Names and shape of the exchanges and queues (SPEC §6).

Commands: topic exchange `birthlink.commands`, routing key
`<department>.<action>`, one quorum queue per department `birthlink.<department>`.
Results: topic exchange `birthlink.results`, one queue `birthlink.orchestrator`;
or, with `partitions` > 1, the queues `birthlink.orchestrator.<n>` (single
active consumer), each bound to the keys whose first word is its `n`: the
transports put a birth's partition (a hash of its id) in front of every
result's routing key, so that one birth's replies reach one orchestrator at a
time however many run.
Messages to parents: topic exchange `birthlink.notifications` (routing key
`sms.<kind>`), one queue `birthlink.notifier`.
Each queue dead-letters into `<queue>.dead` a message its handler failed on
`delivery_limit` times, or one delivered `crash_limit` times in all (a message
that takes its consumer down with it every time).
"""

import zlib
from dataclasses import dataclass, field

from contracts.catalogue import BUILTIN_DEPARTMENTS

COMMANDS_EXCHANGE = "birthlink.commands"
RESULTS_EXCHANGE = "birthlink.results"
DEAD_LETTER_EXCHANGE = "birthlink.dead"
ORCHESTRATOR_QUEUE = "birthlink.orchestrator"
NOTIFICATIONS_EXCHANGE = "birthlink.notifications"
NOTIFIER_QUEUE = "birthlink.notifier"
DEFAULT_DELIVERY_LIMIT = 5
# Kills of consumers holding a message count too: far more than handler failures,
# so that a message sitting in the prefetch of consumers killed again and again
# (a chaos run, a crash loop elsewhere) is not dead-lettered for it.
DEFAULT_CRASH_LIMIT = 50


def department_queue(department: str) -> str:
    """`birthlink.nhc`, …"""
    return f"birthlink.{department}"


def orchestrator_queue(partition: int) -> str:
    """`birthlink.orchestrator.<partition>`: one partition of the results."""
    return f"{ORCHESTRATOR_QUEUE}.{partition}"


def dead_letter_queue(queue: str) -> str:
    """Where `queue` dead-letters to."""
    return f"{queue}.dead"


@dataclass(frozen=True)
class QueueSpec:
    """A queue, the exchange it is bound to and its binding keys."""

    name: str
    exchange: str
    bindings: tuple[str, ...]
    single_active: bool = False  # one consumer at a time; the others wait their turn


@dataclass(frozen=True)
class Topology:
    """Every exchange and queue: one command queue per department of the
    deployment's steps, and `partitions` queues of results. `prefix` keeps
    tests on one broker apart. Every process of a deployment must be given the
    same `partitions`.

    `delivery_limit`: how many times a handler may fail on a message before it
    is dead-lettered. `crash_limit`: how many deliveries in all, whether the
    handler failed or its consumer died holding the message (the broker's count),
    before it is dead-lettered all the same."""

    prefix: str = ""
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT
    crash_limit: int = DEFAULT_CRASH_LIMIT
    departments: tuple[str, ...] = BUILTIN_DEPARTMENTS
    partitions: int = 1
    queues: tuple[QueueSpec, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.delivery_limit < 1:
            raise ValueError(f"delivery_limit must be at least 1, not {self.delivery_limit}")
        if self.partitions < 1:
            raise ValueError(f"partitions must be at least 1, not {self.partitions}")
        if self.crash_limit < self.delivery_limit:
            raise ValueError(
                f"crash_limit ({self.crash_limit}) must be at least"
                f" delivery_limit ({self.delivery_limit})"
            )
        queues = [
            QueueSpec(self.name(department_queue(d)), self.name(COMMANDS_EXCHANGE), (f"{d}.*",))
            for d in self.departments
        ]
        partitioned = self.partitions > 1
        queues.extend(
            QueueSpec(
                self.name(base),
                self.name(RESULTS_EXCHANGE),
                (f"{n}.#",) if partitioned else ("#",),
                single_active=partitioned,
            )
            for n, base in enumerate(self.orchestrator_queues)
        )
        queues.append(
            QueueSpec(self.name(NOTIFIER_QUEUE), self.name(NOTIFICATIONS_EXCHANGE), ("#",))
        )
        object.__setattr__(self, "queues", tuple(queues))

    @property
    def orchestrator_queues(self) -> tuple[str, ...]:
        """The (unprefixed) queues of results, in partition order."""
        if self.partitions == 1:
            return (ORCHESTRATOR_QUEUE,)
        return tuple(orchestrator_queue(n) for n in range(self.partitions))

    def partition(self, birth_id: str) -> int:
        """The partition of a birth's results: the same in every process."""
        return zlib.crc32(birth_id.encode()) % self.partitions

    def routing_key(self, exchange: str, routing_key: str, birth_id: str) -> str:
        """The key a message is published under: a result's (to the unprefixed
        `RESULTS_EXCHANGE`) starts with its birth's partition, once."""
        if self.partitions == 1 or exchange != RESULTS_EXCHANGE:
            return routing_key
        partition = str(self.partition(birth_id))
        if routing_key.split(".", 1)[0] == partition:  # re-driven: already partitioned
            return routing_key
        return f"{partition}.{routing_key}"

    def name(self, base: str) -> str:
        """A name with this topology's prefix (`""` in production)."""
        return f"{self.prefix}{base}"

    @property
    def exchanges(self) -> tuple[str, ...]:
        return (
            self.name(COMMANDS_EXCHANGE),
            self.name(RESULTS_EXCHANGE),
            self.name(NOTIFICATIONS_EXCHANGE),
        )

    @property
    def dead_letter_exchange(self) -> str:
        return self.name(DEAD_LETTER_EXCHANGE)

    def queue(self, base: str) -> QueueSpec:
        """The queue called `base` (unprefixed, e.g. `department_queue("nhc")`)."""
        name = self.name(base)
        for spec in self.queues:
            if spec.name == name:
                return spec
        raise ValueError(f"no queue {base!r} in this topology")

    def exchange(self, base: str) -> str:
        """The prefixed name of exchange `base` (`COMMANDS_EXCHANGE`, `RESULTS_EXCHANGE`)."""
        name = self.name(base)
        if name not in self.exchanges:
            raise ValueError(f"no exchange {base!r} in this topology")
        return name

    def routes(self, exchange: str, routing_key: str) -> tuple[QueueSpec, ...]:
        """The queues a message published to (prefixed) `exchange` reaches."""
        return tuple(
            spec
            for spec in self.queues
            if spec.exchange == exchange
            and any(topic_matches(pattern, routing_key) for pattern in spec.bindings)
        )


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: words split on `.`; `*` is one word, `#` zero or more."""
    return _words_match(tuple(pattern.split(".")), tuple(routing_key.split(".")))


def _words_match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return _words_match(rest, words) or (bool(words) and _words_match(pattern, words[1:]))
    return bool(words) and head in ("*", words[0]) and _words_match(rest, words[1:])
