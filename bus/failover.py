"""Connecting to a RabbitMQ cluster: one URL per node, the next node on each attempt.

RabbitMQ clients connect to one node at a time; what survives a node's death is
the quorum queues' replicas on the others. aio-pika's robust connection
reconnects to the one URL it was given (aio-pika issue #141), so a dead node
would hold the client until it came back. `RoundRobinConnection` gives every
connection attempt, the first and each reconnect, the next node of the list:
after a node dies, the next attempt goes to a live one, and the robust
connection restores its channels, queues and consumers there.

`BIRTHLINK_AMQP_URL` names the nodes as URLs separated by commas
(`amqp://u:p@node1:5672/,amqp://u:p@node2:5672/`); one URL is the usual case.
"""

from typing import Any

from aio_pika import RobustConnection
from yarl import URL


def node_urls(url: str) -> list[str]:
    """The nodes' URLs in a comma-separated setting."""
    urls = [part.strip() for part in url.split(",") if part.strip()]
    if not urls:
        raise ValueError("no RabbitMQ URL given")
    return urls


class RoundRobinConnection(RobustConnection):
    """A robust connection over the nodes of a cluster (`node_urls`), in turn.

    aio-pika reads `url` exactly once per connection attempt (to connect), so
    the property hands out the next node on each read; `str()` names them all
    without a password."""

    def __init__(self, url: URL, *args: Any, **kwargs: Any) -> None:
        self._nodes = [URL(u) for u in node_urls(str(url))]
        self._turn = 0
        super().__init__(self._nodes[0], *args, **kwargs)
        self._turn = 0  # the first attempt goes to the first node

    @property
    def url(self) -> URL:
        node = self._nodes[self._turn % len(self._nodes)]
        self._turn += 1
        return node

    @url.setter
    def url(self, value: URL) -> None:
        """Set by aio-pika's own `__init__` (the first node) and `update_secret`."""
        password = value.password
        if password is not None and hasattr(self, "_nodes"):
            self._nodes = [node.with_password(password) for node in self._nodes]

    def __str__(self) -> str:
        return ",".join(str(n.with_password("******") if n.password else n) for n in self._nodes)
