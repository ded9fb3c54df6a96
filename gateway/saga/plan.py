"""The step DAG of a deployment, read from its registry: what each step waits
for, whether it applies, and the record it sends.

A step starts when everything it needs is `completed`; its record is built from
the birth event and the outputs it takes from earlier steps.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from pydantic import BaseModel

from contracts.birth import BirthEvent
from contracts.registry import Registry, RuleContext, StepName, StepSpec
from contracts.steps import StepState

Outputs = Mapping[StepName, Mapping[str, str | None]]


@dataclass(frozen=True)
class Plan:
    """The registry's steps as a DAG, with the deployment's rule context."""

    registry: Registry
    context: RuleContext = field(default_factory=RuleContext)

    @property
    def steps(self) -> tuple[StepName, ...]:
        """Every step, each after the steps it needs."""
        return self.registry.names

    def spec(self, step: StepName) -> StepSpec:
        return self.registry[step]

    def department(self, step: StepName) -> str:
        return self.registry[step].department

    def depends_on(self, step: StepName) -> tuple[StepName, ...]:
        return self.registry[step].needs

    def dependants(self, step: StepName) -> tuple[StepName, ...]:
        return self.registry.dependants(step)

    def ready(self, states: Mapping[StepName, StepState]) -> list[StepName]:
        """Waiting steps whose dependencies are all completed."""
        return [
            step
            for step in self.steps
            if states.get(step) == StepState.WAITING
            and all(states.get(dep) == StepState.COMPLETED for dep in self.depends_on(step))
        ]

    def record(self, step: StepName, event: BirthEvent, outputs: Outputs) -> BaseModel:
        """The step's record from the event and the outputs it takes."""
        spec = self.registry[step]
        taken: dict[str, str | None] = {}
        for path in spec.takes:
            source, _, key = path.partition(".")
            taken[key] = outputs.get(source, {}).get(key)
        return spec.record(event, taken)

    def initial_states(
        self, event: BirthEvent, now: datetime | None = None
    ) -> dict[StepName, tuple[StepState, str | None]]:
        """Each step's first state and why: skipped when not asked for, not
        applicable or offline by its rules, and like a step it needs that will
        not be done."""
        asked = event.asked_for(self.steps)
        context = replace(self.context, now=now)
        states: dict[StepName, tuple[StepState, str | None]] = {}
        for spec in self.registry:
            blocked = [states[dep] for dep in spec.needs if states[dep][0] != StepState.WAITING]
            not_applicable = spec.eligible(event, context)
            offline = spec.online(event, context)
            if spec.name not in asked:
                states[spec.name] = (StepState.SKIPPED, "not asked for")
            elif not_applicable:
                states[spec.name] = (StepState.NOT_APPLICABLE, not_applicable)
            elif offline:
                states[spec.name] = (StepState.OFFLINE, offline)
            elif blocked:
                state, _ = blocked[0]
                states[spec.name] = (state, "a step it needs is " + state.value)
            else:
                states[spec.name] = (StepState.WAITING, None)
        return states
