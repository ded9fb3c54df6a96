"""The bounded chaos run of every CI run (issue 13): births through every role as
its own process on a private three-node RabbitMQ cluster and PostgreSQL, while
processes are killed with `kill -9` (gateways and the notifier included), a
broker node dies, PostgreSQL restarts and a department is down. Nothing may be
lost, repeated at a department, left without its birth, dead-lettered or stuck."""

import os
from pathlib import Path

import pytest

from bench.chaos import Plan, run_chaos

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

BIRTHS = int(os.environ.get("BIRTHLINK_TEST_CHAOS_BIRTHS", "200"))


@pytest.mark.timeout(900)
async def test_a_chaos_run_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    # Two orchestrators: the results' partitions move to the standby when one is killed.
    plan = Plan(
        births=BIRTHS, rate=10, kill_every=3, department_down_s=15, deadline_s=420, orchestrators=2
    )
    report = await run_chaos(plan, tmp_path)
    print("\n".join(report.lines()))
    assert report.accepted == BIRTHS
    assert (report.lost, report.duplicates, report.orphans) == (0, 0, 0)
    assert report.dead_letters == 0
    assert report.server_errors == 0  # a database outage answers 503, never 500
    assert report.exited == []  # a process started during an outage waits for it
    assert report.completed == BIRTHS, "\n".join(report.lines())
    kinds = {what.split()[0] for _, what in report.faults}
    assert {"kill", "RabbitMQ", "PostgreSQL", "department"} <= kinds
