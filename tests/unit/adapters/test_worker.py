"""The adapter worker: command envelope in, reply envelope out, over a fake transport."""

from typing import Any

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from adapters._runtime.errors import (
    DepartmentProtocolError,
    PermanentError,
    TransientError,
    UnsupportedCommandError,
)
from adapters._runtime.http import RetryPolicy
from adapters._runtime.replies import accepted, completed, pending
from adapters._runtime.worker import AdapterWorker, reply_message_id
from adapters.birth_certificate.client import BirthCertificateClient
from adapters.birth_certificate.handler import BirthCertificateAdapter
from bus.base import Handler, NotConfirmedError
from bus.topology import RESULTS_EXCHANGE
from contracts.catalogue import builtin_registry
from contracts.commands import POLL_TYPE, AmendStep, PollDepartment, RevokeStep, SubmitStep
from contracts.envelope import Envelope
from contracts.replies import StepReply
from tests.unit.adapters import samples
from tests.unit.adapters.conftest import MockDepartment

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class FakeTransport:
    """Records publishes; lets the test deliver an envelope to the subscribed handler."""

    def __init__(self, nacks: int = 0) -> None:
        self.handlers: dict[str, Handler] = {}
        self.prefetch: dict[str, int] = {}
        self.published: list[tuple[str, str, Envelope]] = []
        self.nacks = nacks  # publishes the broker refuses first

    async def start(self) -> None:
        pass

    async def publish(self, envelope: Envelope, *, exchange: str, routing_key: str) -> None:
        if self.nacks:
            self.nacks -= 1
            raise NotConfirmedError(f"the broker refused message {envelope.message_id}")
        self.published.append((exchange, routing_key, envelope))

    async def subscribe(self, queue: str, handler: Handler, *, prefetch: int = 50) -> None:
        self.handlers[queue] = handler
        self.prefetch[queue] = prefetch

    async def close(self) -> None:
        pass

    async def deliver(self, queue: str, envelope: Envelope) -> None:
        await self.handlers[queue](envelope)


class FakeAdapter:
    """A DepartmentAdapter that answers or raises what the test says, and notes the
    log context it ran in."""

    def __init__(self, outcome: StepReply | Exception) -> None:
        self.outcome = outcome
        self.calls: list[tuple[str, Any, str]] = []
        self.log_context: dict[str, Any] = {}

    async def _answer(self, kind: str, cmd: Any, step: str) -> StepReply:
        self.calls.append((kind, cmd, step))
        self.log_context = structlog.contextvars.get_contextvars()
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    async def submit(self, cmd: SubmitStep, *, step: str) -> StepReply:
        return await self._answer("submit", cmd, step)

    async def poll(self, cmd: PollDepartment, *, step: str) -> StepReply:
        return await self._answer("poll", cmd, step)

    async def amend(self, cmd: AmendStep, *, step: str) -> StepReply:
        return await self._answer("amend", cmd, step)

    async def revoke(self, cmd: RevokeStep, *, step: str) -> StepReply:
        return await self._answer("revoke", cmd, step)


def submit_envelope(step: str = "household_registration", **changes: Any) -> Envelope:
    fields: dict[str, Any] = {
        "message_id": "cmd-1",
        "type": builtin_registry()[step].command,
        "birth_id": "birth-1",
        "step": step,
        "attempt": 2,
        "traceparent": TRACEPARENT,
        "data": SubmitStep(idempotency_key=f"birth-1:{step}", record={"x": 1}).model_dump(),
    } | changes
    return Envelope(**fields)


def poll_envelope(step: str = "household_registration") -> Envelope:
    return Envelope(
        message_id="poll-1",
        type=POLL_TYPE,
        birth_id="birth-1",
        step=step,
        data=PollDepartment(idempotency_key=f"birth-1:{step}", reference="MPS1").model_dump(),
    )


async def started(adapter: Any, department: str = "mps") -> tuple[FakeTransport, AdapterWorker]:
    transport = FakeTransport()
    worker = AdapterWorker(department, adapter, transport, prefetch=7)
    await worker.start()
    return transport, worker


async def test_a_reply_the_broker_refuses_is_published_again_and_the_department_called_once() -> (
    None
):
    adapter = FakeAdapter(accepted("MPS1", {"application_number": "MPS1"}))
    transport = FakeTransport(nacks=3)  # a node of the cluster down: its queues move
    worker = AdapterWorker("mps", adapter, transport, first_pause_s=0.01)
    await worker.start()
    with capture_logs() as logs:
        await transport.deliver("birthlink.mps", submit_envelope())  # acked: no attempt spent
    assert len(adapter.calls) == 1
    ((_, routing_key, reply),) = transport.published
    assert (routing_key, reply.message_id) == ("mps.accepted", "cmd-1.reply")
    waits = [e for e in logs if e["event"] == "adapter.reply.refused.retrying"]
    assert [e["attempt"] for e in waits] == [1, 2, 3]


async def test_a_reply_refused_past_the_patience_fails_the_command() -> None:
    transport = FakeTransport(nacks=1000)
    worker = AdapterWorker(
        "mps", FakeAdapter(pending("x")), transport, reply_patience_s=0.05, first_pause_s=0.01
    )
    await worker.start()
    with pytest.raises(NotConfirmedError):  # redelivered by the bus, then dead-lettered
        await transport.deliver("birthlink.mps", submit_envelope())


async def test_start_subscribes_to_the_departments_queue_with_the_prefetch() -> None:
    transport, _ = await started(FakeAdapter(pending("x")))
    assert transport.prefetch == {"birthlink.mps": 7}


async def test_a_submit_is_answered_with_a_reply_envelope_on_the_results_exchange() -> None:
    adapter = FakeAdapter(accepted("MPS1", {"application_number": "MPS1"}))
    transport, _ = await started(adapter)
    await transport.deliver("birthlink.mps", submit_envelope())

    ((kind, cmd, step),) = adapter.calls
    assert (kind, step) == ("submit", "household_registration")
    assert cmd == SubmitStep(idempotency_key="birth-1:household_registration", record={"x": 1})
    ((exchange, routing_key, reply),) = transport.published
    assert (exchange, routing_key) == (RESULTS_EXCHANGE, "mps.accepted")
    assert reply.message_id == "cmd-1.reply" == reply_message_id("cmd-1")
    assert reply.type == "StepAccepted"
    assert (reply.birth_id, reply.step, reply.attempt, reply.traceparent) == (
        "birth-1",
        "household_registration",
        2,
        TRACEPARENT,
    )
    assert StepReply.model_validate(reply.data) == StepReply(
        outcome="accepted",
        reference="MPS1",
        output={"application_number": "MPS1"},
        command_id="cmd-1",
    )


async def test_a_redelivered_command_yields_the_same_reply_message_id() -> None:
    transport, _ = await started(FakeAdapter(pending("MPS1")))
    await transport.deliver("birthlink.mps", submit_envelope())
    await transport.deliver("birthlink.mps", submit_envelope())
    first, second = (envelope for _, _, envelope in transport.published)
    assert first.message_id == second.message_id == "cmd-1.reply"
    assert first.data == second.data


async def test_a_poll_goes_to_the_adapters_poll() -> None:
    adapter = FakeAdapter(pending("MPS1"))
    transport, _ = await started(adapter)
    await transport.deliver("birthlink.mps", poll_envelope())
    ((kind, cmd, _),) = adapter.calls
    assert (kind, cmd.reference) == ("poll", "MPS1")
    ((_, routing_key, reply),) = transport.published
    assert (routing_key, reply.type, reply.message_id) == (
        "mps.pending",
        "StepStillPending",
        "poll-1.reply",
    )


async def test_a_refusal_is_replied_as_rejected_with_the_departments_reason() -> None:
    transport, _ = await started(FakeAdapter(PermanentError("地址不详", status=400, code="E1")))
    await transport.deliver("birthlink.mps", submit_envelope())
    ((_, routing_key, reply),) = transport.published
    assert (routing_key, reply.type) == ("mps.rejected", "StepRejected")
    assert reply.data["reason"] == "地址不详"
    assert reply.data["command_id"] == "cmd-1"


async def test_an_unreachable_department_is_replied_as_transient_with_its_wait() -> None:
    transport, _ = await started(
        FakeAdapter(TransientError("department answered HTTP 429", status=429, retry_after_s=90))
    )
    await transport.deliver("birthlink.mps", submit_envelope())
    ((_, routing_key, reply),) = transport.published
    assert (routing_key, reply.type) == ("mps.transient", "StepFailedTransiently")
    assert (reply.data["reason"], reply.data["retry_after_s"]) == (
        "department answered HTTP 429",
        90.0,
    )


async def test_an_unreadable_answer_is_replied_as_transient() -> None:
    transport, _ = await started(FakeAdapter(DepartmentProtocolError("malformed XML")))
    await transport.deliver("birthlink.mps", submit_envelope())
    ((_, routing_key, reply),) = transport.published
    assert routing_key == "mps.transient"
    assert reply.data["retry_after_s"] is None


async def test_a_bug_in_the_adapter_propagates_so_the_bus_redelivers() -> None:
    transport, _ = await started(FakeAdapter(KeyError("oops")))
    with capture_logs() as logs, pytest.raises(KeyError):
        await transport.deliver("birthlink.mps", submit_envelope())
    assert transport.published == []
    assert [entry["event"] for entry in logs] == ["adapter.mps.failed"]
    assert logs[0]["log_level"] == "error"


async def test_an_unknown_command_type_is_logged_and_raised() -> None:
    adapter = FakeAdapter(pending("x"))
    transport, _ = await started(adapter)
    with capture_logs() as logs, pytest.raises(UnsupportedCommandError):
        await transport.deliver("birthlink.mps", submit_envelope(type="RevokeEverything"))
    assert adapter.calls == []
    assert transport.published == []
    assert logs[0]["event"] == "adapter.mps.failed"
    assert logs[0]["type"] == "RevokeEverything"


async def test_another_steps_command_on_this_queue_is_raised() -> None:
    transport, _ = await started(FakeAdapter(pending("x")))
    with pytest.raises(UnsupportedCommandError):
        await transport.deliver("birthlink.mps", submit_envelope(step="birth_certificate"))


async def test_a_command_without_a_step_is_taken_as_the_departments_step() -> None:
    adapter = FakeAdapter(completed({"certificate_number": "A123456789"}))
    transport, _ = await started(adapter, "nhc")
    envelope = submit_envelope(step="birth_certificate").model_copy(update={"step": None})
    await transport.deliver("birthlink.nhc", envelope)
    ((_, routing_key, reply),) = transport.published
    assert (routing_key, reply.step) == ("nhc.completed", "birth_certificate")


async def test_the_message_is_bound_to_the_log_context_while_it_is_handled() -> None:
    adapter = FakeAdapter(pending("MPS1"))
    transport, _ = await started(adapter)
    await transport.deliver("birthlink.mps", submit_envelope())
    assert adapter.log_context == {
        "birth_id": "birth-1",
        "step": "household_registration",
        "attempt": 2,
        "message_id": "cmd-1",
        "department": "mps",
    }
    assert structlog.contextvars.get_contextvars() == {}


async def test_a_whole_submit_through_a_real_adapter_logs_no_personal_data(
    http: httpx.AsyncClient, department: MockDepartment, retry: RetryPolicy
) -> None:
    department.answer(httpx.Response(503), httpx.Response(201, json={"zmbh": "A123456789"}))
    adapter = BirthCertificateAdapter(BirthCertificateClient(http, retry))
    transport, _ = await started(adapter, "nhc")
    envelope = submit_envelope(
        step="birth_certificate",
        data=SubmitStep(
            idempotency_key="birth-1:birth_certificate",
            record=samples.certificate_record().model_dump(mode="json"),
        ).model_dump(),
    )
    with capture_logs() as logs:
        await transport.deliver("birthlink.nhc", envelope)
    ((_, routing_key, reply),) = transport.published
    assert routing_key == "nhc.completed"
    assert reply.data["output"] == {"certificate_number": "A123456789"}
    events = [entry["event"] for entry in logs]
    assert events == [
        "adapter.nhc.submitting",
        "adapter.http.retrying",
        "adapter.nhc.submitted",
        "adapter.nhc.replied",
    ]
    logged = repr(logs)
    leaked = [value for value in samples.PERSONAL if value in logged]
    assert leaked == []
