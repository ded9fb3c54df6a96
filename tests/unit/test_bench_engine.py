"""The pure helpers of `python -m bench.engine` (the bench itself is not a test)."""

import math

from bench.engine_stats import (
    Run,
    cpu_seconds,
    demo_key,
    has_command,
    parse_env_file,
    percentile,
    table,
)


def test_cpu_is_utime_plus_stime_even_when_the_name_holds_spaces_and_parentheses() -> None:
    stat = "4242 (python -m (x) y) S 1 4242 4242 0 -1 4194560 9 0 0 0 250 50 3 4 20 0 5 0"
    assert cpu_seconds(stat, 100) == 3.0


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7
    assert math.isnan(percentile([], 50))


def test_env_file_lines_are_read_and_comments_skipped() -> None:
    text = "# keys of this installation\n\nBIRTHLINK_A=x=y\nBIRTHLINK_B='q'\nnot a line\n"
    assert parse_env_file(text) == {"BIRTHLINK_A": "x=y", "BIRTHLINK_B": "q"}


def test_the_demo_key_is_found_in_what_birthlink_up_prints() -> None:
    printed = "birthlink is up at http://x\n  demo hospital:   H33010600001  key: bl_abc.def\n"
    assert demo_key(printed) == "bl_abc.def"
    assert demo_key("birthlink is up") is None


def test_a_command_is_listed_only_where_its_line_starts() -> None:
    help_text = "│ orchestrator  Apply replies and run the timers.\n│ relay         Publish.\n"
    assert has_command(help_text, "relay")
    assert has_command(help_text, "orchestrator")
    assert not has_command(help_text, "timers")


def _run(births_per_s: float, commits: float) -> Run:
    return Run(
        births=10,
        completed=10,
        seconds=10 / births_per_s,
        raw_births_per_s=100,
        latencies=[1.0] * 10,
        commits=commits,
        rollbacks=0,
        statements=100,
        cpu_s={"orchestrator": 0.1, "gateway": 0.1},
        idle_commits_per_s=0.5,
        idle_statements_per_s=0.5,
        bytes_stored=10_000,
        log_bytes=0,
    )


def test_the_table_says_which_targets_the_new_commit_meets() -> None:
    old, new = _run(births_per_s=2, commits=260), _run(births_per_s=10, commits=40)
    rows = {
        line.split("  ")[0]: line.split()
        for line in table("t", old, new, ("old", "new")).splitlines()
    }
    assert rows["commits / birth"][-5:] == ["26.0", "4.0", "<=", "3", "NO"]
    assert rows["SQL statements / birth"][-1] == "yes"  # 10 a birth
    assert rows["CPU ms / birth"][-4:] == ["20.0", "<=", "25", "yes"]
    assert rows["births / s"][-6:] == ["2.0", "10.0", ">=", "5x", "old", "yes"]  # 10 >= 5 x 2
    assert rows["idle commits / s"][-1] == "yes"


def test_without_the_old_commit_the_speed_up_is_not_judged() -> None:
    rows = {
        line.split("  ")[0]: line.split()
        for line in table("t", None, _run(10, 30), ("old", "new")).splitlines()
    }
    assert rows["births / s"][-1] == "-"
