"""birthlink's Questionnaire is the contract's application fields (issue 14, item 1),
and a birth reads back as FHIR Tasks, one per step (item 4)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import BaseModel

from birthlink.samples import DEMO_HOSPITAL
from contracts.birth import BirthEvent
from contracts.catalogue import builtin_registry
from contracts.steps import StepState
from gateway.clock import ManualClock
from gateway.fhir.questionnaire import (
    QUESTIONNAIRE_PATH,
    QUESTIONNAIRE_URL,
    application_paths,
    field_type,
)
from gateway.fhir.tasks import STEP_STATE_SYSTEM, TASK_STATUS, task_bundle
from tests.cases.fhir_bundles import FHIR_JSON, example, post_kwargs, questionnaire_response
from tests.support.gateway import Gateway, running_gateway

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
CODE = DEMO_HOSPITAL["code"]
# FHIR R4/R4B Task.status (http://hl7.org/fhir/task-status).
TASK_STATUSES = {
    "draft",
    "requested",
    "received",
    "accepted",
    "rejected",
    "ready",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
}


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path, (CODE,)) as gw:
        gw.runtime.clock = ManualClock(NOW)
        yield gw


def link_ids(items: list[dict[str, Any]]) -> list[str]:
    found: list[str] = []
    for item in items:
        found.append(item["linkId"])
        found += link_ids(item.get("item", []))
        for answer in item.get("answer", []):
            found += link_ids(answer.get("item", []))
    return found


def contract_paths(model: type[BaseModel], prefix: str) -> set[str]:
    paths = set()
    for name in model.model_fields:
        path = f"{prefix}.{name}"
        paths.add(path)
        inner, _ = field_type(path) or (None, False)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            paths |= contract_paths(inner, path)
    return paths


async def test_the_questionnaire_is_served_as_fhir_and_its_link_ids_are_contract_fields(
    gateway: Gateway,
) -> None:
    answer = await gateway.client.get(QUESTIONNAIRE_PATH)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(FHIR_JSON)
    body = answer.json()
    Questionnaire.model_validate(body)  # valid FHIR
    assert body["url"] == QUESTIONNAIRE_URL
    ids = link_ids(body["item"])
    assert len(ids) == len(set(ids))
    assert all(field_type(link_id) is not None for link_id in ids), ids


async def test_every_field_of_the_application_groups_is_asked(gateway: Gateway) -> None:
    ids = set(link_ids((await gateway.client.get(QUESTIONNAIRE_PATH)).json()["item"]))
    for path in application_paths():
        inner, _ = field_type(path) or (None, False)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            assert contract_paths(inner, path) <= ids, path
        assert path in ids
    for group in ("household", "insurance", "contact", "services", "consent", "card_delivery"):
        assert group in ids
    if "family_child_number" in BirthEvent.model_fields["child"].annotation.model_fields:  # type: ignore[union-attr]
        assert "child.family_child_number" in ids


async def test_the_example_answers_only_questions_the_questionnaire_asks(gateway: Gateway) -> None:
    ids = set(link_ids((await gateway.client.get(QUESTIONNAIRE_PATH)).json()["item"]))
    answered = set(link_ids(questionnaire_response(example())["item"]))
    assert answered <= ids


async def test_required_items_are_the_contract_s_required_fields(gateway: Gateway) -> None:
    body = (await gateway.client.get(QUESTIONNAIRE_PATH)).json()
    items = {i["linkId"]: i for i in _flatten(body["item"])}
    assert items["household.hukou_address"]["required"] is True
    assert items["household.household_number"]["required"] is False
    assert items["consent.father_agreed_at"]["required"] is False
    assert items["services"]["repeats"] is True
    assert {o["valueCoding"]["code"] for o in items["card_delivery.method"]["answerOption"]} == {
        "mail",
        "collect",
    }


def _flatten(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        out.append(item)
        out += _flatten(item.get("item", []))
    return out


# -- Tasks ----------------------------------------------------------------------------


def test_every_step_state_has_a_task_status() -> None:
    assert {str(s) for s in StepState} <= set(TASK_STATUS)
    assert set(TASK_STATUS.values()) <= TASK_STATUSES


async def test_a_birth_reads_back_as_a_searchset_of_tasks(gateway: Gateway) -> None:
    kwargs = post_kwargs(example())
    kwargs["headers"].update(gateway.auth(CODE))
    birth_id = (await gateway.client.post("/v1/births", **kwargs)).json()["birth_id"]
    as_json = (
        await gateway.client.get(f"/v1/births/{birth_id}", headers=gateway.auth(CODE))
    ).json()
    answer = await gateway.client.get(
        f"/v1/births/{birth_id}", headers={**gateway.auth(CODE), "Accept": FHIR_JSON}
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(FHIR_JSON)
    body = answer.json()
    Bundle.model_validate(body)
    assert body["type"] == "searchset"
    tasks = [e["resource"] for e in body["entry"]]
    assert [t["code"]["coding"][0]["code"] for t in tasks] == list(builtin_registry().names)
    for task, step in zip(tasks, as_json["steps"], strict=True):
        assert task["resourceType"] == "Task"
        assert task["businessStatus"]["coding"][0] == {
            "system": STEP_STATE_SYSTEM,
            "code": step["state"],
        }
        assert task["status"] == TASK_STATUS[step["state"]]
        assert task["focus"]["identifier"]["value"] == birth_id
        assert task["owner"]["identifier"]["value"] == step["department"]


def test_a_completed_step_s_numbers_are_its_task_s_output() -> None:
    view = {
        "birth_id": "a" * 32,
        "created_at": "2026-12-01T08:00:00+00:00",
        "links": {"self": "/v1/births/" + "a" * 32},
        "steps": [
            {
                "step": "household_registration",
                "department": "mps",
                "state": "completed",
                "output": {"citizen_id": "330106202612010015"},
                "updated_at": "2026-12-01T08:05:00+00:00",
                "started_at": "2026-12-01T08:01:00+00:00",
                "finished_at": "2026-12-01T08:05:00+00:00",
            },
            {
                "step": "social_security_card",
                "department": "hrss",
                "state": "awaiting_department",
                "output": {"application_number": "SQ1"},
                "updated_at": "2026-12-01T08:06:00+00:00",
            },
            {
                "step": "medical_insurance",
                "department": "nhsa",
                "state": "rejected",
                "output": None,
                "last_error": "name mismatch",
                "updated_at": "2026-12-01T08:06:00+00:00",
            },
        ],
    }
    tasks = [e["resource"] for e in task_bundle(view, builtin_registry())["entry"]]
    assert [t["status"] for t in tasks] == ["completed", "accepted", "rejected"]
    assert tasks[0]["output"] == [
        {
            "type": {
                "coding": [
                    {
                        "system": "https://birthlink.example/fhir/CodeSystem/step-output",
                        "code": "citizen_id",
                    }
                ],
                "text": "citizen_id",
            },
            "valueString": "330106202612010015",
        }
    ]
    assert tasks[0]["executionPeriod"]["end"].startswith("2026-12-01T08:05")
    assert tasks[1]["output"][0]["valueString"] == "SQ1"
    assert tasks[2]["statusReason"]["text"] == "name mismatch"
    assert "output" not in tasks[2]


async def test_without_the_fhir_accept_the_birth_is_json_as_before(gateway: Gateway) -> None:
    kwargs = post_kwargs(example())
    kwargs["headers"].update(gateway.auth(CODE))
    birth_id = (await gateway.client.post("/v1/births", **kwargs)).json()["birth_id"]
    answer = await gateway.client.get(f"/v1/births/{birth_id}", headers=gateway.auth(CODE))
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["birth_id"] == birth_id
