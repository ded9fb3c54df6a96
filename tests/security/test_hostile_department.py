"""A department that answers with an XML bomb or an external entity: the step
fails cleanly with a reason, and the vaccination adapter stays up (the next
birth completes once the department answers properly)."""

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from birthlink.samples import birth_event
from tests.cases.hostile_xml import BILLION_LAUGHS, EXTERNAL_ENTITY
from tests.support.servers import bound_socket, serve, wait_for
from tests.support.stack import KINDS, running_stack

pytestmark = pytest.mark.e2e

GOOD = b"<Result><RecordNo>CDC330106000001</RecordNo></Result>"


class HostileCdc:
    """The immunisation registry's register endpoint, answering what it is told."""

    def __init__(self) -> None:
        self.answer = BILLION_LAUGHS
        self.requests = 0
        self.app = Starlette(
            routes=[Route("/ImmunizationService/register", self.register, methods=["POST"])]
        )

    async def register(self, request: Request) -> Response:
        await request.body()
        self.requests += 1
        return Response(self.answer, media_type="application/xml")


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def vaccination(birth: dict[str, Any]) -> dict[str, Any]:
    return next(s for s in birth["steps"] if s["step"] == "vaccination_record")


async def test_xml_bombs_and_external_entities_fail_the_step_and_the_adapter_stays_up(
    kind: str, tmp_path: Path
) -> None:
    cdc = HostileCdc()
    async with (
        serve(cdc.app, bound_socket()) as cdc_url,
        running_stack(
            kind,
            tmp_path,
            retry_ladder_s=(0.2,),
            step_deadline=timedelta(seconds=1.5),
            adapter_overrides={"cdc_url": cdc_url},
        ) as stack,
    ):
        rng = random.Random(63)
        for answer in (BILLION_LAUGHS, EXTERNAL_ENTITY):
            cdc.answer = answer
            seen = cdc.requests
            posted = await stack.post(birth_event(rng))
            birth_id = posted.json()["birth_id"]

            async def failed(birth_id: str = birth_id) -> dict[str, Any] | None:
                birth = await stack.birth(birth_id)
                return birth if vaccination(birth)["state"] == "failed" else None

            step = vaccination(await wait_for(failed, within=30, what="vaccination failed"))
            assert step["last_error"]  # "deadline passed" or "retries exhausted: ..."
            events = (await stack.hospital.get(f"/v1/births/{birth_id}/history")).json()
            reasons = [
                e["detail"] or ""
                for e in events["events"]
                if e["step"] == "vaccination_record" and e["to"] in ("retrying", "failed")
            ]
            assert any("forbidden construct" in r for r in reasons), reasons
            assert not any("root:" in r for r in reasons)  # nothing of /etc/passwd leaked
            assert cdc.requests > seen
            birth = await stack.wait_until_final(birth_id)
            assert birth["status"] == "action_required"  # for an operator, not lost
        cdc.answer = GOOD
        posted = await stack.post(birth_event(rng))
        birth = await stack.wait_until_final(posted.json()["birth_id"])
        assert vaccination(birth)["state"] == "completed"
        assert vaccination(birth)["output"]["record_number"] == "CDC330106000001"
