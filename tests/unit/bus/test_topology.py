"""Names and topic routing of the bus topology (no network)."""

import os
import subprocess
import sys

import pytest

from bus.topology import (
    COMMANDS_EXCHANGE,
    ORCHESTRATOR_QUEUE,
    RESULTS_EXCHANGE,
    Topology,
    department_queue,
    orchestrator_queue,
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


def test_results_are_split_by_birth_over_single_active_partition_queues() -> None:
    topology = Topology(partitions=4)
    assert topology.orchestrator_queues == tuple(orchestrator_queue(n) for n in range(4))
    assert all(topology.queue(q).single_active for q in topology.orchestrator_queues)
    births = [f"birth-{n}" for n in range(40)]
    for birth in births:
        key = topology.routing_key(RESULTS_EXCHANGE, "nhc.completed", birth)
        [spec] = topology.routes(topology.exchange(RESULTS_EXCHANGE), key)
        assert spec.name == orchestrator_queue(topology.partition(birth))
        # A re-driven result keeps its partition instead of gaining a second one.
        assert topology.routing_key(RESULTS_EXCHANGE, key, birth) == key
    assert {topology.partition(b) for b in births} == {0, 1, 2, 3}


def test_a_birth_has_the_same_partition_in_every_process() -> None:
    # Adapters and gateways must agree, whatever each process's hash seed.
    ask = "from bus.topology import Topology; print(Topology(partitions=6).partition('b-42'))"
    answers = {
        subprocess.run(
            [sys.executable, "-c", ask],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2", "3")
    }
    assert answers == {str(Topology(partitions=6).partition("b-42"))}


def test_commands_are_not_partitioned() -> None:
    topology = Topology(partitions=6)
    assert topology.routing_key(COMMANDS_EXCHANGE, "nhc.submit", "b1") == "nhc.submit"


def test_one_partition_keeps_the_single_orchestrator_queue() -> None:
    topology = Topology()
    assert topology.orchestrator_queues == (ORCHESTRATOR_QUEUE,)
    assert not topology.queue(ORCHESTRATOR_QUEUE).single_active
    assert topology.routing_key(RESULTS_EXCHANGE, "nhc.completed", "b1") == "nhc.completed"
    with pytest.raises(ValueError, match="partitions"):
        Topology(partitions=0)


def test_a_crash_limit_below_the_delivery_limit_is_refused() -> None:
    # A failure the transport could not count itself falls back on the broker's
    # count: that must not dead-letter a message before the delivery limit.
    with pytest.raises(ValueError, match="crash_limit"):
        Topology(delivery_limit=5, crash_limit=4)
    assert Topology(delivery_limit=5, crash_limit=5).crash_limit == 5
