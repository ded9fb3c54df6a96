"""Names and topic routing of the bus topology (no network)."""

import pytest

from bus.topology import (
    COMMANDS_EXCHANGE,
    ORCHESTRATOR_QUEUE,
    RESULTS_EXCHANGE,
    Topology,
    department_queue,
    topic_matches,
)


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("nhc.*", "nhc.submit", True),
        ("nhc.*", "nhc", False),
        ("nhc.*", "nhc.submit.now", False),
        ("nhc.*", "cdc.submit", False),
        ("*.submit", "mps.submit", True),
        ("#", "nhc.completed", True),
        ("#", "anything", True),
        ("nhc.#", "nhc", True),
        ("nhc.#", "nhc.a.b.c", True),
        ("#.completed", "completed", True),
        ("#.completed", "nhc.x.completed", True),
        ("#.completed", "nhc.completed.late", False),
        ("a.#.z", "a.z", True),
        ("a.#.z", "a.b.c.z", True),
        ("a.#.z", "a.b.c", False),
        ("a.*.#", "a", False),
        ("a.*.#", "a.b", True),
    ],
)
def test_topic_patterns_match_like_amqp(pattern: str, key: str, matches: bool) -> None:
    assert topic_matches(pattern, key) is matches


def test_commands_route_to_their_department_queue_only() -> None:
    topology = Topology(prefix="t.")
    [spec] = topology.routes(topology.exchange(COMMANDS_EXCHANGE), "nhc.submit")
    assert spec.name == "t." + department_queue("nhc")


def test_every_reply_routes_to_the_orchestrator() -> None:
    topology = Topology()
    [spec] = topology.routes(topology.exchange(RESULTS_EXCHANGE), "hrss.rejected")
    assert spec == topology.queue(ORCHESTRATOR_QUEUE)


def test_unknown_names_are_refused() -> None:
    topology = Topology()
    with pytest.raises(ValueError, match="no queue"):
        topology.queue("birthlink.nowhere")
    with pytest.raises(ValueError, match="no exchange"):
        topology.exchange("birthlink.nowhere")


def test_a_delivery_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="delivery_limit"):
        Topology(delivery_limit=0)


def test_a_crash_limit_below_the_delivery_limit_is_refused() -> None:
    # A failure the transport could not count itself falls back on the broker's
    # count: that must not dead-letter a message before the delivery limit.
    with pytest.raises(ValueError, match="crash_limit"):
        Topology(delivery_limit=5, crash_limit=4)
    assert Topology(delivery_limit=5, crash_limit=5).crash_limit == 5
