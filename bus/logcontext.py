"""What a handler's log lines carry about the message it is handling."""

from collections.abc import Mapping

_FROM_HEADERS = ("birth_id", "step", "attempt")


def message_context(message_id: str | None, headers: Mapping[str, object]) -> dict[str, object]:
    """`message_id`, `birth_id`, `step`, `attempt` from a message's broker headers,
    readable before (and without) parsing the body."""
    context: dict[str, object] = {"message_id": message_id}
    for key in _FROM_HEADERS:
        value = headers.get(key)
        if isinstance(value, bytes):
            value = value.decode(errors="replace")
        if value is None:
            continue
        if key == "attempt" and isinstance(value, str) and value.isdigit():
            value = int(value)
        context[key] = value
    return context
