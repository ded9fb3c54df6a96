"""The step registry: every step of a birth is one `StepSpec`, and the engine,
the bus topology, settings, the parents' page, SMS, filters and metrics read
them from a `Registry` (SPEC §11). Nothing else names a step.

A registry orders its steps by their dependencies (`needs`), never by the order
of declaration, and refuses a declaration that names an unknown step or output,
repeats a name, or closes a cycle (`RegistryError`).
"""

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal, TypedDict

from pydantic import BaseModel

from contracts.birth import BirthEvent

CST = timezone(timedelta(hours=8), "CST")

StepName = str
DepartmentName = str
# What earlier steps gave, by output name (`certificate_number`, `citizen_id`, ...).
Taken = Mapping[str, str | None]
# A step's record: the department-neutral request (contracts.records, or a
# deployment's own model), sent to the adapter as JSON.
RecordBuilder = Callable[[BirthEvent, Taken], BaseModel]
# How a department undoes the step when a birth is cancelled; `none`: nothing to undo.
Compensation = Literal["revoke", "withdraw", "stop", "none"]


class Text(TypedDict):
    """One text in both languages."""

    zh: str
    en: str


def text(zh: str, en: str) -> Text:
    return {"zh": zh, "en": en}


@dataclass(frozen=True)
class RuleContext:
    """What a step's rules may read besides the event: the deployment's
    jurisdiction (a region code prefix; None: everywhere), and when the birth
    is accepted (None: its rules about time do not apply)."""

    jurisdiction: str | None = None
    now: datetime | None = None


# A rule answers None (the step applies / can be done online) or the reason it does not.
Rule = Callable[[BirthEvent, RuleContext], str | None]


def always(_event: BirthEvent, _context: RuleContext) -> str | None:
    return None


def first_of(*rules: Rule) -> Rule:
    """A rule that gives the first reason any of `rules` gives."""

    def rule(event: BirthEvent, context: RuleContext) -> str | None:
        return next((reason for each in rules if (reason := each(event, context))), None)

    return rule


# What a department gives back is input too: the reason an output is wrong for
# this birth (a citizen ID of another region, date or sex), or None.
OutputCheck = Callable[[BirthEvent, Taken], str | None]


def any_output(_event: BirthEvent, _output: Taken) -> str | None:
    return None


@dataclass(frozen=True)
class LegalDeadline:
    """The law wants the step done within a time of the birth. It passes at the
    end of its last day in China Standard Time."""

    last_day: Callable[[date], date]  # from the birth date (CST); never moves earlier
    rule: str  # for operators: "one month after the birth"
    words: Text  # for parents: "within one month of the birth"

    def due(self, born_at: datetime) -> datetime:
        """The instant the deadline passes."""
        return _start_of(self.last_day(born_at.astimezone(CST).date()) + timedelta(days=1))

    def born_before(self, instant: datetime) -> datetime:
        """Births whose deadline has passed at `instant` were born before this time."""
        today = instant.astimezone(CST).date()
        low, high = today - timedelta(days=400), today
        while low < high:  # last_day is non-decreasing: bisect for the first date not due
            middle = low + (high - low) // 2
            if self.last_day(middle) < today:
                low = middle + timedelta(days=1)
            else:
                high = middle
        return _start_of(low)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), CST)


@dataclass(frozen=True)
class ProgrammeDecision:
    """A benefit programme's answer for one birth (contracts.benefits decides)."""

    code: str
    title: Text
    eligible: bool
    reason: Text | None = None
    monthly_amount_fen: int | None = None
    first_month: str | None = None  # "YYYY-MM"
    last_month: str | None = None


# A benefit's decision per programme, for the parents' page.
Explain = Callable[[BirthEvent], Sequence[ProgrammeDecision]]


@dataclass(frozen=True)
class StepTexts:
    """What parents read of a step: its title, and the office that does it in person."""

    title: Text
    office: Text


@dataclass(frozen=True)
class StepSpec:
    """One step: who does it, what it waits for and takes, when it applies, how
    it is undone, and how parents see it.

    `takes` names outputs of the steps in `needs` as `step.output`; the record
    builder receives them by output name. `gives` labels the outputs the step
    produces (shown to parents); `verify` checks them when the department
    answers (a refused answer does not complete the step). `eligible` and
    `online` are rules: a reason from `eligible` makes the step
    `not_applicable`, one from `online` makes it `offline` (to be done at a
    counter).
    """

    name: StepName
    department: DepartmentName
    command: str  # the submit command's type (`IssueBirthCertificate`)
    record: RecordBuilder
    texts: StepTexts
    needs: tuple[StepName, ...] = ()
    takes: tuple[str, ...] = ()
    gives: Mapping[str, Text] = field(default_factory=dict)
    verify: OutputCheck = any_output
    eligible: Rule = always
    online: Rule = always
    deadline: LegalDeadline | None = None
    answers_later: bool = False
    compensation: Compensation = "revoke"
    fixed_once_sent: tuple[str, ...] = ()
    # A benefit: once its needs are done it waits for the parents to confirm
    # (`awaiting_parents`); `explain` gives its decision per programme.
    asks_parents: bool = False
    explain: Explain | None = None


def department_env(suffix: str, prefix: str = "BIRTHLINK_") -> dict[DepartmentName, str]:
    """Settings that every department may have, from the environment by
    department: `BIRTHLINK_MPS_SECRET` is `{"mps": ...}` for suffix `_SECRET`."""
    return {
        name[len(prefix) : -len(suffix)].lower(): value
        for name, value in os.environ.items()
        if name.startswith(prefix) and name.endswith(suffix) and len(name) > len(prefix + suffix)
    }


def gather_per_department(
    data: Mapping[str, Any], into: str, suffix: str, declared: Iterable[str]
) -> dict[str, Any]:
    """Settings input with every `<department><suffix>` gathered into `data[into]`
    by department: from the environment (`BIRTHLINK_MPS_URL`) and from keywords
    that are not declared fields (`mps_url=`); `data[into]` itself wins."""
    key_suffix, declared = suffix.lower(), set(declared)
    mine = {k for k in data if k.endswith(key_suffix) and k not in declared}
    given = {k.removesuffix(key_suffix): data[k] for k in mine}
    rest = {k: v for k, v in data.items() if k not in mine}
    return {**rest, into: {**department_env(suffix), **given, **data.get(into, {})}}


class RegistryError(ValueError):
    """A set of step declarations that cannot make a plan."""


class Registry:
    """The steps of one deployment, in dependency order."""

    def __init__(self, specs: Iterable[StepSpec]) -> None:
        declared: dict[StepName, StepSpec] = {}
        for spec in specs:
            if spec.name in declared:
                raise RegistryError(f"step {spec.name!r} is declared twice")
            declared[spec.name] = spec
        for spec in declared.values():
            _check_needs(spec, declared)
        self._specs = {spec.name: spec for spec in _ordered(declared)}

    def __iter__(self) -> Iterator[StepSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __getitem__(self, name: StepName) -> StepSpec:
        return self._specs[name]

    @property
    def names(self) -> tuple[StepName, ...]:
        """Every step, each after the steps it needs."""
        return tuple(self._specs)

    @property
    def departments(self) -> tuple[DepartmentName, ...]:
        """Every department that does a step, once, in step order."""
        return tuple(dict.fromkeys(spec.department for spec in self))

    def of_department(self, department: DepartmentName) -> tuple[StepSpec, ...]:
        return tuple(spec for spec in self if spec.department == department)

    def dependants(self, name: StepName) -> tuple[StepName, ...]:
        """The steps that need `name`."""
        return tuple(spec.name for spec in self if name in spec.needs)

    def outputs(self) -> dict[str, Text]:
        """Every output any step gives, with its label."""
        return {key: label for spec in self for key, label in spec.gives.items()}

    def with_steps(self, *specs: StepSpec) -> "Registry":
        """This registry with more steps, or with steps of the same name replaced."""
        replaced = {spec.name: spec for spec in specs}
        kept = [replaced.pop(spec.name, spec) for spec in self]
        return Registry([*kept, *replaced.values()])

    def without(self, name: StepName) -> "Registry":
        """This registry without a step (and without it in anyone's needs)."""
        return Registry(
            replace(
                spec,
                needs=tuple(n for n in spec.needs if n != name),
                takes=tuple(t for t in spec.takes if not t.startswith(f"{name}.")),
            )
            for spec in self
            if spec.name != name
        )


def _check_needs(spec: StepSpec, declared: Mapping[StepName, StepSpec]) -> None:
    for need in spec.needs:
        if need not in declared:
            raise RegistryError(f"step {spec.name!r} needs {need!r}, which is not declared")
    for taken in spec.takes:
        step, _, output = taken.partition(".")
        if step not in declared:
            raise RegistryError(f"step {spec.name!r} takes {taken!r} of an undeclared step")
        if output not in declared[step].gives:
            raise RegistryError(f"step {spec.name!r} takes {taken!r}, which {step!r} never gives")


def _ordered(declared: Mapping[StepName, StepSpec]) -> list[StepSpec]:
    """A topological order that keeps the order of declaration wherever the
    dependencies allow: each time, the first declared step whose needs are placed."""
    placed: dict[StepName, StepSpec] = {}
    pending = list(declared.values())
    while pending:
        ready = next((s for s in pending if all(n in placed for n in s.needs)), None)
        if ready is None:
            names = ", ".join(sorted(spec.name for spec in pending))
            raise RegistryError(f"steps {names} need each other in a cycle")
        placed[ready.name] = ready
        pending.remove(ready)
    return list(placed.values())
