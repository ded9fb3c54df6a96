"""The in-process transport's own behaviour (its rules are in the integration suite,
shared with RabbitMQ); no network."""

import asyncio

import structlog

from bus import InProcessTransport, make_transport
from bus.base import NotConfirmedError
from bus.sealed import DEV_BUS_KEYS, SealedTransport
from bus.topology import COMMANDS_EXCHANGE, Topology, department_queue
from contracts.envelope import Envelope
from contracts.sealing import Keyring

NHC = department_queue("nhc")


def test_no_broker_url_means_the_in_process_transport_sealed() -> None:
    topology = Topology(prefix="x.")
    transport = make_transport(None, Keyring.parse(DEV_BUS_KEYS), topology)
    assert isinstance(transport, SealedTransport)
    assert isinstance(transport.inner, InProcessTransport)
    assert transport.inner.topology is topology


async def test_a_failing_handler_is_logged_with_the_message_it_was_handling() -> None:
    transport = InProcessTransport(Topology(delivery_limit=1))
    failed = asyncio.Event()

    async def broken(envelope: Envelope) -> None:
        failed.set()
        raise RuntimeError("bug")

    envelope = Envelope(type="IssueBirthCertificate", birth_id="b1", step="birth_certificate")
    with structlog.testing.capture_logs([structlog.contextvars.merge_contextvars]) as logs:
        await transport.subscribe(NHC, broken, prefetch=1)
        await transport.publish(envelope, exchange=COMMANDS_EXCHANGE, routing_key="nhc.submit")
        await asyncio.wait_for(failed.wait(), 5)
        await transport.close()

    [failure] = [entry for entry in logs if entry["event"] == "bus.handler.failed"]
    assert failure["log_level"] == "error"
    assert failure["exc_info"] is True
    assert {key: failure[key] for key in ("message_id", "birth_id", "step", "attempt")} == {
        "message_id": envelope.message_id,
        "birth_id": "b1",
        "step": "birth_certificate",
        "attempt": 1,
    }
    assert any(entry["event"] == "bus.message.dead_lettered" for entry in logs)
    assert await transport.dead_letters(NHC) == [envelope]


async def test_a_closed_transport_refuses_to_publish() -> None:
    transport = InProcessTransport()
    await transport.close()
    envelope = Envelope(type="IssueBirthCertificate", birth_id="b1")
    try:
        await transport.publish(envelope, exchange=COMMANDS_EXCHANGE, routing_key="nhc.submit")
    except NotConfirmedError:
        return
    raise AssertionError("published on a closed transport")
