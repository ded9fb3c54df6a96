"""The redaction processor, and the rule that log calls pass no personal fields."""

import ast
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import structlog

from birthlink import logs
from birthlink.logs import REDACTED, redact

ID_NUMBER = "110105199003071234"
PHONE = "13912345678"


def line(**event: Any) -> dict[str, Any]:
    return dict(redact(None, "info", {"event": "x", **event}))


@pytest.mark.parametrize(
    "event",
    [
        {"name": "王芳"},
        {"mother_name": "Maria Lopez"},
        {"id_number": "E12345678"},
        {"hukou_address": "西湖区文三路 1 号"},
        {"data": {"mother": {"xm": "王芳"}}},
        {"record": {"yjdz": {"xxdz": "文三路 1 号", "sjr": "王芳"}}},
        {"rows": [{"psn_name": "李小明"}]},
        {"contact": {"phone": PHONE}},
    ],
)
def test_values_under_personal_keys_are_removed_at_any_depth(event: dict[str, Any]) -> None:
    cleaned = json.dumps(line(**event), ensure_ascii=False)
    for value in ("王芳", "Maria", "E12345678", "文三路", "李小明", PHONE):
        assert value not in cleaned


@pytest.mark.parametrize(
    "value",
    [
        f"refused: certificate {ID_NUMBER} unknown",
        f"call {PHONE} back",
        f"+86{PHONE}",
        "11010519900307123X",
        "王芳",
        " 欧阳·娜娜 ",
        "1 validation error\nname\n  Value error [type=v, input_value='王芳', input_type=str]",
    ],
)
def test_values_that_look_personal_are_removed_whatever_the_key(value: str) -> None:
    cleaned = line(reason=value, nested={"why": [value]})
    text = json.dumps(cleaned, ensure_ascii=False)
    for secret in (ID_NUMBER, PHONE, "11010519900307123X", "王芳", "欧阳"):
        assert secret not in text
    assert REDACTED in cleaned["reason"]


def test_exceptions_and_objects_are_cleaned_through_their_text() -> None:
    cleaned = line(error=ValueError(f"bad id {ID_NUMBER}"))
    assert cleaned["error"] == f"bad id {REDACTED}"


@pytest.mark.parametrize(
    "value",
    [
        "saga.step.completed",
        "4f2c9a7e0b1d4e6f8a9b0c1d2e3f4a5b",
        "12345678901234567890abcdef0123456",  # a hex id that starts with digits
        "2026-11-28T08:30:00+08:00",
        "birth_certificate",
        "已受理请等待审核结果",  # a sentence, not a name
    ],
)
def test_ordinary_values_are_kept(value: str) -> None:
    assert line(value=value)["value"] == value


def test_a_configured_process_renders_lines_without_personal_values() -> None:
    stream = io.StringIO()
    logs.configure(json=True, stream=stream)
    try:
        structlog.get_logger().info("x", name="王芳", reason=f"id {ID_NUMBER}")
    finally:
        structlog.reset_defaults()
    rendered = json.loads(stream.getvalue())
    assert rendered["name"] == REDACTED
    assert ID_NUMBER not in stream.getvalue()


def test_standard_library_records_go_through_the_same_redaction() -> None:
    stream = io.StringIO()
    root, server = logging.getLogger(), logging.getLogger("uvicorn.error")
    saved = root.handlers[:], root.level, server.handlers[:], server.propagate
    # As uvicorn leaves it when it configured its own logging earlier in the process.
    server.handlers, server.propagate = [logging.StreamHandler(io.StringIO())], False
    logs.configure(json=True, stream=stream)
    try:
        try:
            raise ValueError(f"bad input {ID_NUMBER}")
        except ValueError:
            server.exception("Exception in ASGI app %s", PHONE)
    finally:
        structlog.reset_defaults()
        root.handlers, root.level, server.handlers, server.propagate = saved
    text = stream.getvalue()
    assert "Exception in ASGI app" in text
    assert "Traceback" in text
    assert ID_NUMBER not in text
    assert PHONE not in text


# Attributes and keys a log call must never read: the personal parts of a birth
# (`.name` alone is everywhere: queues, departments; `event.mother.name` is caught
# by `mother`).
PERSONAL_PARTS = {
    "id_number",
    "phone",
    "hukou_address",
    "mailing_address",
    "recipient",
    "citizen_id",
    "mother",
    "father",
    "child",
    "contact",
    "household",
    "record",
}
LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "msg"}
ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("gateway", "adapters", "bus", "birthlink", "sandbox", "contracts")


def _log_calls(tree: ast.AST) -> list[ast.Call]:
    calls = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in LOG_METHODS
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in {"log", "logger", "_log", "bound"}
        ):
            calls.append(node)
    return calls


def _personal_reads(node: ast.AST) -> list[str]:
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and sub.attr in PERSONAL_PARTS:
            found.append(sub.attr)
        if (
            isinstance(sub, ast.Subscript)
            and isinstance(sub.slice, ast.Constant)
            and sub.slice.value in PERSONAL_PARTS
        ):
            found.append(str(sub.slice.value))
    return found


def test_no_log_call_in_the_code_base_passes_a_personal_field() -> None:
    offenders = []
    calls = 0
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for call in _log_calls(tree):
                calls += 1
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                for keyword in call.keywords:
                    if keyword.arg and logs._personal(keyword.arg):
                        offenders.append(f"{where} passes {keyword.arg}=")
                for arg in [*call.args, *(k.value for k in call.keywords)]:
                    offenders += [f"{where} reads .{part}" for part in _personal_reads(arg)]
    assert calls > 30  # the scan does find the log calls
    assert offenders == [], "\n".join(offenders)
