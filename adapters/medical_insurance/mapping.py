"""The medical insurance record in the national platform's names, and its answer.

Wire format: docs/departments.md, `nhsa`.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.records import MedicalInsuranceRecord

PSN_CERT_TYPE_RESIDENT_ID = "01"
"""`psn_cert_type` of a mainland resident ID (the child's citizen ID)."""

INSUTYPE = {"resident": "390"}
"""`insutype` by scheme: 390 is the urban and rural residents' basic medical insurance."""


def enrolment_request(record: MedicalInsuranceRecord) -> dict[str, Any]:
    """`POST /insurance/enrol` body."""
    return {
        "psn_cert_type": PSN_CERT_TYPE_RESIDENT_ID,
        "certno": record.citizen_id,
        "psn_name": record.name,
        "gend": record.sex,
        "brdy": record.birth_date.isoformat(),
        "insutype": INSUTYPE[record.scheme],
        "insu_admdvs": record.region,
    }


class Enrolled(BaseModel):
    """`200 {"psn_no"}`."""

    model_config = ConfigDict(frozen=True)

    psn_no: str = Field(min_length=1)


def enrolment_output(enrolled: Enrolled) -> dict[str, str | None]:
    """What the step gives the saga."""
    return {"insurance_number": enrolled.psn_no}
