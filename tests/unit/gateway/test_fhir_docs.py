"""docs/fhir.md holds (issue 14, item 5): a row for every contract field, the Task
status table the code has, and the example it names exists."""

import re
from pathlib import Path

from pydantic import BaseModel

from contracts.birth import BirthEvent
from gateway.fhir.questionnaire import field_type
from gateway.fhir.tasks import TASK_STATUS

ROOT = Path(__file__).resolve().parents[3]
DOC = (ROOT / "docs" / "fhir.md").read_text()


def leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths = []
    for name in model.model_fields:
        path = f"{prefix}{name}"
        inner, repeats = field_type(path.replace("[]", "")) or (None, False)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            paths += leaf_paths(inner, path + ("[]." if repeats else "."))
        else:
            paths.append(path)
    return paths


def test_every_contract_field_has_a_row_with_its_fhir_source() -> None:
    rows = dict(re.findall(r"^\| `([a-z_.\[\]]+)` \| (.+?) \|", DOC, re.MULTILINE))
    for path in leaf_paths(BirthEvent):
        assert path in rows, path
        assert rows[path].strip(), path


def test_the_task_status_table_is_the_code_s() -> None:
    table = dict(re.findall(r"^\| `([a-z_]+)` \| `([a-z-]+)` \|$", DOC, re.MULTILINE))
    assert table == TASK_STATUS


def test_the_files_the_page_names_exist() -> None:
    for path in re.findall(r"\]\((examples/[^)]+)\)", DOC):
        assert (ROOT / "docs" / path).is_file(), path
    for path in re.findall(r"@(docs/\S+)", DOC):
        assert (ROOT / path).is_file(), path
