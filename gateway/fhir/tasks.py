"""A birth's steps as a FHIR ``searchset`` Bundle of ``Task`` s (SPEC §12).

One Task per step of the registry: ``status`` is the step state mapped to the FHIR
task status (:data:`TASK_STATUS`, the table in docs/fhir.md), ``businessStatus``
carries the step state itself, ``output`` the department's numbers, ``focus`` the
birth (by its id), ``owner`` the department.
"""

from __future__ import annotations

import json
from typing import Any, Final

from fhir.resources.R4B.bundle import Bundle

from contracts.registry import Registry
from contracts.steps import StepState

STEP_STATE_SYSTEM: Final = "https://birthlink.example/fhir/CodeSystem/step-state"
STEP_SYSTEM: Final = "https://birthlink.example/fhir/CodeSystem/step"
OUTPUT_SYSTEM: Final = "https://birthlink.example/fhir/CodeSystem/step-output"
BIRTH_ID_SYSTEM: Final = "https://birthlink.example/fhir/sid/birth-id"
DEPARTMENT_SYSTEM: Final = "https://birthlink.example/fhir/sid/department"

TASK_STATUS: Final[dict[str, str]] = {
    StepState.WAITING: "requested",
    StepState.QUEUED: "ready",
    StepState.IN_PROGRESS: "in-progress",
    StepState.RETRYING: "in-progress",
    StepState.AWAITING_DEPARTMENT: "accepted",
    StepState.COMPLETED: "completed",
    StepState.REJECTED: "rejected",
    StepState.FAILED: "failed",
    StepState.SKIPPED: "cancelled",
    StepState.OFFLINE: "on-hold",
    StepState.CANCELLED: "cancelled",
    StepState.COMPENSATED: "cancelled",
    StepState.NOT_APPLICABLE: "cancelled",
    "awaiting_parents": "on-hold",
}
# A state this table does not know yet (a newer engine): still a valid Task.
UNKNOWN_STATE_STATUS: Final = "on-hold"


def _output(key: str, value: object) -> dict[str, Any]:
    kind = {"type": {"coding": [{"system": OUTPUT_SYSTEM, "code": key}], "text": key}}
    if isinstance(value, bool):
        return {**kind, "valueBoolean": value}
    if isinstance(value, int):
        return {**kind, "valueInteger": value}
    if isinstance(value, str):
        return {**kind, "valueString": value}
    return {**kind, "valueString": json.dumps(value, ensure_ascii=False, sort_keys=True)}


def task_bundle(view: dict[str, Any], registry: Registry) -> dict[str, Any]:
    """The birth view (gateway.views.birth_view) as a searchset Bundle of Tasks."""
    birth_id = view["birth_id"]
    entries = []
    for step in view["steps"]:
        name, state = step["step"], step["state"]
        spec = registry[name] if name in registry.names else None
        title = spec.texts.title if spec is not None else {"zh": name, "en": name}
        task: dict[str, Any] = {
            "resourceType": "Task",
            "id": f"{birth_id}-{name.replace('_', '-')}",
            "identifier": [{"system": STEP_SYSTEM, "value": f"{birth_id}:{name}"}],
            "status": TASK_STATUS.get(state, UNKNOWN_STATE_STATUS),
            "businessStatus": {
                "coding": [{"system": STEP_STATE_SYSTEM, "code": state}],
                "text": state,
            },
            "intent": "order",
            "code": {
                "coding": [{"system": STEP_SYSTEM, "code": name, "display": title["en"]}],
                "text": title["zh"],
            },
            "focus": {
                "identifier": {"system": BIRTH_ID_SYSTEM, "value": birth_id},
                "display": view["links"]["self"],
            },
            "owner": {
                "identifier": {"system": DEPARTMENT_SYSTEM, "value": step["department"]},
                "display": step["department"],
            },
            "authoredOn": view["created_at"],
            "lastModified": step["updated_at"],
        }
        if step.get("started_at") or step.get("finished_at"):
            task["executionPeriod"] = {
                k: v
                for k, v in (("start", step.get("started_at")), ("end", step.get("finished_at")))
                if v
            }
        if step.get("last_error"):
            task["statusReason"] = {"text": str(step["last_error"])[:500]}
        output = step.get("output") or {}
        if output:
            task["output"] = [_output(k, v) for k, v in output.items() if v is not None]
        entries.append(
            {
                "fullUrl": f"urn:uuid:{birth_id}-{name}",
                "resource": task,
                "search": {"mode": "match"},
            }
        )
    bundle = Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(entries),
            "link": [{"relation": "self", "url": view["links"]["self"]}],
            "entry": entries,
        }
    )
    body: dict[str, Any] = bundle.model_dump(mode="json")
    return body
