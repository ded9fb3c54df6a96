"""Operators' commands: `birthlink births list|show|retry`, `birthlink dead list|redrive`.

They work on the saga store the settings name (like `keys create`), so they need
no key and no running gateway; what they queue (a retried step's command, a
re-driven message) goes through the outbox, and the running relay publishes it.
Every action is written to the birth's history as `operator:<name>`.
"""

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

from contracts.steps import BirthStatus, Department, Step, StepState
from gateway.api.views import birth_view, history_view
from gateway.bootstrap import Runtime, bootstrap
from gateway.deadletters import list_dead_letters, redrive
from gateway.saga.machine import Saga
from gateway.settings import GatewaySettings
from gateway.store.tables import Birth, StepRow

births_app = typer.Typer(help="Find, show and retry births.", no_args_is_help=True)
dead_app = typer.Typer(help="Dead letters: list and re-drive.", no_args_is_help=True)

T = TypeVar("T")
Operator = Annotated[
    str,
    typer.Option(
        "--operator",
        help="Your name, written to the birth's history.",
        default_factory=getpass.getuser,
    ),
]


def _with_runtime(work: Callable[[Runtime], Awaitable[T]]) -> T:
    async def run() -> T:
        runtime = bootstrap(GatewaySettings())
        try:
            return await work(runtime)
        except (OperationalError, ProgrammingError):
            typer.echo(
                "the saga store cannot be read: is it migrated (birthlink migrate)?", err=True
            )
            raise typer.Exit(2) from None
        finally:
            await runtime.db.dispose()

    return asyncio.run(run())


@births_app.command("list")
def births_list(
    status: Annotated[BirthStatus | None, typer.Option()] = None,
    step_state: Annotated[StepState | None, typer.Option()] = None,
    department: Annotated[Department | None, typer.Option()] = None,
    hospital: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Births, newest first: id, status, and each step that is not completed."""

    async def work(runtime: Runtime) -> list[tuple[Birth, list[StepRow]]]:
        query = select(Birth).order_by(Birth.created_at.desc()).limit(limit)
        if status:
            query = query.where(Birth.status == status.value)
        if hospital:
            query = query.where(Birth.hospital_code == hospital)
        if step_state or department:
            steps = select(StepRow.birth_id)
            if step_state:
                steps = steps.where(StepRow.state == step_state.value)
            if department:
                steps = steps.where(StepRow.department == department.value)
            query = query.where(Birth.id.in_(steps))
        async with runtime.db.read() as session:
            births = list((await session.scalars(query)).all())
            rows = (
                await session.scalars(
                    select(StepRow).where(StepRow.birth_id.in_([b.id for b in births]))
                )
            ).all()
        return [(b, [r for r in rows if r.birth_id == b.id]) for b in births]

    for birth, steps in _with_runtime(work):
        open_steps = ", ".join(
            f"{s.step}={s.state}" for s in steps if s.state != StepState.COMPLETED.value
        )
        typer.echo(f"{birth.id}  {birth.status:<16} {birth.hospital_code}  {open_steps or '-'}")


@births_app.command("show")
def births_show(birth_id: str) -> None:
    """One birth with its steps and history, as JSON."""

    async def work(runtime: Runtime) -> dict[str, Any] | None:
        async with runtime.db.read() as session:
            birth = await session.get(Birth, birth_id)
            if birth is None:
                return None
            view = await birth_view(session, birth)
            view["history"] = await history_view(session, birth_id)
            return view

    view = _with_runtime(work)
    if view is None:
        typer.echo(f"no birth {birth_id}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(view, ensure_ascii=False, indent=2))


@births_app.command("retry")
def births_retry(birth_id: str, step: Step, operator: Operator) -> None:
    """Queue a failed or rejected step again."""
    outcome: dict[str, str] = {}

    def retry(saga: Saga, now: datetime) -> None:
        outcome["was"] = saga.steps[step].state.value
        if saga.retry(step, now):
            outcome["now"] = saga.steps[step].state.value

    async def work(runtime: Runtime) -> bool:
        return await runtime.orchestrator.update(birth_id, retry, actor=f"operator:{operator}")

    if not _with_runtime(work):
        typer.echo(f"no birth {birth_id}", err=True)
        raise typer.Exit(1)
    if "now" not in outcome:
        typer.echo(f"{step.value} is {outcome['was']}: only failed or rejected steps", err=True)
        raise typer.Exit(1)
    typer.echo(f"{birth_id} {step.value}: {outcome['was']} -> {outcome['now']}")


@dead_app.command("list")
def dead_list(
    include_redriven: Annotated[bool, typer.Option("--all", help="Also re-driven ones.")] = False,
) -> None:
    """Dead letters waiting for an operator (id, queue, type, birth, step, deaths)."""

    async def work(runtime: Runtime) -> list[Any]:
        return await list_dead_letters(runtime.db, waiting_only=not include_redriven)

    for row in _with_runtime(work):
        done = f"  re-driven by {row.redriven_by}" if row.redriven_at else ""
        typer.echo(
            f"{row.id}  {row.queue}  {row.type}  {row.birth_id}  {row.step or '-'}  "
            f"deaths={row.deaths}  {row.dead_at.isoformat()}{done}"
        )


@dead_app.command("redrive")
def dead_redrive(
    operator: Operator,
    ids: Annotated[list[int] | None, typer.Argument(help="Dead letter ids.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Every waiting one.")] = False,
) -> None:
    """Publish dead letters again through the outbox."""
    if bool(ids) == every:
        raise typer.BadParameter("give dead letter ids or --all, not both")

    async def work(runtime: Runtime) -> list[Any]:
        return await redrive(
            runtime.db,
            None if every else ids,
            actor=f"operator:{operator}",
            now=runtime.clock.now(),
        )

    done = _with_runtime(work)
    for row in done:
        typer.echo(f"re-driven {row.id}  {row.queue}  {row.type}  {row.birth_id}")
    typer.echo(f"{len(done)} re-driven")
