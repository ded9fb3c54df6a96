"""Citizen IDs: region, birth date, parity of the sequence, GB 11643 check digit."""

from datetime import date

import pytest
from stdnum.cn import ric

from sandbox.citizen_id import CitizenIdRegistry, citizen_id
from sandbox.errors import CitizenIdsExhaustedError

BORN = date(2026, 11, 27)


def test_citizen_id_has_region_date_sequence_and_check_digit() -> None:
    number = citizen_id("330106", BORN, 1)

    assert number == "330106202611270014"
    assert ric.is_valid(number)


def test_a_check_digit_of_ten_is_an_x() -> None:
    assert citizen_id("110101", BORN, 2) == "11010120261127002X"


@pytest.mark.parametrize(("sex", "parity"), [("1", 1), ("2", 0), ("9", 1)])
def test_registry_follows_the_sex_in_the_sequence_parity(sex: str, parity: int) -> None:
    registry = CitizenIdRegistry()

    numbers = [registry.issue("330106", BORN, sex) for _ in range(5)]

    assert all(int(n[14:17]) % 2 == parity for n in numbers)
    assert all(ric.is_valid(n) for n in numbers)
    assert len(set(numbers)) == 5


def test_registry_never_repeats_a_sequence_for_a_region_and_a_date() -> None:
    registry = CitizenIdRegistry()

    male = [registry.issue("330106", BORN, "1") for _ in range(3)]
    unstated = registry.issue("330106", BORN, "9")
    female = registry.issue("330106", BORN, "2")
    other_day = registry.issue("330106", date(2026, 11, 28), "1")

    assert [n[14:17] for n in male] == ["001", "003", "005"]
    assert unstated[14:17] == "007"
    assert female[14:17] == "002"
    assert other_day[14:17] == "001"


def test_registry_runs_out_after_the_last_sequence() -> None:
    registry = CitizenIdRegistry()
    issued = {registry.issue("330106", BORN, "2") for _ in range(499)}

    with pytest.raises(CitizenIdsExhaustedError):
        registry.issue("330106", BORN, "2")
    assert len(issued) == 499


@pytest.mark.parametrize(("region", "sequence"), [("33010", 1), ("33010a", 1), ("330106", 0),
                                                  ("330106", 1000)])
def test_citizen_id_refuses_impossible_parts(region: str, sequence: int) -> None:
    with pytest.raises(ValueError, match="must be"):
        citizen_id(region, BORN, sequence)
