"""`birthlink births cancel`: an operator cancels a birth reported in error.

Like the other operators' commands it works on the saga store the settings
name; the revocations it queues go through the outbox and the running relay
publishes them. The cancellation is written to the birth's history as
`operator:<name>`.
"""

from typing import Annotated

import typer
from pydantic import ValidationError

from birthlink.ops_cli import Operator, _with_runtime
from gateway.bootstrap import Runtime
from gateway.services import corrections


def births_cancel(
    birth_id: str,
    reason: Annotated[str, typer.Option(help="Why: shown in the history, sent to departments.")],
    operator: Operator,
) -> None:
    """Cancel a birth: what was done is revoked at the departments, in reverse order."""
    try:
        reason = corrections.Cancellation(reason=reason).reason
    except ValidationError as invalid:
        typer.echo(f"--reason: {invalid.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None

    async def work(runtime: Runtime) -> str | None:
        return await corrections.cancel(
            runtime.uow, birth_id, reason, actor=f"operator:{operator}"
        )

    status = _with_runtime(work)
    if status is None:
        typer.echo(f"no birth {birth_id}", err=True)
        raise typer.Exit(1)
    done = "" if status == "cancelled" else "; revocations queued"
    typer.echo(f"{birth_id}: {status}{done}")
