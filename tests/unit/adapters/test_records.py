"""Reading a command's record back: without the clock rules, with every other rule."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from adapters._runtime.records import load_record
from contracts.records import BirthCertificateRecord, MedicalInsuranceRecord, VaccinationRecord
from tests.unit.adapters import samples


def test_a_record_reads_back_to_the_same_model() -> None:
    record = samples.vaccination_record()
    assert load_record(VaccinationRecord, record.model_dump(mode="json")) == record


def test_a_birth_more_than_a_year_before_the_adapter_runs_is_still_read() -> None:
    # Posted and checked long ago: the adapter must not refuse it against today.
    data = samples.vaccination_record().model_dump(mode="json")
    data["child"]["born_at"] = "2020-01-01T00:30:00+00:00"
    for dose in data["doses"]:
        dose["given_at"] = "2020-01-01T01:00:00+00:00"
    record = load_record(VaccinationRecord, data)
    assert record.child.born_at == datetime(2020, 1, 1, 0, 30, tzinfo=UTC)


def test_the_other_rules_still_hold() -> None:
    data = samples.certificate_record().model_dump(mode="json")
    data["child"]["weight_g"] = 12
    with pytest.raises(ValidationError):
        load_record(BirthCertificateRecord, data)


def test_a_record_without_moments_is_read_plainly() -> None:
    record = samples.insurance_record()
    assert load_record(MedicalInsuranceRecord, record.model_dump(mode="json")) == record
