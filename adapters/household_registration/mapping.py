"""The household registration record in public security's format, and its answers.

Wire format: docs/departments.md, `mps`. The application is accepted at once
(`sqbh`) and reviewed later; the review's outcome arrives by signed callback (to
the gateway) or by polling the status endpoint (here).
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from stdnum.cn import ric

from adapters._runtime.china_time import day_stamp
from adapters._runtime.errors import DepartmentProtocolError
from adapters._runtime.replies import accepted, completed, pending, rejected
from contracts.records import HouseholdRegistrationRecord
from contracts.replies import StepReply


def application_request(record: HouseholdRegistrationRecord) -> dict[str, Any]:
    """`POST /hukou/applications` body. `sbr` is the parent the child is registered
    with, `mz` that parent's ethnicity (absent when none), `hh` null when the
    household has no number yet."""
    child, declarant = record.child, record.declarant
    body: dict[str, Any] = {
        "csyxzmbh": record.certificate_number,
        "xm": child.name,
        "xb": child.sex,
        "csrq": day_stamp(child.born_at),
        "csdd": child.birthplace_region,
        "sbr": {
            "xm": declarant.name,
            "zjlx": declarant.id_type,
            "zjhm": declarant.id_number,
            "gx": record.relation,
        },
        "hjdz": {"qh": record.hukou_region, "xz": record.hukou_address},
        "hh": record.household_number,
    }
    if declarant.ethnicity is not None:
        body["mz"] = declarant.ethnicity
    return body


class ApplicationAccepted(BaseModel):
    """`202 {"sqbh", "zt": "pending"}`."""

    model_config = ConfigDict(frozen=True)

    sqbh: str = Field(min_length=1)
    zt: str | None = None


class ApplicationStatus(BaseModel):
    """`GET /hukou/applications/{sqbh}` → where the review stands."""

    model_config = ConfigDict(frozen=True)

    sqbh: str = Field(min_length=1)
    zt: Literal["pending", "approved", "rejected", "withdrawn"]
    gmsfhm: str | None = None
    yy: str | None = None


def is_citizen_id(number: str) -> bool:
    """18 characters, 17 digits and a valid GB 11643 check digit (the region and
    birth date are the department's to vouch for)."""
    return (
        len(number) == 18
        and number[:17].isascii()
        and number[:17].isdigit()
        and ric.calc_check_digit(number) == number[17]
    )


def accepted_reply(answer: ApplicationAccepted) -> StepReply:
    """Submitted: the step awaits the review; `application_number` is known now."""
    return accepted(answer.sqbh, {"application_number": answer.sqbh})


def status_reply(status: ApplicationStatus) -> StepReply:
    """A polled status as the step's reply: approved → `completed {citizen_id}`."""
    if status.zt == "pending":
        return pending(status.sqbh)
    if status.zt == "approved":
        if status.gmsfhm is None or not is_citizen_id(status.gmsfhm):
            raise DepartmentProtocolError("approved application without a valid citizen ID")
        return completed({"citizen_id": status.gmsfhm}, reference=status.sqbh)
    if status.zt == "rejected":
        return rejected(status.yy or "rejected at review", reference=status.sqbh)
    return rejected(status.yy or "application withdrawn", reference=status.sqbh)
