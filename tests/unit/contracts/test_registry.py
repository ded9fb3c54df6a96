"""The step registry: one declaration per step, ordered by what each needs, and
a clear refusal of declarations that cannot make a plan."""

import os
from dataclasses import replace

import pytest

from contracts.catalogue import (
    BIRTH_CERTIFICATE,
    HOUSEHOLD_REGISTRATION,
    SOCIAL_SECURITY_CARD,
    builtin_registry,
)
from contracts.registry import Registry, RegistryError, department_env


def test_the_five_registrations_run_in_dependency_order() -> None:
    registry = builtin_registry()
    assert registry.names == (
        "birth_certificate",
        "vaccination_record",
        "household_registration",
        "medical_insurance",
        "social_security_card",
    )
    assert registry.departments == ("nhc", "cdc", "mps", "nhsa", "hrss")
    assert registry.dependants("household_registration") == (
        "medical_insurance",
        "social_security_card",
    )


def test_declaration_order_does_not_matter_only_needs_do() -> None:
    registry = Registry(reversed(list(builtin_registry())))
    names = registry.names
    for spec in registry:
        assert all(names.index(need) < names.index(spec.name) for need in spec.needs)


def test_whether_the_card_waits_for_insurance_is_a_setting() -> None:
    card = builtin_registry(card_waits_for_insurance=False)["social_security_card"]
    assert card.needs == ("household_registration",)
    assert "medical_insurance.insurance_number" in card.takes  # sent along when there


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        ((BIRTH_CERTIFICATE, BIRTH_CERTIFICATE), "declared twice"),
        ((HOUSEHOLD_REGISTRATION,), "needs 'birth_certificate', which is not declared"),
        (
            (BIRTH_CERTIFICATE, replace(HOUSEHOLD_REGISTRATION, takes=("birth_certificate.nope",))),
            "never gives",
        ),
        (
            (
                replace(BIRTH_CERTIFICATE, needs=("household_registration",)),
                HOUSEHOLD_REGISTRATION,
            ),
            "in a cycle",
        ),
    ],
)
def test_a_declaration_that_cannot_make_a_plan_is_refused(
    specs: tuple[object, ...], message: str
) -> None:
    with pytest.raises(RegistryError, match=message):
        Registry(specs)  # type: ignore[arg-type]


def test_a_step_taken_out_leaves_no_dangling_need() -> None:
    registry = builtin_registry().without("medical_insurance")
    assert "medical_insurance" not in registry
    assert registry["social_security_card"].needs == ("household_registration",)
    assert registry["social_security_card"].takes == ("household_registration.citizen_id",)
    assert SOCIAL_SECURITY_CARD.needs == ("household_registration", "medical_insurance")


def test_per_department_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in list(os.environ):
        if name.startswith("BIRTHLINK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BIRTHLINK_MPS_SECRET", "s1")
    monkeypatch.setenv("BIRTHLINK_WJW_SECRET", "s2")
    monkeypatch.setenv("BIRTHLINK_MPS_URL", "https://mps.example")
    assert department_env("_SECRET") == {"mps": "s1", "wjw": "s2"}
