"""GB/T 2260 region lookups over python-stdnum's table."""

import pytest

from contracts.regions import RegionNameError, region_exists, region_known, region_name
from tests.cases.birth_cases import REGIONS


@pytest.mark.parametrize("code", ["330106", "110105", "440305"])
def test_current_districts_exist(code: str) -> None:
    assert region_exists(code)
    assert region_known(code)


def test_every_sample_region_exists_with_the_name_the_samples_give_it() -> None:
    for code, name in REGIONS.items():
        assert region_exists(code), code
        assert region_name(code) == name


def test_a_district_abolished_in_2010_is_known_but_no_longer_exists() -> None:
    assert not region_exists("110103")  # [-2010]崇文区
    assert region_known("110103")


def test_a_district_created_in_2015_exists() -> None:
    assert region_exists("110118")  # [2015-]密云区


@pytest.mark.parametrize("code", ["999999", "339999", "000000", "33010", "3301067", "abcdef", ""])
def test_codes_not_in_the_table_neither_exist_nor_are_known(code: str) -> None:
    assert not region_exists(code)
    assert not region_known(code)


def test_display_names_join_province_prefecture_and_county() -> None:
    assert region_name("330106") == "浙江省杭州市西湖区"
    assert region_name("110105") == "北京市朝阳区"
    assert region_name("440305") == "广东省深圳市南山区"
    assert region_name("330000") == "浙江省"
    assert region_name("330100") == "浙江省杭州市"
    assert region_name("429004") == "湖北省仙桃市"


def test_an_unknown_code_has_no_name() -> None:
    with pytest.raises(RegionNameError):
        region_name("999999")
