"""A department's technical error never reaches the parents' page as such (issue 11,
item 3): they read a plain text in Chinese and English; operators still see the detail.
A refusal in words meant for people is still shown."""

# Departments write Chinese with full-width punctuation.
# ruff: noqa: RUF001

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select

from contracts.steps import StepState
from gateway.store.tables import StepRow
from tests.cases.birth_cases import unique_event
from tests.support.gateway import Gateway, running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")

HOSPITAL = unique_event()["hospital"]["code"]
TECHNICAL = [
    "not well-formed XML (line 2, column 407)",
    "department refused with HTTP 400",
    "root element must be <VaccinationRecord>",
    "XML格式错误（第2行第407列）",
    "报文解析异常",
]


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def gateway(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    path: Path = tmp_path_factory.mktemp("reasons")
    async with running_gateway(path, (HOSPITAL,), tracking_stream_s=0.2) as running:
        yield running


async def rejected_birth(gateway: Gateway, reason: str) -> tuple[str, str, dict[str, str]]:
    """A posted birth whose vaccination step the department refused with `reason`."""
    event = unique_event()
    posted = await gateway.client.post("/v1/births", json=event, headers=gateway.auth(HOSPITAL))
    assert posted.status_code == 202, posted.text
    birth_id, code = posted.json()["birth_id"], posted.json()["tracking_code"]
    async with gateway.runtime.db.write() as session:
        row = await session.scalar(
            select(StepRow).where(
                StepRow.birth_id == birth_id, StepRow.step == "vaccination_record"
            )
        )
        assert row is not None
        row.state, row.last_error = StepState.REJECTED.value, reason
    return birth_id, code, {"X-Verification": event["contact"]["phone"][-6:]}


def vaccination(view: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in view["steps"] if s["step"] == "vaccination_record")


@pytest.mark.parametrize("reason", TECHNICAL)
async def test_parents_read_a_plain_text_in_place_of_a_technical_error(
    gateway: Gateway, reason: str
) -> None:
    birth_id, code, verification = await rejected_birth(gateway, reason)

    page = await gateway.client.get(f"/v1/track/{code}", headers=verification)
    stream = await gateway.client.get(f"/v1/track/{code}/events", headers=verification)
    operator = await gateway.client.get(f"/v1/births/{birth_id}", headers=gateway.auth("operator"))

    assert page.status_code == 200
    step = vaccination(page.json())
    assert step["needs_parents"]
    assert step["reason"] is None
    assert "工作人员已收到具体原因" in step["instruction"]["zh"]
    assert "Our staff have the details" in step["instruction"]["en"]
    for shown in (page.text, stream.text):
        assert reason not in shown
        assert "XML" not in shown
        assert "报文" not in shown
    assert "工作人员已收到具体原因" in stream.text
    [held] = [s for s in operator.json()["steps"] if s["step"] == "vaccination_record"]
    assert held["last_error"] == reason


async def test_a_refusal_in_words_for_people_is_still_shown(gateway: Gateway) -> None:
    reason = "疫苗批号与接种记录不符"
    _, code, verification = await rejected_birth(gateway, reason)

    page = await gateway.client.get(f"/v1/track/{code}", headers=verification)

    step = vaccination(page.json())
    assert step["reason"] == reason
    assert reason in step["instruction"]["zh"]
    assert reason in step["instruction"]["en"]
