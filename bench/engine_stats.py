"""Pure helpers of `bench.engine`: reading /proc and the CLI's output, the
per-birth figures, the targets of issue 10 and the table that compares them."""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field


def cpu_seconds(stat: str, ticks_per_s: int) -> float:
    """utime + stime of one process from the text of /proc/<pid>/stat (threads
    included). The name in parentheses may hold spaces or ')': split after the last."""
    fields = stat[stat.rindex(")") + 2 :].split()
    # After the name: state is field 3, so utime (14) and stime (15) are 11 and 12 here.
    return (int(fields[11]) + int(fields[12])) / ticks_per_s


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile by nearest rank (p99 of 100 values is the 99th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def parse_env_file(text: str) -> dict[str, str]:
    """NAME=value lines of an env file (`birthlink keys init`); comments skipped."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        values[name.strip()] = value.strip().strip("'\"")
    return values


def demo_key(output: str) -> str | None:
    """The demo hospital key `birthlink up` prints ("demo hospital: CODE  key: KEY")."""
    found = re.search(r"demo hospital:.*?key:\s*(\S+)", output)
    return found.group(1) if found else None


def has_command(help_text: str, name: str) -> bool:
    """Whether `birthlink --help` lists the command `name` (a line that starts with it)."""
    return re.search(rf"^\W*{re.escape(name)}\s", help_text, re.MULTILINE) is not None


@dataclass
class Run:
    """What one run of one commit in one mode measured; counters are over the births."""

    births: int  # accepted (202)
    completed: int
    seconds: float  # first POST to the last birth's completion
    raw_births_per_s: float  # raw RabbitMQ fan-out, measured just before
    latencies: list[float]  # POST to completion, each birth (s)
    commits: float  # counted by PostgreSQL (pg_stat_database), or by the hook on SQLite
    rollbacks: float
    statements: float  # SQLAlchemy cursor executes, all processes
    cpu_s: dict[str, float]  # per process, sandbox excluded
    idle_commits_per_s: float
    idle_statements_per_s: float
    bytes_stored: int
    log_bytes: int
    refused: int = 0  # POSTs not answered 202
    commits_by: str = "PostgreSQL"
    notes: list[str] = field(default_factory=list)

    @property
    def births_per_s(self) -> float:
        return self.births / self.seconds if self.seconds > 0 else math.nan

    def per_birth(self, total: float) -> float:
        return total / self.births

    @property
    def cpu_ms_per_birth(self) -> float:
        return 1000 * self.per_birth(sum(self.cpu_s.values()))


@dataclass(frozen=True)
class Figure:
    """One line of the table: how to read it from a run, and its target if any."""

    name: str
    read: Callable[[Run], float]
    fmt: str
    target: str = ""
    met: Callable[[Run, Run | None], bool] | None = None


FIGURES = [
    Figure("births accepted", lambda r: r.births, "{:.0f}"),
    Figure("POSTs refused", lambda r: r.refused, "{:.0f}"),
    Figure("births completed", lambda r: r.completed, "{:.0f}"),
    Figure(
        "commits / birth",
        lambda r: r.per_birth(r.commits),
        "{:.1f}",
        "<= 3",
        lambda new, _old: new.per_birth(new.commits) <= 3,
    ),
    Figure("rollbacks / birth", lambda r: r.per_birth(r.rollbacks), "{:.1f}"),
    Figure(
        "SQL statements / birth",
        lambda r: r.per_birth(r.statements),
        "{:.1f}",
        "<= 12",
        lambda new, _old: new.per_birth(new.statements) <= 12,
    ),
    Figure(
        "CPU ms / birth",
        lambda r: r.cpu_ms_per_birth,
        "{:.1f}",
        "<= 25",
        lambda new, _old: new.cpu_ms_per_birth <= 25,
    ),
    Figure(
        "births / s",
        lambda r: r.births_per_s,
        "{:.1f}",
        ">= 5x old",
        lambda new, old: old is not None and new.births_per_s >= 5 * old.births_per_s,
    ),
    Figure("raw fan-out births / s", lambda r: r.raw_births_per_s, "{:.0f}"),
    Figure("births/s of raw fan-out", lambda r: r.births_per_s / r.raw_births_per_s, "{:.1%}"),
    Figure("p50 POST->completed s", lambda r: percentile(r.latencies, 50), "{:.2f}"),
    Figure("p99 POST->completed s", lambda r: percentile(r.latencies, 99), "{:.2f}"),
    Figure(
        "idle commits / s",
        lambda r: r.idle_commits_per_s,
        "{:.2f}",
        "<= 1",
        lambda new, _old: new.idle_commits_per_s <= 1,
    ),
    Figure("idle statements / s", lambda r: r.idle_statements_per_s, "{:.2f}"),
    Figure("bytes stored / birth", lambda r: r.per_birth(r.bytes_stored), "{:,.0f}"),
    Figure("log bytes / birth", lambda r: r.per_birth(r.log_bytes), "{:,.0f}"),
]


def table(title: str, old: Run | None, new: Run | None, names: tuple[str, str]) -> str:
    """The figures of old and new side by side, with the targets and whether new meets them."""
    rows: list[tuple[str, ...]] = [("", names[0], names[1], "target", "met")]
    for figure in FIGURES:
        cells = [figure.fmt.format(figure.read(r)) if r else "-" for r in (old, new)]
        met = ""
        if figure.met is not None and new is not None:
            met = "yes" if figure.met(new, old) else "NO"
            if figure.name == "births / s" and old is None:
                met = "-"
        rows.append((figure.name, *cells, figure.target, met))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [title]
    for i, row in enumerate(rows):
        lines.append(
            "  ".join(
                cell.ljust(w) if j == 0 else cell.rjust(w)
                for j, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cpu_by_role(run: Run) -> str:
    """CPU ms per birth of each process, the busiest first."""
    parts = sorted(run.cpu_s.items(), key=lambda kv: -kv[1])
    return ", ".join(f"{name} {1000 * run.per_birth(s):.1f}" for name, s in parts)
