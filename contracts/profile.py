"""Deployment profiles (SPEC §11): what differs between deployments, as data in
`profiles/<name>.toml`, chosen with `BIRTHLINK_PROFILE`: the jurisdiction, the
steps and benefit programmes that run with their parameters, legal deadlines,
and the offices parents see.

`load_profile(name)` validates the file at start; a wrong one raises
`ProfileError` naming the file and the field.
"""

import re
import tomllib
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.benefits import MATERNITY_ALLOWANCE, Programme, childcare_subsidy
from contracts.catalogue import BUILTIN_STEPS, SOCIAL_SECURITY_CARD, one_month_later
from contracts.registry import LegalDeadline, Registry, RegistryError, StepSpec, StepTexts, text

PROFILES = Path(__file__).resolve().parent.parent / "profiles"
DEFAULT_PROFILE = "baiyin"
# Every department a profile may use: settings and secrets are made for them all.
ALL_DEPARTMENTS = tuple(
    dict.fromkeys(
        spec.department for spec in (*BUILTIN_STEPS, MATERNITY_ALLOWANCE, childcare_subsidy(()))
    )
)

RegionPrefix = Annotated[str, Field(pattern=r"^\d{2}(\d{2}){0,2}$")]
County = Annotated[str, Field(pattern=r"^\d{6}$")]
Fen = Annotated[int, Field(strict=True, gt=0, le=10_000_000)]
StepChoice = Literal[
    "birth_certificate",
    "vaccination_record",
    "household_registration",
    "medical_insurance",
    "social_security_card",
    "childcare_subsidy",
    "maternity_allowance",
]


class ProfileError(ValueError):
    """A profile that cannot run: the message names the file and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Words(_Model):
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class ProgrammeProfile(_Model):
    """A childcare subsidy programme: who it pays and how much a month."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,30}$")
    title: Words
    born_from: date
    monthly_amount_fen: Fen | None = None
    by_county: dict[County, Fen] = {}
    child_numbers: list[Annotated[int, Field(ge=1, le=10)]] = []
    hukou_prefix: RegionPrefix | None = None
    amounts_are_examples: bool = False

    @model_validator(mode="after")
    def _an_amount(self) -> "ProgrammeProfile":
        if (self.monthly_amount_fen is None) == (not self.by_county):
            raise ValueError("give exactly one of monthly_amount_fen and by_county")
        return self

    def programme(self) -> Programme:
        return Programme(
            code=self.code,
            title=text(self.title.zh, self.title.en),
            born_from=self.born_from,
            monthly_amount_fen=self.monthly_amount_fen,
            by_county=dict(self.by_county),
            child_numbers=tuple(self.child_numbers),
            hukou_prefix=self.hukou_prefix,
            amounts_are_examples=self.amounts_are_examples,
        )


class DeadlineProfile(_Model):
    """A legal deadline: so many months or days after the birth."""

    months: int | None = Field(default=None, ge=1, le=12)
    days: int | None = Field(default=None, ge=1, le=365)

    @model_validator(mode="after")
    def _one(self) -> "DeadlineProfile":
        if (self.months is None) == (self.days is None):
            raise ValueError("give exactly one of months and days")
        return self

    def deadline(self) -> LegalDeadline:
        if self.months is not None:
            months = self.months

            def in_months(day: date) -> date:
                for _ in range(months):
                    day = one_month_later(day)
                return day

            unit, zh = ("month" if months == 1 else "months"), f"{months}个月"
            return LegalDeadline(
                in_months,
                f"{months} {unit} after the birth",
                text(f"出生后{zh}内", f"within {months} {unit} of the birth"),
            )
        days = self.days or 0
        return LegalDeadline(
            lambda day: date.fromordinal(day.toordinal() + days),
            f"{days} days after the birth",
            text(f"出生后{days}天内", f"within {days} days of the birth"),
        )


class Profile(_Model):
    """One deployment."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{0,30}$")
    title: Words
    # The region code prefix of the deployment; none: everywhere.
    jurisdiction: RegionPrefix | None = None
    steps: list[StepChoice] = Field(min_length=1)
    card_waits_for_insurance: bool = True
    deadlines: dict[StepChoice, DeadlineProfile] = {}
    offices: dict[StepChoice, Words] = {}
    programmes: list[ProgrammeProfile] = []

    @model_validator(mode="after")
    def _consistent(self) -> "Profile":
        if len(set(self.steps)) != len(self.steps):
            raise ValueError("steps: a step is named twice")
        if "childcare_subsidy" in self.steps and not self.programmes:
            raise ValueError("programmes: childcare_subsidy runs, but no programme is given")
        codes = [p.code for p in self.programmes]
        if len(set(codes)) != len(codes):
            raise ValueError("programmes: a code is given twice")
        for where, names in (("deadlines", self.deadlines), ("offices", self.offices)):
            for name in names:
                if name not in self.steps:
                    raise ValueError(f"{where}.{name}: the step does not run in this profile")
        return self

    def registry(self) -> Registry:
        """The profile's steps, with its deadlines and offices."""
        available: dict[str, StepSpec] = {spec.name: spec for spec in BUILTIN_STEPS}
        if not self.card_waits_for_insurance:
            available["social_security_card"] = replace(
                SOCIAL_SECURITY_CARD, needs=("household_registration",)
            )
        programmes = [p.programme() for p in self.programmes]
        available["childcare_subsidy"] = childcare_subsidy(programmes)
        available["maternity_allowance"] = MATERNITY_ALLOWANCE
        specs = []
        for name in self.steps:
            spec = available[name]
            if name in self.deadlines:
                spec = replace(spec, deadline=self.deadlines[name].deadline())
            if name in self.offices:
                office = self.offices[name]
                spec = replace(spec, texts=StepTexts(spec.texts.title, text(office.zh, office.en)))
            specs.append(spec)
        try:
            return Registry(specs)
        except RegistryError as exc:
            raise ValueError(f"steps: {exc}") from exc


def profile_path(name: str) -> Path:
    """A profile by name (`profiles/<name>.toml`) or by path (`./mine.toml`)."""
    if name.endswith(".toml") or "/" in name:
        return Path(name)
    if not re.fullmatch(r"[a-z][a-z0-9_-]{0,30}", name):
        raise ProfileError(f"BIRTHLINK_PROFILE: {name!r} is neither a profile name nor a path")
    return PROFILES / f"{name}.toml"


def load_profile(name: str = DEFAULT_PROFILE) -> Profile:
    """The profile `name`, validated with its steps' registry; `ProfileError` names
    the file and each wrong field."""
    path = profile_path(name)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(sorted(p.stem for p in PROFILES.glob("*.toml")))
        raise ProfileError(f"profile {name!r}: no file {path} (known: {known})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {path}: not valid TOML: {exc}") from None
    try:
        profile = Profile.model_validate(data)
        profile.registry()
    except ValidationError as exc:
        wrong = "; ".join(
            ": ".join(
                part
                for part in (
                    ".".join(str(part) for part in error["loc"]),
                    error["msg"].removeprefix("Value error, "),
                )
                if part
            )
            for error in exc.errors()
        )
        raise ProfileError(f"profile {path}: {wrong}") from None
    except ValueError as exc:
        raise ProfileError(f"profile {path}: {exc}") from None
    return profile
