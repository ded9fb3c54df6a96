"""Logging: structlog, JSON off a terminal, console on one; personal data never
leaves the process (a redaction processor runs last before rendering)."""

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys that carry personal data whatever the event (names, ID numbers, phones,
# addresses); values under them are replaced.
PERSONAL_KEYS = re.compile(
    r"(^|_)(name|names|id_number|idnumber|citizen_id|certno|phone|mobile|address|addr|"
    r"recipient|detail|gmsfhm|aac002|aac003|xm|xsexm|mqxm|fqxm|mqsfzh|fqsfzh|psn_name|yjdz)($|_)",
    re.IGNORECASE,
)
# Values that look like an ID number or a mainland mobile, wherever they hide.
PERSONAL_VALUES = re.compile(r"(?<!\d)(\d{17}[\dXx]|1[3-9]\d{9})(?!\d)")
REDACTED = "[redacted]"


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return PERSONAL_VALUES.sub(REDACTED, value)
    if isinstance(value, dict):
        return {
            k: REDACTED if PERSONAL_KEYS.search(str(k)) else _clean(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Remove personal data from a log line, by key and by value."""
    for key in list(event_dict):
        if PERSONAL_KEYS.search(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _clean(event_dict[key])
    return event_dict


def configure(*, json: bool | None = None, level: str = "INFO") -> None:
    """Set up structlog for this process."""
    if json is None:
        json = not sys.stderr.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
