"""Logging: structlog, JSON off a terminal, console on one; personal data never
leaves the process (a redaction processor runs last before rendering).

Names cannot be recognised in free text in general, so three rules work together:
1. log calls never pass personal fields (a test reads every log call in the
   code base and refuses personal keyword names and personal attributes);
2. values under a key that names personal data are replaced, at any depth
   (`name`, `id_number`, `phone`, `address`, the departments' own codes such as
   `xm`, `mqsfzh`, `aac003`, ...);
3. values that look personal are replaced wherever they hide: ID numbers,
   mainland mobiles, a string that is only a Chinese name, and the input values
   that pydantic quotes in its validation errors.
"""

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO, cast

import structlog

# Keys that carry personal data whatever the event (names, ID numbers, phones,
# addresses); values under them are replaced.
PERSONAL_KEYS = re.compile(
    r"(^|_)(name|names|id_number|idnumber|id_no|citizen_id|certno|cert_no|phone|phones|mobile|"
    r"tel|address|addr|hukou_address|mailing_address|detail|recipient|gmsfhm|aac002|aac003|xm|xsexm|"
    r"mqxm|fqxm|mqsfzh|fqsfzh|zjhm|psn_name|yjdz|hjdz|xxdz|sjr|lxdh|sfzh|passport)($|_)",
    re.IGNORECASE,
)
# Technical keys that the pattern above would take for personal ones.
NOT_PERSONAL = frozenset({"connection_name", "queue_name", "exchange_name", "logger_name"})
# Values that look like an ID number (18 or 15 digits) or a mainland mobile.
PERSONAL_VALUES = re.compile(
    r"(?<![\dA-Za-z])(\d{17}[\dXx]|\d{15}|(?:\+?86)?1[3-9]\d{9})(?![\dA-Za-z])"
)
# A value that is nothing but a Chinese name (2 to 6 Han characters, maybe a middle dot).
CHINESE_NAME = re.compile(r"^\s*[\u3400-\u9fff][\u3400-\u9fff·•]{1,5}\s*$")
# pydantic quotes what it refused: `input_value='王芳'` or `input_value={...}`.
PYDANTIC_INPUT = re.compile(r"input_value=.*?(?=, input_type=|\]$|$)", re.MULTILINE)
REDACTED = "[redacted]"


def _personal(key: str) -> bool:
    return key not in NOT_PERSONAL and PERSONAL_KEYS.search(key) is not None


def _clean_text(value: str) -> str:
    if CHINESE_NAME.match(value):
        return REDACTED
    value = PYDANTIC_INPUT.sub(f"input_value={REDACTED}", value)
    return PERSONAL_VALUES.sub(REDACTED, value)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return {k: REDACTED if _personal(str(k)) else _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_clean(v) for v in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return _clean_text(str(value))  # exceptions, models, anything with a str()


def redact(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Remove personal data from a log line, by key and by value."""
    for key in list(event_dict):
        if _personal(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _clean(event_dict[key])
    return event_dict


def processors(renderer: Any) -> list[Any]:
    """The processor chain of every birthlink process; `redact` runs just before
    rendering, after the traceback became text."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact,
        renderer,
    ]


class _Stderr:
    """Standard error as it is when a line is written, not when logging was set
    up: a test runner that swaps it and closes its own leaves no logger behind
    writing to a closed file (structlog caches loggers)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure(
    *, json: bool | None = None, level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Set up structlog for this process, and send the standard library's
    records (uvicorn, SQLAlchemy, aio-pika, ...) through the same redaction."""
    stream = stream or cast(TextIO, _Stderr())
    if json is None:
        json = not stream.isatty()
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer()
    )
    structlog.configure(
        processors=processors(renderer),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.format_exc_info,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                redact,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request is noise
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        server = logging.getLogger(name)  # uvicorn may have given them handlers of its own
        server.handlers.clear()
        server.propagate = True
