"""The `birthlink` command line (typer)."""

import asyncio
import contextlib
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import prometheus_client
import typer
import uvicorn

from birthlink import logs
from birthlink.cancel_cli import births_cancel
from birthlink.keys_cli import keys_app
from birthlink.ops_cli import births_app, dead_app

if TYPE_CHECKING:
    from adapters._runtime.settings import AdapterSettings
    from gateway.bootstrap import Role
    from gateway.settings import GatewaySettings

app = typer.Typer(help="birthlink: one birth event, five departments.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
births_app.command("cancel")(births_cancel)
app.add_typer(births_app, name="births")
app.add_typer(dead_app, name="dead")

Host = Annotated[str, typer.Option(help="Address to listen on.")]


def _run(coro: Coroutine[Any, Any, None]) -> None:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coro)


def _production(
    role: str, gateway: "GatewaySettings | None" = None, adapter: "AdapterSettings | None" = None
) -> None:
    """Refuse to run `role` on a development key or secret (issue 11): say which
    settings to fill, exit 1."""
    from birthlink.installation import DevelopmentSecretsError, require_production_secrets

    try:
        require_production_secrets(role, gateway, adapter)
    except DevelopmentSecretsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None


@app.callback()
def _main(
    ctx: typer.Context,
    json_logs: Annotated[bool | None, typer.Option("--json-logs/--console-logs")] = None,
) -> None:
    ctx.obj = json_logs  # `up` may send the logs to a file instead
    logs.configure(json=json_logs)


@app.command()
def up(
    ctx: typer.Context,
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    demo: Annotated[int, typer.Option(help="Post this many sample births once up.")] = 0,
    secrets_file: Annotated[
        Path | None,
        typer.Option(
            envvar="BIRTHLINK_SECRETS_FILE",
            help="This installation's keys and secrets, made on first start "
            "(default: beside the SQLite database, birthlink.secrets.env).",
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Stream the logs to the terminal too.")
    ] = False,
) -> None:
    """Everything in one process on embedded defaults (SQLite, in-process bus, sandbox).

    On a terminal the logs go to a file (its path is printed) so that the
    progress bar and the outcome table stay readable; `--verbose` streams them."""
    from birthlink.up import log_file
    from birthlink.up import up as serve

    logged_to = None
    if sys.stderr.isatty() and not verbose:
        logged_to = log_file()
        logs.configure(json=ctx.obj, stream=logged_to.open("a", buffering=1, encoding="utf-8"))
    _run(serve(host, port, demo=demo, secrets_file=secrets_file, log_file=logged_to))


@app.command()
def demo(
    count: Annotated[int, typer.Option("--count", "-n")] = 10,
    url: Annotated[str, typer.Option()] = "http://127.0.0.1:8000",
    key: Annotated[str, typer.Option(envvar="BIRTHLINK_KEY", help="A hospital key.")] = "",
) -> None:
    """Post sample births to a running gateway and show how each ended."""
    from birthlink.demo import run_demo

    if not key:
        raise typer.BadParameter("give a hospital key (--key or BIRTHLINK_KEY)")
    outcomes = asyncio.run(run_demo(url, key, count))
    if any(o.status != "completed" for o in outcomes):
        raise typer.Exit(1)


@app.command()
def gateway(host: Host = "127.0.0.1", port: Annotated[int, typer.Option()] = 8000) -> None:
    """The HTTP API only (intake, status, tracking, callbacks)."""
    from gateway.api.app import create_app
    from gateway.bootstrap import bootstrap
    from gateway.settings import GatewaySettings

    settings = GatewaySettings()
    _production("gateway", gateway=settings)
    runtime = bootstrap(settings)
    app = create_app(runtime, roles=())
    # Open event streams (the tracking page) would hold a graceful shutdown: cut them.
    # No --proxy-headers: the app believes X-Forwarded-For only from BIRTHLINK_TRUSTED_PROXIES.
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=settings.http_keep_alive_s,
        proxy_headers=False,
    )


async def _roles(settings: "GatewaySettings", *roles: "Role") -> None:
    from gateway.bootstrap import bootstrap

    runtime = bootstrap(settings)
    if runtime.settings.metrics_port:
        prometheus_client.start_http_server(runtime.settings.metrics_port)
    await runtime.start(roles)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runtime.stop()


def _gateway_settings(role: str) -> "GatewaySettings":
    from gateway.settings import GatewaySettings

    settings = GatewaySettings()
    _production(role, gateway=settings)
    return settings


@app.command()
def orchestrator() -> None:
    """Apply department replies and run the timers (retries, polling, deadlines)."""
    _run(_roles(_gateway_settings("orchestrator"), "orchestrator", "timers", "dead_letters"))


@app.command()
def relay() -> None:
    """Publish the outbox to the broker."""
    _run(_roles(_gateway_settings("relay"), "relay"))


@app.command()
def notifier() -> None:
    """Send the parents' text messages (through BIRTHLINK_SMS_URL)."""
    _run(_roles(_gateway_settings("notifier"), "notifier"))


@app.command()
def adapter(
    department: Annotated[str, typer.Argument(help="nhc, cdc, mps, nhsa, hrss or wjw")],
) -> None:
    """One department's adapter: consume its queue, call its API."""
    from adapters._runtime.settings import AdapterSettings
    from adapters.registry import AdapterRuntime
    from bus.factory import make_transport
    from bus.topology import Topology
    from contracts.profile import load_profile
    from contracts.sealing import Keyring

    settings = AdapterSettings()
    _production(f"adapter {department}", adapter=settings)

    async def run() -> None:
        if settings.metrics_port:  # circuit states, refused calls
            prometheus_client.start_http_server(settings.metrics_port)
        keyring = Keyring.parse(settings.bus_keys.get_secret_value())
        transport = make_transport(
            settings.amqp_url,
            keyring,
            Topology(settings.amqp_prefix, partitions=settings.result_partitions),
        )
        await transport.start()
        registry = load_profile(settings.profile).registry()
        adapters = AdapterRuntime([department], transport, settings, registry=registry)
        await adapters.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await transport.close()
        await adapters.close()

    _run(run())


@app.command()
def sandbox(
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8100,
    gateway_url: Annotated[str, typer.Option("--gateway")] = "http://127.0.0.1:8000",
) -> None:
    """The five simulated departments, calling back the gateway at --gateway."""
    from sandbox.app import create_sandbox
    from sandbox.settings import SandboxSettings

    settings = SandboxSettings(gateway_url=gateway_url)
    departments = create_sandbox(settings)
    uvicorn.run(
        departments.app,
        host=host,
        port=port,
        log_config=None,
        timeout_keep_alive=settings.keep_alive_s,
    )


@app.command()
def migrate() -> None:
    """Bring the saga store's schema up to date."""
    from birthlink.installation import operator_settings
    from gateway.bootstrap import database_for
    from gateway.store.migrate import migrate as run_migrations

    async def run() -> None:
        db = database_for(operator_settings())
        await run_migrations(db)
        await db.dispose()

    _run(run())
    typer.echo("schema up to date")


def main() -> None:
    app()
