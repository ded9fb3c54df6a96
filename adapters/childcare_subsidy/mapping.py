"""The childcare subsidy record in the commission's names, and its answer."""

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.records import ChildcareSubsidyRecord


def grant_request(record: ChildcareSubsidyRecord) -> dict[str, Any]:
    """`POST /subsidy/grants` body."""
    return {
        "citizen_id": record.citizen_id,
        "card": record.card,
        "name": record.name,
        "birth_date": record.birth_date.isoformat(),
        "hukou_region": record.hukou_region,
        "family_child_number": record.family_child_number,
        "guardian_name": record.guardian_name,
        "programmes": [p.model_dump() for p in record.programmes],
    }


class Granted(BaseModel):
    """`200 {"grant_no", "programmes": [...], "paid_to"}`."""

    model_config = ConfigDict(frozen=True)

    grant_no: str = Field(min_length=1)
    programmes: list[dict[str, Any]] = []
    paid_to: str | None = None


def grant_output(granted: Granted) -> dict[str, str | None]:
    """What the step gives the saga: the programmes as JSON, and who is paid."""
    return {"programmes": json.dumps(granted.programmes), "paid_to": granted.paid_to}
