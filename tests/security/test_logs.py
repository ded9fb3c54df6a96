"""No posted personal value appears in any log line: structlog's output is
captured, through the processors every birthlink process uses, while births go
through end to end (completed, refused by a department that quotes the data,
posted invalid, looked up by parents, called back with a forged signature)."""

import io
import logging
import random
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from birthlink import logs
from birthlink.samples import birth_event
from tests.security.personal import found_in, personal_values
from tests.security.signing import signed
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every structlog line of this test, rendered as JSON like in production."""
    stream = io.StringIO()
    structlog.configure(
        processors=logs.processors(structlog.processors.JSONRenderer(ensure_ascii=False)),
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    try:
        yield stream
    finally:
        structlog.reset_defaults()


async def test_no_personal_value_reaches_a_log_line(stack: Stack, log_lines: io.StringIO) -> None:
    rng = random.Random(64)
    events = [birth_event(rng) for _ in range(3)]
    quoted = events[-1]["mother"]
    await stack.faults(
        "nhc",
        reject=[
            {
                "field": "mqxm",
                "equals": quoted["name"],
                "reason": f"{quoted['name']} ({quoted['id_number']}, {quoted['phone']}) 信息不符",
            }
        ],
    )
    births: list[dict[str, Any]] = []
    for event in events:
        posted = await stack.post(event)
        assert posted.status_code == 202
        births.append(await stack.wait_until_final(posted.json()["birth_id"]))
    assert births[-1]["status"] == "action_required"

    invalid = birth_event(rng)
    invalid["mother"]["phone"] = "1391234567"  # one digit short
    assert (await stack.post(invalid)).status_code == 422
    for verification in (events[0]["mother"]["id_number"][-6:], "000000"):
        await stack.anonymous.get(
            f"/v1/track/{births[0]['tracking_code']}", headers={"X-Verification": verification}
        )
    body, headers = signed({"sqbh": "x", "zt": "approved", "gmsfhm": quoted["id_number"]}, "forged")
    assert (
        await stack.anonymous.post("/v1/callbacks/mps", content=body, headers=headers)
    ).status_code == 401

    text = log_lines.getvalue()
    lines = text.splitlines()
    assert len(lines) > 50  # the capture does see the system at work
    assert births[0]["birth_id"] in text
    secrets = set().union(*(personal_values(e) for e in [*events, invalid]))
    secrets |= {
        s["output"]["citizen_id"]
        for b in births
        for s in b["steps"]
        if s["output"].get("citizen_id")
    }
    leaks = {v: [line for line in lines if v in line][:2] for v in found_in(text.encode(), secrets)}
    assert leaks == {}
