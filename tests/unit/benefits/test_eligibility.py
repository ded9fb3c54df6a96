"""The benefits' rules on the pure core (SPEC §11): each programme's boundaries,
with the birth time set by hand (a fake clock) in China Standard Time."""

import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from birthlink.samples import baiyin_birth_event, credit_code
from contracts.benefits import decide, months_until_three
from contracts.birth import BirthEvent
from contracts.profile import ProfileError, load_profile
from contracts.registry import CST, RuleContext

BAIYIN = load_profile("baiyin")
PROGRAMMES = {p.code: p.programme() for p in BAIYIN.programmes}
CHILDCARE = BAIYIN.registry()["childcare_subsidy"]
MATERNITY = BAIYIN.registry()["maternity_allowance"]


def born(
    moment: str, *, number: int | None = 2, hukou: str = "620421", **mother: Any
) -> BirthEvent:
    """A Baiyin birth at `moment` (CST), accepted a day later (the clock)."""
    at = datetime.fromisoformat(moment).replace(tzinfo=CST)
    data = baiyin_birth_event(random.Random(7), now=at + timedelta(days=1), family_child_number=1)
    data["child"]["born_at"] = at.isoformat()
    data["child"]["family_child_number"] = number
    data["household"]["hukou_region"] = hukou
    data["mother"].update(mother)
    for dose in data["vaccinations"]:
        dose["given_at"] = (at + timedelta(minutes=30)).isoformat()
    data["consent"] = {
        "mother_agreed_at": (at + timedelta(minutes=10)).isoformat(),
        "father_agreed_at": (at + timedelta(minutes=12)).isoformat(),
    }
    return BirthEvent.model_validate(data, context={"now": at + timedelta(days=1)})


def test_baiyin_pays_from_the_first_of_2024_in_china_time() -> None:
    before = decide(PROGRAMMES["baiyin"], born("2023-12-31T23:59"))
    after = decide(PROGRAMMES["baiyin"], born("2024-01-01T00:01"))  # 2023-12-31 in UTC
    assert not before.eligible
    assert before.reason is not None
    assert "child.born_at" in before.reason["en"]
    assert "2024-01-01" in before.reason["zh"]
    assert after.eligible
    assert (after.first_month, after.last_month) == ("2024-01", "2026-12")
    assert after.monthly_amount_fen == 15000  # 靖远县's example amount


def test_the_national_subsidy_pays_from_the_first_of_2025() -> None:
    assert not decide(PROGRAMMES["national"], born("2024-12-31T12:00")).eligible
    paid = decide(PROGRAMMES["national"], born("2025-01-01T12:00", number=1))
    assert paid.eligible
    assert paid.monthly_amount_fen == 30000


@pytest.mark.parametrize(
    ("day", "first", "last"),
    [("2025-01-31", "2025-01", "2027-12"), ("2025-12-01", "2025-12", "2028-11")],
)
def test_the_last_month_is_the_month_before_the_third_birthday(
    day: str, first: str, last: str
) -> None:
    assert months_until_three(datetime.fromisoformat(day).date()) == (first, last)
    decided = decide(PROGRAMMES["national"], born(f"{day}T08:00"))
    assert (decided.first_month, decided.last_month) == (first, last)


@pytest.mark.parametrize(("number", "eligible"), [(1, False), (2, True), (3, True), (4, False)])
def test_baiyin_pays_a_second_or_third_child_only(number: int, eligible: bool) -> None:
    decided = decide(PROGRAMMES["baiyin"], born("2025-06-01T08:00", number=number))
    assert decided.eligible is eligible
    if not eligible:
        assert decided.reason is not None
        assert f"child.family_child_number: {number}" in decided.reason["en"]
        assert "child.family_child_number" in decided.reason["zh"]


def test_baiyin_pays_only_a_household_registered_in_baiyin() -> None:
    decided = decide(PROGRAMMES["baiyin"], born("2025-06-01T08:00", hukou="620102"))  # Lanzhou
    assert not decided.eligible
    assert decided.reason is not None
    assert "household.hukou_region: 620102" in decided.reason["en"]
    assert decide(PROGRAMMES["national"], born("2025-06-01T08:00", hukou="620102")).eligible


def test_the_subsidy_applies_when_one_programme_pays_and_says_why_when_none_does() -> None:
    assert CHILDCARE.eligible(born("2025-06-01T08:00", number=1), RuleContext("6204")) is None
    reason = CHILDCARE.eligible(born("2024-06-01T08:00", number=1), RuleContext("6204"))
    assert reason is not None
    assert "National childcare subsidy" in reason
    assert "child.born_at" in reason
    assert "Baiyin childcare subsidy" in reason
    assert "child.family_child_number" in reason
    assert "国家育儿补贴" in reason  # and in Chinese


def test_the_maternity_allowance_is_for_mothers_insured_as_employees() -> None:
    code = credit_code("620402", random.Random(1))
    insured = born("2025-06-01T08:00", employment={"employer_code": code, "insured": True})
    not_insured = born("2025-06-01T08:00", employment={"employer_code": code, "insured": False})
    assert MATERNITY.eligible(insured, RuleContext()) is None
    reason = MATERNITY.eligible(not_insured, RuleContext())
    assert reason is not None
    assert "mother.employment.insured" in reason


def test_a_profile_is_checked_at_start_and_the_error_names_the_field(tmp_path: Path) -> None:
    text = Path(BAIYIN_PATH).read_text(encoding="utf-8")
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(text.replace("monthly_amount_fen = 30000", "monthly_amount_fen = -1"))
    with pytest.raises(ProfileError, match=r"programmes\.0\.monthly_amount_fen"):
        load_profile(str(wrong))
    wrong.write_text(text.replace('"medical_insurance",\n  "social', '"social'))
    with pytest.raises(ProfileError, match=r"wrong.toml: deadlines\.medical_insurance: the step"):
        load_profile(str(wrong))
    five = (BAIYIN_PATH.parent / "five.toml").read_text(encoding="utf-8")
    wrong.write_text(five.replace('  "medical_insurance",\n', ""))
    with pytest.raises(ProfileError, match="steps: step 'social_security_card' needs"):
        load_profile(str(wrong))  # the card waits for insurance, which no longer runs
    with pytest.raises(ProfileError, match="known: baiyin, five"):
        load_profile("atlantis")


def test_the_five_profile_runs_todays_five_steps_everywhere() -> None:
    five = load_profile("five")
    assert five.jurisdiction is None
    assert five.registry().names == (
        "birth_certificate",
        "vaccination_record",
        "household_registration",
        "medical_insurance",
        "social_security_card",
    )


BAIYIN_PATH = Path(__file__).resolve().parents[3] / "profiles" / "baiyin.toml"
