"""FHIR Bundles for the tests, all made from the documented example
(docs/examples/fhir/birth-bundle.json): a BFDR-shaped provider live birth report
with Chinese names and identifiers, and the variants hospitals send."""

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "fhir" / "birth-bundle.json"
JSON_EXAMPLE = ROOT / "docs" / "examples" / "birth.json"
FHIR_JSON = "application/fhir+json"
CHILD, MOTHER, FATHER, ORGANIZATION, ENCOUNTER = 1, 2, 3, 4, 5


def example() -> dict[str, Any]:
    bundle: dict[str, Any] = json.loads(EXAMPLE.read_text())
    return bundle


def entry_of(bundle: dict[str, Any], resource_type: str) -> int:
    return next(
        i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == resource_type
    )


def questionnaire_response(bundle: dict[str, Any]) -> dict[str, Any]:
    return bundle["entry"][entry_of(bundle, "QuestionnaireResponse")]["resource"]  # type: ignore[no-any-return]


def drop_answer(bundle: dict[str, Any], link_id: str) -> None:
    """Remove the answer with this linkId, wherever it is nested."""

    def prune(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = []
        for item in items:
            if item["linkId"] == link_id:
                continue
            if "item" in item:
                item["item"] = prune(item["item"])
            kept.append(item)
        return kept

    qr = questionnaire_response(bundle)
    qr["item"] = prune(qr["item"])


def answer(bundle: dict[str, Any], link_id: str, value: dict[str, Any]) -> None:
    """Set (or add at the top level) the answer with this linkId."""

    def find(items: list[dict[str, Any]]) -> dict[str, Any] | None:
        for item in items:
            if item["linkId"] == link_id:
                return item
            found = find(item.get("item", []))
            if found is not None:
                return found
        return None

    qr = questionnaire_response(bundle)
    item = find(qr["item"])
    if item is None:
        qr["item"].append({"linkId": link_id, "answer": [value]})
    else:
        item["answer"] = [value]


def as_message(document: dict[str, Any]) -> dict[str, Any]:
    """The document wrapped in a message Bundle, as national reporting does (NVSS)."""
    return {
        "resourceType": "Bundle",
        "id": "message-ZY2026-0001234",
        "type": "message",
        "timestamp": document["timestamp"],
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:5e0c1a50-message-1"},
        "entry": [
            {
                "fullUrl": "urn:uuid:5e0c1a50-0000-4000-8000-000000000001",
                "resource": {
                    "resourceType": "MessageHeader",
                    "eventUri": "http://nchs.cdc.gov/bfdr_submission",
                    "destination": [{"endpoint": "https://birthlink.example/v1/births"}],
                    "source": {"endpoint": "https://hospital.example/fhir"},
                    "focus": [{"reference": "urn:uuid:5e0c1a50-0000-4000-8000-000000000002"}],
                },
            },
            {
                "fullUrl": "urn:uuid:5e0c1a50-0000-4000-8000-000000000002",
                "resource": document,
            },
        ],
    }


def without_father(bundle: dict[str, Any]) -> dict[str, Any]:
    bundle["entry"] = [
        e for e in bundle["entry"] if e["resource"]["resourceType"] != "RelatedPerson"
    ]
    for link_id in ("consent.father_agreed_at", "father.nationality", "father.ethnicity"):
        drop_answer(bundle, link_id)
    answer(bundle, "household.register_with", {"valueCoding": {"code": "mother"}})
    return bundle


def with_ignored_resources(bundle: dict[str, Any]) -> dict[str, Any]:
    """More of what real documents carry and the contract does not need: other
    resource types, an R4 type R4B dropped, other LOINC codes, an unknown one."""
    child = bundle["entry"][CHILD]["fullUrl"]
    loinc = "http://loinc.org"
    extra: list[dict[str, Any]] = [
        {"resourceType": "Practitioner", "name": [{"family": "张", "given": ["医生"]}]},
        {"resourceType": "Location", "name": "产房 3"},
        {"resourceType": "Medication", "code": {"text": "维生素K1"}},
        {
            "resourceType": "DocumentReference",
            "status": "current",
            "content": [
                {"attachment": {"contentType": "application/pdf", "url": "http://x/1.pdf"}}
            ],
        },
        {"resourceType": "MedicinalProduct", "name": [{"productName": "乙肝疫苗"}]},
        {
            "resourceType": "Observation",
            "status": "final",
            "subject": {"reference": child},
            "code": {"coding": [{"system": loinc, "code": "99999-9"}]},
            "valueQuantity": {"value": 12, "unit": "kg"},
        },
        {
            "resourceType": "Observation",
            "status": "final",
            "subject": {"reference": child},
            "code": {"coding": [{"system": loinc, "code": "9272-6", "display": "1 minute Apgar"}]},
            "valueInteger": 8,
        },
    ]
    bundle["entry"] += [
        {"fullUrl": f"urn:uuid:0e0e0e0e-0000-4000-8000-{i:012d}", "resource": r}
        for i, r in enumerate(extra)
    ]
    return bundle


def twin(bundle: dict[str, Any], order: int, record_id: str) -> dict[str, Any]:
    """One of twins: plurality 2, this child's birth order, its own record id."""
    bundle["identifier"]["value"] = record_id
    child = bundle["entry"][CHILD]["resource"]
    child["multipleBirthInteger"] = order
    child["name"][0]["given"] = ["子涵" if order == 1 else "子墨"]
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Observation" and any(
            c["code"] == "57722-1" for c in resource["code"]["coding"]
        ):
            resource["valueInteger"] = 2
    return bundle


def shifted(bundle: dict[str, Any], now: datetime, record_id: str) -> dict[str, Any]:
    """The same birth two hours ago (for a stack on the real clock)."""
    text = json.dumps(bundle, ensure_ascii=False)
    born = now - timedelta(minutes=120)
    old = datetime.fromisoformat("2026-12-01T14:00:00+08:00")
    for minutes in (0, 50, 80, 95, 97, 100):
        moment = old + timedelta(minutes=minutes)
        fresh = (born + timedelta(minutes=minutes)).astimezone(moment.tzinfo)
        text = text.replace(moment.isoformat(), fresh.isoformat(timespec="seconds"))
    text = text.replace('"2026-12-01"', f'"{born.astimezone(old.tzinfo).date().isoformat()}"')
    moved: dict[str, Any] = json.loads(text)
    moved["identifier"]["value"] = record_id
    return moved


def post_kwargs(bundle: object, version: str | None = None) -> dict[str, Any]:
    content_type = FHIR_JSON + (f"; fhirVersion={version}" if version else "")
    return {
        "content": json.dumps(bundle, ensure_ascii=False).encode(),
        "headers": {"Content-Type": content_type},
    }


# Keep the example untouched for callers that mutate.
def fresh(bundle: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(bundle)
