"""Field types shared by the departments' wire models (codes, compact dates)."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

SexCode = Literal["1", "2", "9"]
"""GB/T 2261.1: ``1`` male, ``2`` female, ``9`` unstated."""

IdType = Literal["resident_id", "passport", "hk_macao_permit", "taiwan_permit",
                 "foreign_permanent_id"]

RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
"""GB/T 2260 administrative division, six digits."""

Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=50)]
MobilePhone = Annotated[str, StringConstraints(pattern=r"^1[0-9]{10}$")]
Nationality = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""ISO 3166 alpha-3."""
Ethnicity = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
"""GB 3304 ethnic group code."""
CertificateNumber = Annotated[str, StringConstraints(pattern=r"^[A-Z][0-9]{9}$")]
"""A birth medical certificate number (nhc ``zmbh``): one letter, nine digits."""
CitizenId = Annotated[str, StringConstraints(pattern=r"^[0-9]{17}[0-9X]$")]
"""An 18-character resident ID number (its check digit is checked where used)."""


def _parses_as(fmt: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        try:
            datetime.strptime(value, fmt)
        except ValueError:
            raise ValueError(f"expected a date in the form {fmt}") from None
        return value

    return check


CompactDate = Annotated[str, StringConstraints(pattern=r"^[0-9]{8}$"),
                        AfterValidator(_parses_as("%Y%m%d"))]
"""``yyyyMMdd``."""
CompactMinute = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$"),
                          AfterValidator(_parses_as("%Y%m%d%H%M"))]
"""``yyyyMMddHHmm``, China Standard Time."""
IsoDate = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"),
                    AfterValidator(_parses_as("%Y-%m-%d"))]
"""``yyyy-MM-dd``."""


class WireModel(BaseModel):
    """Base of the department bodies: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)
