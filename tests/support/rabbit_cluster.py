"""A private RabbitMQ cluster on loopback for fault tests (issue 13, item 1).

Fault tests never stop the machine's shared broker: they start their own nodes,
each with its own name, ports and directories, from the machine's
`rabbitmq-server` (Debian's wrapper runs it as the `rabbitmq` user, with that
user's Erlang cookie, which `rabbitmqctl` shares), and cluster them with
`join_cluster`. Killing a node is `kill -9` of its Erlang VM; starting it again
brings it back into the cluster with its data.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

from tests.support.servers import free_port


@dataclass
class Node:
    name: str  # e.g. bl1a2b3c-1@localhost
    port: int
    home: Path

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self.home / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.home / "log"),
            "RABBITMQ_PID_FILE": str(self.home / "pid"),
            "RABBITMQ_CONFIG_FILE": str(self.home / "rabbitmq.conf"),
            # No plugins: the machine's node may hold the management port.
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.home / "enabled_plugins"),
        }


class RabbitCluster:
    """`size` nodes clustered on loopback; `kill`, `start`, `stop_all`."""

    def __init__(self, size: int = 3) -> None:
        run = uuid4().hex[:6]
        self.root = Path(tempfile.mkdtemp(prefix=f"birthlink-rabbit-{run}-"))
        self.root.chmod(0o777)  # the nodes run as the rabbitmq user
        self.nodes = [
            Node(f"bl{run}-{i}@localhost", free_port(), self.root / str(i))
            for i in range(1, size + 1)
        ]
        for node in self.nodes:
            node.home.mkdir()
            node.home.chmod(0o777)
            (node.home / "rabbitmq.conf").write_text(
                f"listeners.tcp.local = 127.0.0.1:{node.port}\n"
            )
            (node.home / "enabled_plugins").write_text("[].\n")

    @property
    def url(self) -> str:
        """All nodes, as `BIRTHLINK_AMQP_URL` takes them."""
        return ",".join(n.url for n in self.nodes)

    def ctl(self, node: Node, *args: str, check: bool = True) -> str | None:
        """What `rabbitmqctl -n node args` printed; None when it failed and not `check`."""
        ran = subprocess.run(
            ["rabbitmqctl", "-q", "-n", node.name, *args],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if ran.returncode == 0:
            return ran.stdout
        if check:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)} on {node.name}: {ran.stderr}")
        return None

    def start(self, node: Node, within: float = 60) -> None:
        subprocess.run(
            ["rabbitmq-server", "-detached"], env=node.environment(), check=True, timeout=30
        )
        deadline = time.monotonic() + within
        # The node registers with epmd a moment after -detached returns.
        while self.ctl(node, "await_startup", "--timeout", "20", check=False) is None:
            if time.monotonic() > deadline:
                log = "\n".join(p.read_text()[-2000:] for p in (node.home / "log").glob("*.log"))
                raise RuntimeError(f"RabbitMQ node {node.name} did not start:\n{log}")
            time.sleep(0.5)

    def up(self) -> "RabbitCluster":
        first, *others = self.nodes
        self.start(first)
        for node in others:
            self.start(node)
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", first.name)
            self.ctl(node, "start_app")
        return self

    def running(self) -> set[str]:
        """The nodes that the first live node sees running."""
        for node in self.nodes:
            status = self.ctl(node, "cluster_status", "--formatter", "json", check=False)
            if status is not None:
                return set(json.loads(status)["running_nodes"])
        return set()

    def kill(self, node: Node) -> None:
        """`kill -9` of the node's Erlang VM."""
        pid = int((node.home / "pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop_all(self) -> None:
        for node in self.nodes:
            pid_file = node.home / "pid"
            if pid_file.exists():
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)
