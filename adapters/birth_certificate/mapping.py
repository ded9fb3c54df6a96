"""The birth certificate record in the health commission's format, and its answer.

Wire format: docs/departments.md, `nhc` (JSON, pinyin-abbreviated field names).
"""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adapters._runtime.china_time import minute_stamp
from contracts.birth import Parent
from contracts.records import BirthCertificateRecord


def _parent(prefix: str, parent: Parent) -> dict[str, Any]:
    fields: dict[str, Any] = {
        f"{prefix}xm": parent.name,
        f"{prefix}zjlx": parent.id_type,
        f"{prefix}sfzh": parent.id_number,
        f"{prefix}gj": parent.nationality,
    }
    if parent.ethnicity is not None:  # only Chinese citizens have one
        fields[f"{prefix}mz"] = parent.ethnicity
    return fields


def certificate_request(record: BirthCertificateRecord) -> dict[str, Any]:
    """`POST /csyxzm` body: the child, the birth, the mother (`mq*`) and the father
    (`fq*`, absent when there is none on the record)."""
    child = record.child
    body: dict[str, Any] = {
        "jgdm": record.hospital_code,
        "jgmc": record.hospital_name,
        "xsexm": child.name,
        "xb": child.sex,
        "csrq": minute_stamp(child.born_at),
        "csdd": child.birthplace_region,
        "yz": child.gestational_weeks,
        "tz": child.weight_g,
        "sc": float(child.length_cm),
        "tc": child.plurality,
        "cc": child.birth_order,
    }
    body |= _parent("mq", record.mother)
    if record.father is not None:
        body |= _parent("fq", record.father)
    return body


class CertificateIssued(BaseModel):
    """`201 {"zmbh"}`: one upper-case letter and nine digits."""

    model_config = ConfigDict(frozen=True)

    zmbh: str = Field(pattern=r"^[A-Z][0-9]{9}$")


def certificate_output(issued: CertificateIssued) -> dict[str, str | None]:
    """What the step gives the saga."""
    return {"certificate_number": issued.zmbh}
