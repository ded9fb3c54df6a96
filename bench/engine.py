"""The saga engine's cost, for commit b72e1fe (before the rebuild) and the working tree.

Both are installed and run in this one run, on this machine (b72e1fe from `git
archive` into its own venv under .bench-cache/), each twice:

- processes: RabbitMQ + PostgreSQL, every role its own `birthlink` process
  (gateway, orchestrator, relay, notifier, timers if the CLI has it, one adapter
  per department, the sandbox departments), on a database made for the run;
- embedded: `birthlink up` (SQLite, in-process bus), the sandbox in its own process.

Each run posts the births over HTTP and waits for all to complete, then leaves
the stack idle. docs/benchmarks.md says what each figure is and how it is read.

`python -m bench.engine --births 100` (`--only new|old`, `--no-embedded`).
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import aio_pika
import asyncpg
import httpx

from bench.engine_stats import Run, cpu_by_role, cpu_seconds, demo_key, has_command, table
from bench.engine_stats import parse_env_file as parse_env
from birthlink.samples import DEMO_HOSPITAL, birth_event  # the working tree's, for both

OLD_COMMIT = "b72e1fe"
ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache"
HOOK = Path(__file__).resolve().parent / "hook"
PG_DSN = os.environ.get("BIRTHLINK_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
AMQP_URL = os.environ.get("BIRTHLINK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
DEPARTMENTS = ("nhc", "cdc", "mps", "nhsa", "hrss")
FINAL = ("completed", "action_required", "cancelled", "failed")
LATER_DELAY_S = 1.0  # the sandbox's simulated household review and card making
SETTLE_S = 1.5  # PostgreSQL publishes a backend's counters at most once a second
STARTUP_SETTLE_S = 12.0
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Target:
    """One commit's install: the python that runs its `birthlink`, and where."""

    name: str
    python: str
    cwd: Path
    help_text: str = ""

    def argv(self, *args: str) -> list[str]:
        return [self.python, "-m", "birthlink", *args]


def _run_cli(target: Target, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        target.argv(*args), env=env, cwd=target.cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"birthlink {' '.join(args)}: {done.stderr[-2000:]}")
    return done.stdout


def old_target() -> Target:
    """b72e1fe from `git archive` into .bench-cache, in its own venv (made once)."""
    home = CACHE / OLD_COMMIT
    src, venv = home / "src", home / "venv"
    if not (home / "installed").exists():
        shutil.rmtree(home, ignore_errors=True)
        src.mkdir(parents=True)
        print(f"installing {OLD_COMMIT} into {home} (once)", flush=True)
        archive = subprocess.run(
            ["git", "archive", OLD_COMMIT], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        # The same library versions as this venv: the comparison is of the code.
        frozen = subprocess.run(
            [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (home / "constraints.txt").write_text(frozen)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "-c", str(home / "constraints.txt"), "-e", str(src)], check=True)
        (home / "installed").touch()
    return Target(OLD_COMMIT, str(venv / "bin" / "python"), src)


def new_target() -> Target:
    described = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return Target(f"tree {described}", sys.executable, ROOT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- raw fan-out -------------------------------------------------------------------


async def raw_fanout(births: int) -> float:
    """Births/s of bare fan-out with aio-pika: 5 commands a birth to 5 quorum queues,
    each consumer replies to one more, publisher confirms, persistent messages."""
    prefix = f"benchraw{uuid4().hex[:6]}."
    body = json.dumps({"type": "Command", "birth_id": "x" * 32, "data": "y" * 400}).encode()
    connection = await aio_pika.connect_robust(AMQP_URL)
    replies, done = 0, asyncio.Event()
    try:
        publisher = await connection.channel(publisher_confirms=True)
        commands = await publisher.declare_exchange(f"{prefix}commands", "topic", durable=True)
        await publisher.declare_exchange(f"{prefix}results", "topic", durable=True)
        quorum = {"x-queue-type": "quorum"}
        for dept in DEPARTMENTS:
            channel = await connection.channel(publisher_confirms=True)
            await channel.set_qos(prefetch_count=100)
            queue = await channel.declare_queue(f"{prefix}{dept}", durable=True, arguments=quorum)
            await queue.bind(f"{prefix}commands", f"{dept}.#")
            reply_to = await channel.get_exchange(f"{prefix}results")

            async def department(
                msg: aio_pika.abc.AbstractIncomingMessage, out: Any = reply_to
            ) -> None:
                reply = aio_pika.Message(msg.body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
                await out.publish(reply, routing_key="x.completed")
                await msg.ack()

            await queue.consume(department)
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=200)
        orchestrator = await channel.declare_queue(f"{prefix}orch", durable=True, arguments=quorum)
        await orchestrator.bind(f"{prefix}results", "#")

        async def reply(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal replies
            await msg.ack()
            replies += 1
            if replies == births * len(DEPARTMENTS):
                done.set()

        await orchestrator.consume(reply)
        started = time.perf_counter()
        sends = [(i, d) for i in range(births) for d in DEPARTMENTS]
        for at in range(0, len(sends), 500):
            await asyncio.gather(
                *(
                    commands.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        routing_key=f"{d}.submit",
                    )
                    for _i, d in sends[at : at + 500]
                )
            )
        await asyncio.wait_for(done.wait(), 300)
        seconds = time.perf_counter() - started
    finally:
        await connection.close()
        await delete_topology(prefix)
    return births / seconds


async def delete_topology(prefix: str) -> None:
    """Every queue and exchange whose name starts with `prefix` (rabbitmqctl lists them)."""

    def names(kind: str) -> list[str]:
        out = subprocess.run(
            ["rabbitmqctl", "-q", f"list_{kind}", "name"], capture_output=True, text=True
        ).stdout
        return [n for n in out.split() if n.startswith(prefix)]

    queues, exchanges = (
        await asyncio.to_thread(names, "queues"),
        await asyncio.to_thread(names, "exchanges"),
    )
    connection = await aio_pika.connect(AMQP_URL)
    try:
        for name in queues:
            channel = await connection.channel()
            await channel.queue_delete(name)
        for name in exchanges:
            channel = await connection.channel()
            await channel.exchange_delete(name)
    finally:
        await connection.close()


# --- one stack -----------------------------------------------------------------------


@dataclass
class Stack:
    """The processes of one run, its counters, and how to reach it."""

    target: Target
    workdir: Path
    env: dict[str, str]
    processes: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)
    hospital_key: str = ""
    gateway_url: str = ""

    @property
    def counts_dir(self) -> Path:
        return self.workdir / "sql-counts"

    async def spawn_sandbox(self, port: int) -> None:
        """The sandbox departments, unhooked: their work is not birthlink's."""
        await self.spawn(
            "sandbox", "sandbox", "--port", str(port), "--gateway", self.gateway_url, hooked=False
        )

    async def spawn(self, name: str, *args: str, hooked: bool = True) -> None:
        env = dict(self.env)
        if hooked:
            env["PYTHONPATH"] = str(HOOK)
            env["BENCH_SQL_COUNTS"] = str(self.counts_dir)
        log = (self.workdir / f"{name}.log").open("ab")
        self.processes[name] = await asyncio.create_subprocess_exec(
            *self.target.argv("--json-logs", *args),
            env=env,
            cwd=self.target.cwd,
            stdout=log,
            stderr=log,
        )
        log.close()

    async def stop(self) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()

    def cpu(self) -> dict[str, float]:
        """CPU seconds of each birthlink process so far; the sandbox is not birthlink's cost."""
        seconds = {}
        for name, process in self.processes.items():
            if name != "sandbox" and process.returncode is None:
                stat = Path(f"/proc/{process.pid}/stat").read_text()
                seconds[name] = cpu_seconds(stat, TICKS)
        return seconds

    def sql_counts(self) -> dict[str, int]:
        """Statements, commits and rollbacks so far, summed over every hooked process."""
        total = {"statements": 0, "commits": 0, "rollbacks": 0}
        for path in self.counts_dir.glob("*.json"):
            with contextlib.suppress(ValueError, OSError):
                for key, value in json.loads(path.read_text()).items():
                    total[key] = total.get(key, 0) + int(value)
        return total

    def commits_by_process(self) -> dict[str, int]:
        """Commits so far of each running process, as SQLAlchemy saw them."""
        commits = {}
        for name, process in self.processes.items():
            path = self.counts_dir / f"{process.pid}.json"
            with contextlib.suppress(ValueError, OSError):
                commits[name] = int(json.loads(path.read_text())["commits"])
        return commits

    def log_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.workdir.glob("*.log") if p.stem != "sandbox")

    def dead(self) -> str | None:
        for name, process in self.processes.items():
            if process.returncode is not None:
                tail = (self.workdir / f"{name}.log").read_text()[-1500:]
                return f"{name} exited {process.returncode}: {tail}"
        return None

    async def wait_healthy(self, url: str, within: float = 60) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(timeout=2) as http:
            while time.monotonic() < deadline:
                if problem := self.dead():
                    raise RuntimeError(problem)
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(url)).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise RuntimeError(f"{url} not up within {within} s")


def base_env(target: Target, workdir: Path) -> dict[str, str]:
    """The environment without any BIRTHLINK_ setting of ours, plus the keys and
    secrets of a fresh installation when the commit has `keys init` (the production
    roles refuse the development ones there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIRTHLINK_", "PYTHON"))}
    env["COLUMNS"] = "200"
    if has_command(_run_cli(target, env, "keys", "--help"), "init"):
        path = workdir / "birthlink.env"
        _run_cli(target, env, "keys", "init", str(path))
        env.update(parse_env(path.read_text()))
        env["BIRTHLINK_SECRETS_FILE"] = str(path)
    env["BIRTHLINK_LATER_DELAY_S"] = str(LATER_DELAY_S)
    # The five registrations, the steps b72e1fe has, for the bench's births
    # (the default profile, Baiyin's, adds the benefits and a hospital of its own).
    env["BIRTHLINK_PROFILE"] = "five"
    return env


@dataclass
class Snapshot:
    at: float
    cpu: dict[str, float]
    sql: dict[str, int]
    pg: dict[str, int]
    log_bytes: int
    commits_by: dict[str, int]


class Store:
    """Reads what the run's store holds and what PostgreSQL counted, from outside."""

    async def counters(self) -> dict[str, int]:
        return {}

    async def statuses(self) -> list[tuple[str, str, datetime]]:
        raise NotImplementedError

    async def size(self) -> int:
        raise NotImplementedError

    polls = 0  # reads of ours that PostgreSQL counts as commits in the run's database


class Postgres(Store):
    def __init__(self, admin: asyncpg.Connection, db: asyncpg.Connection, name: str) -> None:
        self.admin, self.db, self.name = admin, db, name

    async def counters(self) -> dict[str, int]:
        # Read from another database: these reads are not counted against the run's.
        await self.admin.execute("SELECT pg_stat_clear_snapshot()")
        row = await self.admin.fetchrow(
            "SELECT xact_commit, xact_rollback FROM pg_stat_database WHERE datname = $1",
            self.name,
        )
        assert row is not None
        return {"commits": int(row[0]), "rollbacks": int(row[1])}

    async def statuses(self) -> list[tuple[str, str, datetime]]:
        self.polls += 1
        rows = await self.db.fetch("SELECT id, status, updated_at FROM births")
        return [(r[0], r[1], r[2]) for r in rows]

    async def size(self) -> int:
        return int(await self.admin.fetchval("SELECT pg_database_size($1)", self.name))


class SQLite(Store):
    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self, sql: str) -> list[Any]:
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
            return db.execute(sql).fetchall()

    async def statuses(self) -> list[tuple[str, str, datetime]]:
        rows = await asyncio.to_thread(self._read, "SELECT id, status, updated_at FROM births")
        return [(r[0], r[1], datetime.fromisoformat(r[2])) for r in rows]

    async def size(self) -> int:
        """Pages in use, the write-ahead log's included (the file grows in chunks)."""
        (used,) = await asyncio.to_thread(
            self._read,
            "SELECT (page_count - freelist_count) * page_size "
            "FROM pragma_page_count, pragma_freelist_count, pragma_page_size",
        )
        return int(used[0])


async def snapshot(stack: Stack, store: Store) -> Snapshot:
    return Snapshot(
        time.monotonic(),
        stack.cpu(),
        stack.sql_counts(),
        await store.counters(),
        stack.log_bytes(),
        stack.commits_by_process(),
    )


async def measure(
    stack: Stack, store: Store, births: int, concurrency: int, idle_s: float, raw: float
) -> Run:
    """Stay idle, then post the births and wait for all to end; read the counters
    between. What the idle system does is its idle figure, and is taken off the
    births' (the stack does it whether births come or not)."""
    rng = random.Random(1)
    events = [birth_event(rng) for _ in range(births)]
    # Start-up settles: each role's pool opens its connections at its first
    # look (the sweeper's within 10 s), and a new connection's own set-up
    # queries are transactions to PostgreSQL: one-off, not what idle costs.
    await asyncio.sleep(STARTUP_SETTLE_S)
    quiet = await snapshot(stack, store)
    await asyncio.sleep(idle_s)
    size0 = await store.size()
    load_before = f"{os.getloadavg()[0]:.1f}"  # 1 min, all cores: others' work shows here
    before = await snapshot(stack, store)
    posted: dict[str, float] = {}
    refused: list[str] = []
    gate = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {stack.hospital_key}"}
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=60) as http:

        async def post(event: dict[str, Any]) -> None:
            async with gate:
                at = time.time()
                response = await http.post("/v1/births", json=event)
                if response.status_code != 202:  # counted and shown, not hidden
                    refused.append(f"POST {response.status_code}: {response.text[:300]}")
                    return
                posted[response.json()["birth_id"]] = at

        started = time.time()
        await asyncio.gather(*(post(e) for e in events))
    if not posted:
        raise RuntimeError(f"every POST was refused: {refused[0]}")
    births = len(posted)  # the figures are per accepted birth
    polls0 = store.polls
    deadline = time.monotonic() + 120 + births
    while True:
        rows = [row for row in await store.statuses() if row[0] in posted]
        if sum(1 for _, status, _ in rows if status in FINAL) >= births:
            break
        if problem := stack.dead():
            raise RuntimeError(problem)
        if time.monotonic() > deadline:
            stuck = sorted({s for _, s, _ in rows if s not in FINAL})
            raise RuntimeError(f"births still {stuck} after the deadline")
        await asyncio.sleep(0.5)
    polls = store.polls - polls0
    await asyncio.sleep(SETTLE_S)
    after = await snapshot(stack, store)
    size1 = await store.size()

    def rate(read: Callable[[Snapshot], float]) -> float:
        return (read(before) - read(quiet)) / (before.at - quiet.at)

    def over_births(read: Callable[[Snapshot], float]) -> float:
        # Less what the idle system would have done meanwhile.
        return read(after) - read(before) - rate(read) * (after.at - before.at)

    pg = bool(after.pg)
    commits: Callable[[Snapshot], float] = (
        (lambda s: s.pg["commits"]) if pg else (lambda s: s.sql["commits"])
    )
    rollbacks: Callable[[Snapshot], float] = (
        (lambda s: s.pg["rollbacks"]) if pg else (lambda s: s.sql["rollbacks"])
    )
    cpu = {
        name: over_births(lambda s, n=name: s.cpu.get(n, 0.0))  # type: ignore[misc]
        for name in after.cpu
    }
    ends = {birth: at.replace(tzinfo=at.tzinfo or UTC).timestamp() for birth, _s, at in rows}
    latencies = [ends[b] - t for b, t in posted.items() if b in ends]
    run = Run(
        births=births,
        refused=len(refused),
        completed=sum(1 for _, status, _ in rows if status == "completed"),
        seconds=max(ends.values()) - started,
        raw_births_per_s=raw,
        latencies=latencies,
        commits=over_births(commits) - polls,
        rollbacks=over_births(rollbacks),
        statements=over_births(lambda s: s.sql["statements"]),
        cpu_s=cpu,
        idle_commits_per_s=rate(commits),
        idle_statements_per_s=rate(lambda s: s.sql["statements"]),
        bytes_stored=size1 - size0,
        log_bytes=round(over_births(lambda s: s.log_bytes)),
        commits_by="PostgreSQL" if pg else "SQLAlchemy hook",
        notes=[f"{len(refused)} POSTs refused, first: {refused[0]}"] if refused else [],
    )
    by_process = {
        name: run.per_birth(over_births(lambda s, n=name: s.commits_by.get(n, 0)))  # type: ignore[misc]
        for name in after.commits_by
    }
    busiest = sorted(by_process.items(), key=lambda kv: -kv[1])
    run.notes.append(
        "commits/birth by process: " + ", ".join(f"{n} {c:.1f}" for n, c in busiest if c >= 0.05)
    )
    idle_by = {n: rate(lambda s, n=n: s.commits_by.get(n, 0)) for n in before.commits_by}  # type: ignore[misc]
    run.notes.append(
        "idle commits/s by process (SQLAlchemy): "
        + ", ".join(f"{n} {c:.2f}" for n, c in sorted(idle_by.items(), key=lambda kv: -kv[1]) if c)
    )
    run.notes.append(
        f"SQLAlchemy saw {run.per_birth(over_births(lambda s: s.sql['commits'])):.1f} commits"
        f" a birth; load average {load_before} before the births, {os.getloadavg()[0]:.1f} after"
    )
    return run


@contextlib.asynccontextmanager
async def processes_stack(target: Target, workdir: Path) -> AsyncIterator[tuple[Stack, Store]]:
    """Every role its own process on RabbitMQ and a PostgreSQL database made for this run."""
    name = f"bench_{uuid4().hex[:10]}"
    prefix = f"bench{uuid4().hex[:8]}."
    admin = await asyncpg.connect(PG_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = PG_DSN.rsplit("/", 1)[0] + f"/{name}"
    stack: Stack | None = None
    db: asyncpg.Connection | None = None
    try:
        env = base_env(target, workdir)
        gateway_port, sandbox_port = free_port(), free_port()
        stack = Stack(target, workdir, env, gateway_url=f"http://127.0.0.1:{gateway_port}")
        sandbox = f"http://127.0.0.1:{sandbox_port}"
        env.update(
            BIRTHLINK_DATABASE_URL=dsn,
            BIRTHLINK_AMQP_URL=AMQP_URL,
            BIRTHLINK_AMQP_PREFIX=prefix,
            BIRTHLINK_DEPARTMENTS_URL=sandbox,
            BIRTHLINK_SMS_URL=f"{sandbox}/sms",
            BIRTHLINK_PUBLIC_URL=stack.gateway_url,
        )
        stack.counts_dir.mkdir()
        await asyncio.to_thread(_run_cli, target, env, "migrate")
        created = await asyncio.to_thread(
            _run_cli, target, env, "keys", "create", "--hospital", DEMO_HOSPITAL["code"]
        )
        stack.hospital_key = created.split()[-1]
        await stack.spawn("gateway", "gateway", "--port", str(gateway_port))
        await stack.spawn_sandbox(sandbox_port)
        roles = ["relay", "orchestrator", "notifier", "timers"]
        for role in roles:
            if has_command(target.help_text, role):
                await stack.spawn(role, role)
        for department in DEPARTMENTS:
            await stack.spawn(f"adapter-{department}", "adapter", department)
        await stack.wait_healthy(f"{stack.gateway_url}/healthz")
        await stack.wait_healthy(f"{sandbox}/healthz")
        db = await asyncpg.connect(dsn)
        yield stack, Postgres(admin, db, name)
    finally:
        if stack is not None:
            await stack.stop()
        if db is not None:
            await db.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        await delete_topology(prefix)


@contextlib.asynccontextmanager
async def embedded_stack(target: Target, workdir: Path) -> AsyncIterator[tuple[Stack, Store]]:
    """`birthlink up` on SQLite and the in-process bus, the sandbox in its own process."""
    env = base_env(target, workdir)
    port, sandbox_port = free_port(), free_port()
    stack = Stack(target, workdir, env, gateway_url=f"http://127.0.0.1:{port}")
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    path = workdir / "birthlink.db"
    env.update(
        BIRTHLINK_DATABASE_URL=str(path),
        BIRTHLINK_DEPARTMENTS_URL=sandbox,
        BIRTHLINK_SMS_URL=f"{sandbox}/sms",
        BIRTHLINK_PUBLIC_URL=stack.gateway_url,
    )
    stack.counts_dir.mkdir()
    try:
        await stack.spawn("up", "up", "--port", str(port))
        await stack.spawn_sandbox(sandbox_port)
        await stack.wait_healthy(f"{stack.gateway_url}/healthz")
        await stack.wait_healthy(f"{sandbox}/healthz")
        deadline = time.monotonic() + 30
        while not (key := demo_key((workdir / "up.log").read_text())):
            if time.monotonic() > deadline:
                raise RuntimeError("`birthlink up` printed no demo hospital key")
            await asyncio.sleep(0.2)
        stack.hospital_key = key
        yield stack, SQLite(path)
    finally:
        await stack.stop()


async def one_run(target: Target, mode: str, args: argparse.Namespace, keep: Path | None) -> Run:
    raw = await raw_fanout(max(args.births, 300))
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{mode}-", dir=keep))
    starter = processes_stack if mode == "processes" else embedded_stack
    try:
        async with starter(target, workdir) as (stack, store):
            run = await measure(stack, store, args.births, args.concurrency, args.idle, raw)
            run.notes.append(f"CPU ms/birth by process: {cpu_by_role(run)}")
            return run
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--births", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=10, help="POSTs in flight at once")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds idle before the births")
    parser.add_argument("--only", choices=("new", "old"))
    parser.add_argument("--embedded", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--processes", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--keep", type=Path, help="keep each run's logs and store under here")
    args = parser.parse_args()
    targets: dict[str, Target] = {}
    if args.only != "new":
        targets["old"] = old_target()
    if args.only != "old":
        targets["new"] = new_target()
    for target in targets.values():
        target.help_text = _run_cli(target, {**os.environ, "COLUMNS": "200"}, "--help")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    wanted = {"processes": args.processes, "embedded": args.embedded}
    modes = [mode for mode, on in wanted.items() if on]
    names = (OLD_COMMIT, targets["new"].name if "new" in targets else "working tree")
    for mode in modes:
        runs: dict[str, Run] = {}
        for which, target in targets.items():  # old then new, one after the other
            print(f"{mode}: {target.name}, {args.births} births ...", flush=True)
            runs[which] = await one_run(target, mode, args, args.keep)
        first = next(iter(runs.values()))
        print()
        title = f"{mode}: {args.births} births, commits counted by {first.commits_by}" + (
            " (RabbitMQ + PostgreSQL, a process per role)"
            if mode == "processes"
            else " (`birthlink up`: SQLite, in-process bus)"
        )
        print(table(title, runs.get("old"), runs.get("new"), names))
        for which, run in runs.items():
            for note in run.notes:
                print(f"  {targets[which].name}: {note}")
        print(flush=True)


async def cancellable() -> None:
    """main(), ended by SIGTERM or SIGINT as by Ctrl-C: each run stops its processes,
    drops its database and deletes its queues on the way out."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    await main()


if __name__ == "__main__":
    with contextlib.suppress(asyncio.CancelledError):
        asyncio.run(cancellable())
