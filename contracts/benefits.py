"""The benefits of the seed plan as steps (SPEC §11): the childcare subsidy
(育儿补贴, by programme) and the maternity allowance (生育津贴).

Whether a birth is eligible is a pure decision on the event and the
deployment's programmes; the profile gives the programmes and their amounts.
A reason says, in Chinese and English, which rule said no and which field it read.
"""

# Chinese text uses full-width punctuation on purpose.
# ruff: noqa: RUF001

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from contracts.birth import BirthEvent
from contracts.catalogue import local_birth_date, taken
from contracts.records import ChildcareSubsidyRecord, MaternityAllowanceRecord, ProgrammeAsked
from contracts.registry import (
    ProgrammeDecision,
    RuleContext,
    StepSpec,
    StepTexts,
    Taken,
    Text,
    text,
)

MONTHS_UNTIL_THREE = 36


@dataclass(frozen=True)
class Programme:
    """One childcare subsidy programme of a profile. The monthly amount is
    `monthly_amount_fen`, or by county (the hukou's 6-digit region) in `by_county`."""

    code: str
    title: Text
    born_from: date
    monthly_amount_fen: int | None = None
    by_county: dict[str, int] = field(default_factory=dict)
    child_numbers: tuple[int, ...] = ()  # empty: every child
    hukou_prefix: str | None = None  # None: any hukou
    amounts_are_examples: bool = False


def months_until_three(born: date) -> tuple[str, str]:
    """From the birth month to the month before the third birthday."""
    last = born.year * 12 + born.month - 1 + MONTHS_UNTIL_THREE - 1
    return f"{born:%Y-%m}", f"{last // 12:04d}-{last % 12 + 1:02d}"


def decide(programme: Programme, event: BirthEvent) -> ProgrammeDecision:
    """Whether `programme` pays for this child, how much a month and for which months."""
    born = local_birth_date(event)
    number = event.child.family_child_number
    county = event.household.hukou_region

    def no(zh: str, en: str) -> ProgrammeDecision:
        rule = programme.title
        return ProgrammeDecision(
            programme.code,
            programme.title,
            False,
            text(f"{rule['zh']}：{zh}", f"{rule['en']}: {en}"),
        )

    if born < programme.born_from:
        since = f"{programme.born_from:%Y-%m-%d}"
        return no(
            f"仅适用于{since}及以后出生的孩子（child.born_at：{born:%Y-%m-%d}）",
            f"only for children born on or after {since} (child.born_at: {born:%Y-%m-%d})",
        )
    if programme.child_numbers and number not in programme.child_numbers:
        which = "、".join(f"第{n}" for n in programme.child_numbers)
        which_en = " or ".join(str(n) for n in programme.child_numbers)
        given = "未填写" if number is None else str(number)
        return no(
            f"仅适用于家庭{which}个孩子（child.family_child_number：{given}）",
            f"only for a family's child number {which_en} "
            f"(child.family_child_number: {'not given' if number is None else number})",
        )
    if programme.hukou_prefix and not county.startswith(programme.hukou_prefix):
        return no(
            f"户籍须在本地（household.hukou_region：{county}）",
            f"the household must be registered here (household.hukou_region: {county})",
        )
    amount = programme.by_county.get(county, programme.monthly_amount_fen or 0)
    if not amount:
        return no(
            f"本县区未设定金额（household.hukou_region：{county}）",
            f"no amount is set for this county (household.hukou_region: {county})",
        )
    first, last = months_until_three(born)
    return ProgrammeDecision(programme.code, programme.title, True, None, amount, first, last)


def decide_all(programmes: Sequence[Programme], event: BirthEvent) -> list[ProgrammeDecision]:
    return [decide(programme, event) for programme in programmes]


def _reason(reasons: Sequence[Text]) -> str:
    """A stored reason: English, then Chinese (the page shows the reader's language)."""
    return "; ".join(r["en"] for r in reasons) + " / " + "；".join(r["zh"] for r in reasons)


# -- childcare_subsidy ----------------------------------------------------------------


def childcare_subsidy(programmes: Sequence[Programme]) -> StepSpec:
    """The childcare subsidy step over a profile's programmes."""
    programmes = tuple(programmes)

    def eligible(event: BirthEvent, _context: RuleContext) -> str | None:
        decisions = decide_all(programmes, event)
        if any(d.eligible for d in decisions):
            return None
        return _reason([d.reason for d in decisions if d.reason])

    def record(event: BirthEvent, values: Taken) -> ChildcareSubsidyRecord:
        return ChildcareSubsidyRecord(
            citizen_id=taken(values, "citizen_id"),
            card=values.get("card_number") or taken(values, "application_number"),
            name=event.child.name,
            birth_date=local_birth_date(event),
            hukou_region=event.household.hukou_region,
            family_child_number=event.child.family_child_number,
            guardian_name=event.mother.name,
            programmes=[
                ProgrammeAsked(
                    code=d.code,
                    monthly_amount_fen=d.monthly_amount_fen or 0,
                    first_month=d.first_month or "",
                    last_month=d.last_month or "",
                )
                for d in decide_all(programmes, event)
                if d.eligible
            ],
        )

    def explain(event: BirthEvent) -> list[ProgrammeDecision]:
        return decide_all(programmes, event)

    return StepSpec(
        name="childcare_subsidy",
        department="wjw",
        command="GrantChildcareSubsidy",
        record=record,
        needs=("household_registration", "social_security_card"),
        takes=(
            "household_registration.citizen_id",
            "social_security_card.card_number",
            "social_security_card.application_number",
        ),
        gives={
            "programmes": text("补贴项目", "Programmes"),
            "paid_to": text("发放至", "Paid to"),
        },
        eligible=eligible,
        asks_parents=True,
        explain=explain,
        compensation="stop",
        texts=StepTexts(
            title=text("育儿补贴", "Childcare subsidy"),
            office=text("县区卫生健康局", "the county health commission"),
        ),
    )


def programmes_of(output: Taken) -> list[dict[str, object]]:
    """The department's answer per programme (the step's `programmes` output, JSON)."""
    raw = output.get("programmes")
    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        return []
    return value if isinstance(value, list) else []


# -- maternity_allowance --------------------------------------------------------------


def _insured_employee(event: BirthEvent, _context: RuleContext) -> str | None:
    employment = event.mother.employment
    if employment is None:
        return _reason(
            [
                text(
                    "生育津贴：仅适用于参加职工生育保险的母亲（mother.employment：未填写）",
                    "Maternity allowance: only for mothers insured as employees "
                    "(mother.employment: not given)",
                )
            ]
        )
    if not employment.insured:
        return _reason(
            [
                text(
                    "生育津贴：仅适用于参加职工生育保险的母亲（mother.employment.insured：否）",
                    "Maternity allowance: only for mothers insured as employees "
                    "(mother.employment.insured: false)",
                )
            ]
        )
    return None


def _maternity_allowance(event: BirthEvent, _values: Taken) -> MaternityAllowanceRecord:
    employment = event.mother.employment
    assert employment is not None  # the step is not applicable without it
    return MaternityAllowanceRecord(
        mother_name=event.mother.name,
        mother_id_type=event.mother.id_type,
        mother_id_number=event.mother.id_number,
        employer_code=employment.employer_code,
        birth_date=local_birth_date(event),
        plurality=event.child.plurality,
    )


MATERNITY_ALLOWANCE = StepSpec(
    name="maternity_allowance",
    department="nhsa",
    command="ClaimMaternityAllowance",
    record=_maternity_allowance,
    gives={
        "amount_fen": text("金额（分）", "Amount (fen)"),
        "days": text("天数", "Days"),
        "paid_to": text("发放至", "Paid to"),
        "payment_date": text("发放日期", "Payment date"),
    },
    eligible=_insured_employee,
    asks_parents=True,
    compensation="stop",
    texts=StepTexts(
        title=text("生育津贴", "Maternity allowance"),
        office=text(
            "医保经办窗口（职工生育保险）", "the medical insurance office (employee scheme)"
        ),
    ),
)
