"""birthlink's Questionnaire for the parents' application, generated from the
birth event contract (contracts.birth) so that the two cannot drift.

Each item's ``linkId`` is the contract field's dotted path (``household.register_with``);
a nested model is a ``group``, a ``Literal`` a ``choice`` with its codes, a list of
them a repeating ``choice``.
"""

from __future__ import annotations

import types
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Final, Literal, Union, get_args, get_origin

from fhir.resources.R4B.questionnaire import Questionnaire
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from contracts.birth import BirthEvent

QUESTIONNAIRE_URL: Final = "https://birthlink.example/fhir/Questionnaire/birth-application"
QUESTIONNAIRE_PATH: Final = "/v1/fhir/Questionnaire/birth-application"
CODES_BASE: Final = "https://birthlink.example/fhir/CodeSystem/"

# What the parents answer: whole parts of the event, and single fields the clinical
# resources of a BFDR document do not carry (or not in a form the contract takes).
# A path missing from the contract is left out, so a field added later appears here
# by itself (``child.family_child_number``).
APPLICATION_PATHS: Final = (
    "household",
    "insurance",
    "contact",
    "services",
    "consent",
    "card_delivery",
    "child.family_child_number",
    "child.birthplace_region",
    "mother.nationality",
    "mother.ethnicity",
    "mother.employment",
    "father.nationality",
    "father.ethnicity",
    "duplicate_of_checked",
)
# Answered in the Questionnaire when the clinical resources lack them: optional there,
# the contract still requires them after mapping.
FALLBACK_PATHS: Final = frozenset(
    {
        "child.birthplace_region",
        "mother.nationality",
        "mother.ethnicity",
        "father.nationality",
        "father.ethnicity",
    }
)


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the type inside Optional/Annotated, whether the type is a list)."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            annotation = args[0]
        elif origin is list:
            inner, _ = _unwrap(get_args(annotation)[0])
            return inner, True
        else:
            return annotation, False


def _field(path: str) -> FieldInfo | None:
    model: type[BaseModel] = BirthEvent
    info: FieldInfo | None = None
    for part in path.split("."):
        if part not in model.model_fields:
            return None
        info = model.model_fields[part]
        inner, _ = _unwrap(info.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            model = inner
    return info


def field_type(path: str) -> tuple[Any, bool] | None:
    """The contract's type at a dotted path (and whether it is a list), or None."""
    info = _field(path)
    return None if info is None else _unwrap(info.annotation)


def _item(path: str, info: FieldInfo, *, required: bool) -> dict[str, Any]:
    inner, repeats = _unwrap(info.annotation)
    item: dict[str, Any] = {
        "linkId": path,
        "text": f"{path}: {info.description}" if info.description else path,
        "required": required,
    }
    if repeats:
        item["repeats"] = True
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        item["text"] = info.description or (inner.__doc__ or path).strip().splitlines()[0]
        item["type"] = "group"
        item["item"] = [
            _item(f"{path}.{name}", sub, required=sub.is_required())
            for name, sub in inner.model_fields.items()
        ]
    elif get_origin(inner) is Literal:
        item["type"] = "choice"
        system = CODES_BASE + path.rsplit(".", 1)[-1].replace("_", "-")
        item["answerOption"] = [
            {"valueCoding": {"system": system, "code": str(code)}} for code in get_args(inner)
        ]
    else:
        item["type"] = _PRIMITIVE.get(inner, "string")
    return item


_PRIMITIVE: Final[dict[Any, str]] = {
    bool: "boolean",
    int: "integer",
    float: "decimal",
    datetime: "dateTime",
    date: "date",
    str: "string",
}


def application_paths() -> list[str]:
    """The application paths the contract has."""
    return [path for path in APPLICATION_PATHS if _field(path) is not None]


def leaf_paths() -> list[str]:
    """Every answerable linkId (groups left out)."""
    leaves: list[str] = []

    def walk(item: dict[str, Any]) -> None:
        if item["type"] == "group":
            for sub in item["item"]:
                walk(sub)
        else:
            leaves.append(item["linkId"])

    for item in questionnaire()["item"]:
        walk(item)
    return leaves


@lru_cache(maxsize=1)
def _questionnaire() -> Questionnaire:
    items = []
    for path in application_paths():
        info = _field(path)
        assert info is not None
        required = info.is_required() and path not in FALLBACK_PATHS
        items.append(_item(path, info, required=required))
    return Questionnaire.model_validate(
        {
            "resourceType": "Questionnaire",
            "id": "birth-application",
            "url": QUESTIONNAIRE_URL,
            "version": "1",
            "name": "BirthApplication",
            "title": "出生一件事联办申请 / One thing for a birth: the parents' application",
            "status": "active",
            "subjectType": ["Patient"],
            "item": items,
        }
    )


def questionnaire() -> dict[str, Any]:
    """The Questionnaire as FHIR JSON."""
    body: dict[str, Any] = _questionnaire().model_dump(mode="json")
    return body
