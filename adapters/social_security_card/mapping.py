"""The social security card record in `aac` data codes, and the department's answers.

Wire format: docs/departments.md, `hrss`. The application is accepted at once
(`sqh`); the card is made later and announced by signed callback (to the
gateway) or found by polling the status endpoint (here).
"""

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from adapters._runtime.china_time import day_stamp
from adapters._runtime.errors import DepartmentProtocolError
from adapters._runtime.replies import accepted, completed, pending, rejected
from contracts.records import SocialSecurityCardRecord
from contracts.replies import StepReply

LQFS = {"mail": "1", "collect": "2"}
"""`lqfs`, how the card reaches the family: `1` mailed, `2` collected at a bank branch."""


def application_request(record: SocialSecurityCardRecord) -> dict[str, Any]:
    """`POST /sbk/applications` body. `yjdz` only when the card is mailed, `cbbh`
    only when the insurance number is known, `zp` only with a photo."""
    body: dict[str, Any] = {
        "aac002": record.citizen_id,
        "aac003": record.name,
        "aac004": record.sex,
        "aac006": day_stamp(record.birth_date),
        "lqfs": LQFS[record.delivery],
    }
    if record.insurance_number is not None:
        body["cbbh"] = record.insurance_number
    if record.delivery == "mail":
        address = record.mailing_address
        if address is None:
            raise ValueError("a mailed card needs a mailing address")
        body["yjdz"] = {
            "qh": address.region,
            "xxdz": address.detail,
            "sjr": address.recipient,
            "lxdh": address.phone,
        }
    if record.photo is not None:
        body["zp"] = record.photo
    return body


class CardApplicationAccepted(BaseModel):
    """`202 {"sqh", "zt": "pending"}`."""

    model_config = ConfigDict(frozen=True)

    sqh: str = Field(min_length=1)
    zt: str | None = None


class CardStatus(BaseModel):
    """`GET /sbk/applications/{sqh}` → whether the card is made."""

    model_config = ConfigDict(frozen=True)

    sqh: str = Field(min_length=1)
    zt: Literal["pending", "made", "cancelled"]
    kh: str | None = None
    yjrq: date | None = None


def accepted_reply(answer: CardApplicationAccepted) -> StepReply:
    """Applied: the step awaits the card; `application_number` is known now."""
    return accepted(answer.sqh, {"application_number": answer.sqh})


def status_reply(status: CardStatus) -> StepReply:
    """A polled status as the step's reply: made → `completed {card_number, mailed_at,
    application_number}`."""
    if status.zt == "pending":
        return pending(status.sqh)
    if status.zt == "made":
        if not status.kh:
            raise DepartmentProtocolError("card made without a card number")
        output: dict[str, str | None] = {
            "card_number": status.kh,
            "mailed_at": status.yjrq.isoformat() if status.yjrq else None,
            "application_number": status.sqh,
        }
        return completed(output, reference=status.sqh)
    return rejected("application cancelled", reference=status.sqh)
