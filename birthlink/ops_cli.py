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
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from birthlink.installation import operator_settings
from contracts.steps import BirthStatus, StepState
from gateway.bootstrap import Runtime, bootstrap
from gateway.services.operators import Retried, retry_step
from gateway.store.tables import Birth
from gateway.views import BirthFilter, birth_view, history_view
from gateway.workers.deadletters import list_dead_letters, redrive

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
        runtime = bootstrap(operator_settings())
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
    department: Annotated[
        str | None,
        typer.Option(
            help="With --step-state: that department's step is in it; alone: births whose "
            "step at this department is not settled yet (as the API's filter)."
        ),
    ] = None,
    hospital: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """Births, newest first: id, status, and each step that is not completed."""
    query = BirthFilter(status, step_state, department, hospital)

    async def work(runtime: Runtime) -> list[dict[str, Any]]:
        births, _ = await runtime.find_births(query, limit=limit)
        return births

    for birth in _with_runtime(work):
        open_steps = ", ".join(
            f"{s['step']}={s['state']}"
            for s in birth["steps"]
            if s["state"] != StepState.COMPLETED.value
        )
        typer.echo(
            f"{birth['birth_id']}  {birth['status']:<16} {birth['hospital_code']}  "
            f"{open_steps or '-'}"
        )


@births_app.command("show")
def births_show(birth_id: str) -> None:
    """One birth with its steps and history, as JSON."""

    async def work(runtime: Runtime) -> dict[str, Any] | None:
        async with runtime.db.read() as session:
            birth = await session.get(Birth, birth_id)
            if birth is None:
                return None
            view = await birth_view(session, runtime.registry, birth)
            view["history"] = await history_view(session, birth_id)
            return view

    view = _with_runtime(work)
    if view is None:
        typer.echo(f"no birth {birth_id}", err=True)
        raise typer.Exit(1)
    typer.echo(json.dumps(view, ensure_ascii=False, indent=2))


@births_app.command("retry")
def births_retry(birth_id: str, step: str, operator: Operator) -> None:
    """Queue a failed or rejected step again."""

    async def work(runtime: Runtime) -> Retried | None:
        return await retry_step(runtime.uow, birth_id, step, actor=f"operator:{operator}")

    outcome = _with_runtime(work)
    if outcome is None:
        typer.echo(f"no birth {birth_id} with a step {step}", err=True)
        raise typer.Exit(1)
    if not outcome.retried:
        typer.echo(f"{step} is {outcome.was}: only failed or rejected steps", err=True)
        raise typer.Exit(1)
    typer.echo(f"{birth_id} {step}: {outcome.was} -> {outcome.state}")


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
