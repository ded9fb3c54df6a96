"""Errors as a FHIR ``OperationOutcome``: each issue with the expression into the
posted Bundle, the contract's problem code and its texts in English and Chinese
(the same as the problem+json answer's)."""

from __future__ import annotations

from typing import Any, Final

from fhir.resources.R4B.operationoutcome import OperationOutcome

from contracts.problems import FieldProblem

FHIR_JSON: Final = "application/fhir+json"
PROBLEM_SYSTEM: Final = "https://birthlink.example/fhir/CodeSystem/problem"
TRANSLATION: Final = "http://hl7.org/fhir/StructureDefinition/translation"

# The contract's problem codes -> FHIR issue-type codes (the rest are "invalid").
ISSUE_TYPES: Final[dict[str, str]] = {
    "missing": "required",
    "invalid_fhir": "structure",
    "wrong_type": "structure",
    "ambiguous": "business-rule",
    "likely_duplicate": "duplicate",
    "conflict": "conflict",
    "not_your_hospital": "forbidden",
}
# HTTP statuses of whole-request errors -> FHIR issue-type codes.
STATUS_TYPES: Final[dict[int, str]] = {
    400: "structure",
    401: "login",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    413: "too-long",
    415: "not-supported",
    429: "throttled",
}


def issue(
    expression: str | None, problem: FieldProblem, *, kind: str | None = None
) -> dict[str, Any]:
    """One issue: the expression, the contract's code and both texts."""
    body: dict[str, Any] = {
        "severity": "error",
        "code": kind or ISSUE_TYPES.get(problem.code, "invalid"),
        "details": {
            "coding": [{"system": PROBLEM_SYSTEM, "code": problem.code}],
            "text": problem.message,
            "_text": {
                "extension": [
                    {
                        "url": TRANSLATION,
                        "extension": [
                            {"url": "lang", "valueCode": "zh-CN"},
                            {"url": "content", "valueString": problem.message_zh},
                        ],
                    }
                ]
            },
        },
        "diagnostics": problem.message_zh,
    }
    if expression:
        body["expression"] = [expression]
    return body


def outcome(issues: list[dict[str, Any]]) -> dict[str, Any]:
    """An OperationOutcome (built and checked with the library) as FHIR JSON."""
    model = OperationOutcome.model_validate({"resourceType": "OperationOutcome", "issue": issues})
    body: dict[str, Any] = model.model_dump(mode="json")
    return body


def whole_request(status: int, title: str, detail: str | None, code: str) -> dict[str, Any]:
    """An issue about the whole request (auth, size, conflicts), no expression."""
    problem = FieldProblem(
        pointer="",
        code=code,
        message=f"{title}: {detail}" if detail else title,
        message_zh=_ZH.get(status, "请求无法处理"),
    )
    kind = ISSUE_TYPES.get(code) or STATUS_TYPES.get(status, "processing")
    return issue(None, problem, kind=kind)


_ZH: Final[dict[int, str]] = {
    400: "请求体不是有效的 FHIR JSON",
    401: "缺少或无效的 API 密钥",
    403: "无权执行此操作",
    404: "未找到",
    409: "与已有出生记录冲突",
    413: "请求体过大",
    415: "不支持的媒体类型",
    429: "请求过于频繁",
}
