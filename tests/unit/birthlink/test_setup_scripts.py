"""The README's test command sets the machine up itself (scripts/setup-machine,
called by scripts/test), and CI calls it instead of doing it again (issue 11,
item 7). The machine is faked: apt-get, the services' commands and fc-list are
stubs on a PATH of their own that log what they were asked."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SETUP = ROOT / "scripts" / "setup-machine"
TOOLS = ("bash", "chmod", "cp", "env", "grep", "head", "id", "ls", "seq", "sleep", "touch")

# One script stands for every stub and acts by the name it is called by: it logs
# that name and its arguments. A service's probe succeeds once the service was
# started; apt-get install makes the commands of the packages it installs (a
# copy of itself under their names).
STUBS = {
    "apt-get": """
case "$1" in install) for p in "$@"; do case "$p" in
  postgresql) make_stub pg_ctlcluster;;
  rabbitmq-server) make_stub rabbitmq-server; make_stub rabbitmqctl;;
  npm) make_stub npm;;
  chromium) touch "$STATE/chromium"; chmod +x "$STATE/chromium";;
  fonts-noto-cjk) touch "$STATE/fonts";;
esac; done;; esac""",
    "pg_isready": '[ -e "$STATE/pg-up" ]',
    "pg_ctlcluster": 'touch "$STATE/pg-up"',
    "rabbitmq-server": 'touch "$STATE/mq-up"',
    "rabbitmqctl": '[ -e "$STATE/mq-up" ]',
    "fc-list": '[ -e "$STATE/fonts" ] && echo "NotoSansCJK.ttc: Noto Sans CJK SC"; true',
    "npm": "true",
    "sudo": 'exec "$@"',
}
STUB = (
    '#!/bin/bash\necho "${0##*/} $*" >> "$STATE/log"\nmake_stub() { cp "$0" "$BIN/$1"; }\n'
    'case "${0##*/}" in\n'
    + "\n".join(f"  {name}) {body.strip()} ;;" for name, body in STUBS.items())
    + "\nesac\n"
)


def machine(tmp_path: Path, *, installed: set[str], running: bool) -> dict[str, str]:
    """A PATH with the basic tools, the stubs of `installed`, and `running` services."""
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for tool in TOOLS:
        real = subprocess.run(["which", tool], capture_output=True, text=True, check=True)
        (bin_dir / tool).symlink_to(real.stdout.strip())
    always = {"apt-get", "pg_isready", "sudo"}
    for name in STUBS:
        if name in always or name in installed:
            (bin_dir / name).write_text(STUB)
            (bin_dir / name).chmod(0o755)
    if "chromium" in installed:
        (state / "chromium").touch(mode=0o755)
    if "fonts-noto-cjk" in installed:
        (state / "fonts").touch()
    if running:
        (state / "pg-up").touch()
        (state / "mq-up").touch()
    return {
        "PATH": str(bin_dir),
        "STATE": str(state),
        "BIN": str(bin_dir),
        "BIRTHLINK_TEST_CHROMIUM": str(state / "chromium"),
        "HOME": str(tmp_path),
    }


def run_setup(env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    done = subprocess.run(
        ["/bin/bash", str(SETUP)], env=env, capture_output=True, text=True, timeout=60
    )
    log = Path(env["STATE"], "log")
    return done, log.read_text().splitlines() if log.exists() else []


def test_a_fresh_machine_gets_every_package_and_both_services_started(tmp_path: Path) -> None:
    done, log = run_setup(machine(tmp_path, installed=set(), running=False))
    assert done.returncode == 0, done.stdout + done.stderr
    [install] = [line for line in log if line.startswith("apt-get install")]
    for package in ("rabbitmq-server", "postgresql", "chromium", "npm", "fonts-noto-cjk"):
        assert package in install.split()
    assert any(line.startswith("pg_ctlcluster") and line.endswith("main start") for line in log)
    assert "rabbitmq-server -detached" in log


def test_a_ready_machine_is_left_as_it_is(tmp_path: Path) -> None:
    everything = {"pg_ctlcluster", "rabbitmq-server", "rabbitmqctl", "npm", "fc-list"}
    env = machine(tmp_path, installed=everything | {"chromium", "fonts-noto-cjk"}, running=True)
    done, log = run_setup(env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [line for line in log if line.startswith(("apt-get", "pg_ctlcluster", "rabbitmq-"))]


def test_only_what_is_missing_is_installed_and_only_what_is_down_started(tmp_path: Path) -> None:
    present = {"pg_ctlcluster", "rabbitmq-server", "rabbitmqctl", "npm", "fc-list"}
    done, log = run_setup(machine(tmp_path, installed=present, running=False))
    assert done.returncode == 0, done.stdout + done.stderr
    [install] = [line for line in log if line.startswith("apt-get install")]
    assert set(install.split()) & {"postgresql", "rabbitmq-server", "npm"} == set()
    assert {"chromium", "fonts-noto-cjk"} <= set(install.split())
    assert "rabbitmq-server -detached" in log


def test_the_readme_command_sets_up_the_machine_and_ci_calls_it_without_doing_it_again() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "\nscripts/test\n" in readme
    test = (ROOT / "scripts" / "test").read_text()
    assert "scripts/setup-machine" in test
    ci = (ROOT / ".ci" / "run").read_text()
    assert "exec scripts/test" in ci
    for duplicated in ("apt-get", "pg_ctlcluster", "rabbitmq", "npm", "pytest", "ruff"):
        assert duplicated not in ci, duplicated
    assert os.access(SETUP, os.X_OK)
