"""Field problems: why a birth event was refused, one entry per wrong field, in two languages.

:func:`parse_birth_event` validates a decoded JSON body and raises
:class:`BirthEventInvalid` naming every wrong field with a JSON pointer (RFC 6901),
a stable code and messages in English and Chinese. The gateway renders them as
``application/problem+json``.

:func:`normalisation_notes` lists what was accepted in another form than posted, for
the answer to the hospital; its one code is ``middle_dot_normalised`` (a name's
middle dot spelt with a look-alike, now ``·``).

Problem codes (stable; clients may switch on them):

==========================  ==============================================================
``missing``                 a required field is absent
``extra_forbidden``         a field the contract does not define
``wrong_type``              wrong JSON type (string for a number, non-object body: pointer "")
``too_short``               string or list shorter than allowed (also an empty string)
``too_long``                string or list longer than allowed (also a photo over 48 KiB)
``blank``                   a string of whitespace only
``out_of_range``            a number outside its range
``not_allowed``             a value outside its code list (sex, id_type, vaccine, ethnicity…)
``invalid_format``          wrong shape: region code, phone, country code, date-time, photo
``invalid_characters``      characters not allowed (digits in a name, symbols in a code,
                            a control character in any free text)
``invalid_length``          a resident ID that is not 18 characters
``invalid_check_digit``     a resident ID whose GB 11643 check digit is wrong
``invalid_date``            a resident ID whose embedded birth date does not exist
``unknown_region``          a GB/T 2260 code not in use (for resident IDs: never assigned)
``unknown_country``         an alpha-3 code that is not an ISO 3166 country
``ethnicity_required``      a Chinese citizen without an ethnicity
``implausible_parent_age``  a resident ID making the parent younger than 12 or older than 70
``timezone_required``       a date-time without a UTC offset
``in_future``               a time after now (5 minutes of clock skew tolerated)
``too_old``                 a birth more than one year ago
``exceeds_plurality``       ``birth_order`` greater than ``plurality``
``father_required``         ``register_with: father`` without a father on the record
``citizen_required``        ``register_with`` names a foreign parent beside a Chinese one
``consent_required``        a father on the record without ``father_agreed_at``
``before_birth``            a vaccine dose given before the birth
``duplicate_item``          a service listed twice, or the same vaccine dose twice
``invalid``                 any other refusal (not expected; a safety net)
==========================  ==============================================================
"""

# Chinese messages use Chinese (full-width) punctuation.
# ruff: noqa: RUF001

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from contracts.birth import MIDDLE_DOT, NAME_POINTERS, BirthEvent, birth_event_json_schema

__all__ = [
    "PROBLEM_CODES",
    "BirthEventInvalid",
    "FieldNote",
    "FieldProblem",
    "birth_event_json_schema",
    "json_pointer",
    "normalisation_notes",
    "parse_birth_event",
    "problems_from_validation_error",
]

PROBLEM_CODES: Final = frozenset(
    {
        "missing", "extra_forbidden", "wrong_type", "too_short", "too_long", "blank",
        "out_of_range", "not_allowed", "invalid_format", "invalid_characters",
        "invalid_length", "invalid_check_digit", "invalid_date", "unknown_region",
        "unknown_country", "ethnicity_required", "implausible_parent_age",
        "timezone_required", "in_future", "too_old", "exceeds_plurality",
        "father_required", "citizen_required", "consent_required", "before_birth",
        "duplicate_item", "invalid",
    }
)


class FieldProblem(BaseModel):
    """One wrong field: where (JSON pointer), what (code) and why (English, Chinese)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pointer: str
    code: str
    message: str
    message_zh: str


class BirthEventInvalid(ValueError):  # noqa: N818 (the name is the API)
    """A birth event was refused; ``problems`` names every wrong field.

    The exception text carries pointers and codes only, never the submitted values
    (they are personal data and exceptions end up in logs).
    """

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems: list[FieldProblem] = list(problems)
        summary = ", ".join(f"{p.pointer or '/'} {p.code}" for p in self.problems)
        super().__init__(f"birth event invalid ({len(self.problems)}): {summary}")


def json_pointer(loc: Sequence[str | int]) -> str:
    """RFC 6901 pointer for a pydantic error location (``()`` is the whole document)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in loc)


# Built-in pydantic error types: JSON type names for wrong_type, in both languages.
_EXPECTED_TYPE: Final[Mapping[str, tuple[str, str]]] = {
    "string_type": ("a string", "字符串"),
    "string_unicode": ("a string", "字符串"),
    "int_type": ("an integer", "整数"),
    "int_parsing": ("an integer", "整数"),
    "int_from_float": ("an integer", "整数"),
    "float_type": ("a number", "数字"),
    "float_parsing": ("a number", "数字"),
    "bool_type": ("true or false", "true 或 false"),
    "bool_parsing": ("true or false", "true 或 false"),
    "model_type": ("an object", "对象"),
    "model_attributes_type": ("an object", "对象"),
    "dict_type": ("an object", "对象"),
    "list_type": ("an array", "数组"),
    "datetime_type": ("a date-time string", "日期时间字符串"),
    "none_required": ("null", "null"),
}
_DATETIME_FORMAT: Final = (
    "invalid_format",
    "must be an ISO 8601 date-time with offset, e.g. 2024-05-01T08:30:00+08:00",
    "必须是带时区偏移的 ISO 8601 日期时间，例如 2024-05-01T08:30:00+08:00",
)


def _translate(error: ErrorDetails) -> tuple[str, str, str]:
    """(code, English, Chinese) for one pydantic error."""
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    if "zh" in ctx:  # ours: PydanticCustomError(code, english, {"zh": chinese})
        return kind, error["msg"], str(ctx["zh"])
    if kind in _EXPECTED_TYPE:
        en, zh = _EXPECTED_TYPE[kind]
        return "wrong_type", f"must be {en}", f"必须是{zh}"
    match kind:
        case "missing":
            return "missing", "is required", "必须填写"
        case "extra_forbidden":
            return "extra_forbidden", "is not a field of the birth event", "不是出生事件的字段"
        case "string_too_short":
            n = ctx.get("min_length", 1)
            if n == 1:
                return "too_short", "must not be empty", "不能为空"
            return "too_short", f"must have at least {n} characters", f"至少需要 {n} 个字符"
        case "string_too_long":
            n = ctx.get("max_length")
            return "too_long", f"must have at most {n} characters", f"不能超过 {n} 个字符"
        case "too_short":
            n = ctx.get("min_length", 1)
            return "too_short", f"must have at least {n} item(s)", f"至少需要 {n} 项"
        case "too_long":
            n = ctx.get("max_length")
            return "too_long", f"must have at most {n} items", f"最多 {n} 项"
        case "greater_than_equal":
            n = ctx.get("ge")
            return "out_of_range", f"must be at least {n}", f"不能小于 {n}"
        case "greater_than":
            n = ctx.get("gt")
            return "out_of_range", f"must be greater than {n}", f"必须大于 {n}"
        case "less_than_equal":
            n = ctx.get("le")
            return "out_of_range", f"must be at most {n}", f"不能大于 {n}"
        case "less_than":
            n = ctx.get("lt")
            return "out_of_range", f"must be less than {n}", f"必须小于 {n}"
        case "finite_number":
            return "out_of_range", "must be a finite number", "必须是有限数值"
        case "literal_error" | "enum":
            expected = str(ctx.get("expected", ""))
            expected_zh = expected.replace("' or '", "', '").replace("', '", "'、'")
            return "not_allowed", f"must be one of {expected}", f"必须是以下之一：{expected_zh}"
        case "timezone_aware":
            return (
                "timezone_required",
                "must include a UTC offset, e.g. +08:00",
                "必须包含时区偏移，例如 +08:00",
            )
        case (
            "datetime_parsing" | "datetime_from_date_parsing" | "datetime_object_invalid"
            | "datetime_future" | "datetime_past"
        ):
            return _DATETIME_FORMAT
        case "string_pattern_mismatch":
            return "invalid_format", "has the wrong format", "格式不正确"
    return "invalid", error["msg"], "取值无效"


def problems_from_validation_error(exc: ValidationError) -> list[FieldProblem]:
    """One problem per wrong field (the first error at each location wins)."""
    problems: dict[str, FieldProblem] = {}
    for error in exc.errors(include_url=False, include_input=False):
        pointer = json_pointer(error["loc"])
        if pointer in problems:
            continue
        code, message, message_zh = _translate(error)
        problems[pointer] = FieldProblem(
            pointer=pointer, code=code, message=message, message_zh=message_zh
        )
    return list(problems.values())


def parse_birth_event(data: object, *, now: datetime | None = None) -> BirthEvent:
    """Validate a decoded JSON body as a birth event v1.

    ``now`` (default: the real UTC time) is what "in the future" and "one year ago"
    are measured from. Raises :class:`BirthEventInvalid` listing every wrong field.
    """
    moment = now if now is not None else datetime.now(UTC)
    if not isinstance(data, Mapping):
        raise BirthEventInvalid(
            [FieldProblem(pointer="", code="wrong_type", message="must be a JSON object",
                          message_zh="必须是 JSON 对象")]
        )
    try:
        return BirthEvent.model_validate(data, context={"now": moment})
    except ValidationError as exc:
        raise BirthEventInvalid(problems_from_validation_error(exc)) from None


class FieldNote(BaseModel):
    """A field accepted in another form than posted: where, what was done, and the
    value the departments receive (the hospital may want to update its records)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pointer: str
    code: str
    message: str
    message_zh: str
    value: str


def _at(data: object, pointer: str) -> object:
    for part in pointer.strip("/").split("/"):
        if not isinstance(data, Mapping):
            return None
        data = data.get(part)
    return data


def normalisation_notes(data: Mapping[str, Any], event: BirthEvent) -> list[FieldNote]:
    """One note per name whose middle dot was spelt with a look-alike (a bullet, a
    katakana middle dot, a full stop…) and is now ``·``: ``data`` as posted, ``event``
    as accepted."""
    accepted = event.model_dump(mode="json")
    notes: list[FieldNote] = []
    for pointer in NAME_POINTERS:
        posted, value = _at(data, pointer), _at(accepted, pointer)
        if isinstance(posted, str) and isinstance(value, str) and posted.strip() != value:
            notes.append(
                FieldNote(
                    pointer=pointer,
                    code="middle_dot_normalised",
                    message=f"a look-alike of the middle dot was replaced by {MIDDLE_DOT} (U+00B7)",
                    message_zh=f"间隔号的近似字符已统一为“{MIDDLE_DOT}”（U+00B7）",
                    value=value,
                )
            )
    return notes
