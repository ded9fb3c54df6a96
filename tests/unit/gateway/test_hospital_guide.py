"""The hospital guide (docs/hospital-guide.md) holds: its example events are
accepted as they stand, the README posts the real file, and its catalogue of
errors is the one the code has (issue 11, item 8)."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from birthlink.samples import DEMO_HOSPITAL
from contracts.problems import PROBLEM_CODES
from gateway.api import catalogue
from gateway.clock import ManualClock
from tests.support.gateway import running_gateway

ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT / "docs" / "hospital-guide.md"
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.json"))
# A moment after the examples' births and consents (1 December 2026, China time).
EXAMPLES_NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


async def test_each_example_event_is_accepted_as_it_stands(tmp_path: Path) -> None:
    assert {p.name for p in EXAMPLES} >= {"birth.json", "birth-minimal.json"}
    async with running_gateway(tmp_path, (DEMO_HOSPITAL["code"],)) as gw:
        gw.runtime.clock = ManualClock(EXAMPLES_NOW)
        for example in EXAMPLES:
            answer = await gw.client.post(
                "/v1/births",
                content=example.read_bytes(),
                headers={**gw.auth(DEMO_HOSPITAL["code"]), "Content-Type": "application/json"},
            )
            assert answer.status_code == 202, (example.name, answer.text)
            assert answer.json()["tracking_code"]


def test_the_guide_and_the_readme_post_the_real_example() -> None:
    readme = (ROOT / "README.md").read_text()
    guide = GUIDE.read_text()
    for text in (readme, guide):
        for path in re.findall(r"-d @(\S+)", text):
            assert (ROOT / path).is_file(), path
        assert "-d @docs/examples/birth.json" in text
    for link in re.findall(r"\]\((examples/[^)]+|[a-z-]+\.md)\)", guide):
        assert (GUIDE.parent / link).is_file(), link
    assert "docs/hospital-guide.md" in readme


def test_the_guide_carries_the_catalogue_as_the_code_renders_it() -> None:
    # On a difference: python -m gateway.api.catalogue docs/hospital-guide.md
    assert catalogue.section(GUIDE.read_text()) == catalogue.render()


def test_every_field_code_of_the_contract_has_its_meaning_in_both_languages() -> None:
    assert set(catalogue.FIELD_CODES) == set(PROBLEM_CODES)
    for meaning in [*catalogue.FIELD_CODES.values(), *catalogue.PROBLEM_CODES.values()]:
        assert meaning.en
        assert re.search(r"[\u4e00-\u9fff]", meaning.zh)


API = ROOT / "gateway" / "api"
STATUS_IN_CODE = re.compile(
    r"(?:ProblemError\(\s*|problem_response\(\s*|status_code=|\"status\": )([1-5]\d\d)\b"
)
CODE_IN_CODE = re.compile(r"(?:\"code\": |\bcode=)\"([a-z_]+)\"")


@pytest.mark.parametrize("source", sorted(API.glob("*.py")), ids=lambda p: p.name)
def test_every_status_and_code_the_api_answers_with_is_in_the_catalogue(source: Path) -> None:
    text = source.read_text()
    for status in STATUS_IN_CODE.findall(text):
        if int(status) >= 400:
            assert int(status) in catalogue.STATUSES, f"{source.name}: {status}"
    for code in CODE_IN_CODE.findall(text):
        assert code in {**catalogue.FIELD_CODES, **catalogue.PROBLEM_CODES}, (
            f"{source.name}: {code}"
        )
