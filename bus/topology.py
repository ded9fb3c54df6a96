"""Names and shape of the exchanges and queues (SPEC §6).

Commands: topic exchange `birthlink.commands`, routing key
`<department>.<action>`, one quorum queue per department `birthlink.<department>`.
Results: topic exchange `birthlink.results`, one queue `birthlink.orchestrator`.
Messages to parents: topic exchange `birthlink.notifications` (routing key
`sms.<kind>`), one queue `birthlink.notifier`.
Each queue dead-letters into `<queue>.dead` a message its handler failed on
`delivery_limit` times, or one delivered `crash_limit` times in all (a message
that takes its consumer down with it every time).
"""

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
    """Every exchange and queue: one command queue per department of the
    deployment's steps. `prefix` keeps tests on one broker apart.

    `delivery_limit`: how many times a handler may fail on a message before it
    is dead-lettered. `crash_limit`: how many deliveries in all, whether the
    handler failed or its consumer died holding the message (the broker's count),
    before it is dead-lettered all the same."""

    prefix: str = ""
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT
    crash_limit: int = DEFAULT_CRASH_LIMIT
    departments: tuple[str, ...] = BUILTIN_DEPARTMENTS
    queues: tuple[QueueSpec, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.delivery_limit < 1:
            raise ValueError(f"delivery_limit must be at least 1, not {self.delivery_limit}")
        if self.crash_limit < self.delivery_limit:
            raise ValueError(
                f"crash_limit ({self.crash_limit}) must be at least"
                f" delivery_limit ({self.delivery_limit})"
            )
        queues = [
            QueueSpec(self.name(department_queue(d)), self.name(COMMANDS_EXCHANGE), (f"{d}.*",))
            for d in self.departments
        ]
        queues.append(QueueSpec(self.name(ORCHESTRATOR_QUEUE), self.name(RESULTS_EXCHANGE), ("#",)))
        queues.append(
            QueueSpec(self.name(NOTIFIER_QUEUE), self.name(NOTIFICATIONS_EXCHANGE), ("#",))
        )
        object.__setattr__(self, "queues", tuple(queues))

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
