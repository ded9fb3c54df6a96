"""Every word parents read, in Chinese (first) and English: step names, states,
instructions, the page's labels and the text messages. One place, so that the
page, the JSON view and the SMS say the same thing."""

# Chinese text uses full-width punctuation on purpose.
# ruff: noqa: RUF001

import re
import unicodedata

from contracts.registry import StepSpec, Text
from contracts.registry import text as t
from contracts.steps import BirthStatus, StepState

STATE_WORDS: dict[StepState, Text] = {
    StepState.WAITING: t("等待前一步完成", "Waiting for an earlier step"),
    StepState.QUEUED: t("已提交，办理中", "Submitted, in progress"),
    StepState.IN_PROGRESS: t("办理中", "In progress"),
    StepState.AWAITING_DEPARTMENT: t("部门审核中", "Being reviewed by the department"),
    StepState.COMPLETED: t("已完成", "Done"),
    StepState.RETRYING: t("部门系统繁忙，将自动重试", "Department busy, retrying automatically"),
    StepState.REJECTED: t("需要更正信息", "Details need correcting"),
    StepState.FAILED: t("遇到问题，工作人员处理中", "A problem: our staff are on it"),
    StepState.SKIPPED: t("未申请", "Not requested"),
    StepState.OFFLINE: t("需到窗口办理", "To be done in person"),
    StepState.CANCELLED: t("已取消", "Cancelled"),
    StepState.COMPENSATED: t("已撤销", "Withdrawn"),
    StepState.NOT_APPLICABLE: t("不适用", "Does not apply"),
    StepState.AWAITING_PARENTS: t("等待您确认", "Waiting for you to confirm"),
}

STATUS_WORDS: dict[BirthStatus, Text] = {
    BirthStatus.IN_PROGRESS: t("正在办理", "In progress"),
    BirthStatus.COMPLETED: t("全部办结", "All done"),
    BirthStatus.ACTION_REQUIRED: t("有事项需要处理", "Something needs attention"),
    BirthStatus.CANCELLING: t("正在取消", "Being cancelled"),
    BirthStatus.CANCELLED: t("已取消", "Cancelled"),
}


# A department's words are shown to parents only when they read as a sentence for
# people: in Chinese (departments address citizens in it), short, and with none of
# the marks of a technical error ("not well-formed XML (line 2, column 407)",
# "department refused with HTTP 400", "报文解析异常"). Operators see them all.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TECHNICAL = re.compile(
    r"[<>{}\[\]\\|`$#=_]"
    r"|(?i:(?<![a-z])(?:xml|json|http|https|html|soap|sql|utf|dtd|schema|encoding|"
    r"pars[a-z]*|exception|traceback|stack|errno|null|none|undefined|timeout|status|"
    r"line|column)(?![a-z]))"
    r"|第\s*\d+\s*[行列]|报文|解析|异常|堆栈|空指针|数据库|超时|接口|字段|编码|服务器|系统错误"
)
REASON_MAX_CHARS = 80


def parent_reason(reason: str | None) -> str | None:
    """A department's reason for refusing a step as parents may read it, or None when it
    is a technical error (then the parents read :func:`rejected`'s plain text)."""
    if not reason:
        return None
    reason = reason.strip()
    if (
        len(reason) > REASON_MAX_CHARS
        or _HAN.search(reason) is None
        or _TECHNICAL.search(reason) is not None
        or any(unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs") for ch in reason)
    ):
        return None
    return reason


def rejected(reason: str | None) -> Text:
    """What parents read of a refused step; `reason`: the department's words when they
    may be shown (:func:`parent_reason`), else None for a plain text without them."""
    if reason is None:
        return t(
            "部门暂时无法受理这份申请。工作人员已收到具体原因，会与出生医院一起处理；"
            "如需更正信息，医院会与您联系，您无需再跑腿。",
            "The department could not accept the application as it was sent. Our staff "
            "have the details and will sort it out with the hospital, who will contact you "
            "if anything needs correcting; there is nothing you need to do now.",
        )
    return t(
        f"部门退回了申请，原因：{reason}。请联系出生医院更正信息，"
        "更正后我们会自动重新提交，您无需再跑腿。",
        f"The department returned the application: {reason}. Please ask the hospital "
        "where your baby was born to correct the details; we resend it automatically.",
    )


def offline(spec: StepSpec, reason: str) -> Text:
    office = spec.texts.office
    return t(
        f"这一项无法在网上办理（{reason}）。请携带出生医学证明和父母双方身份证件，"
        f"到{office['zh']}办理。",
        f"This step cannot be done online ({reason}). Please take the birth medical "
        f"certificate and both parents' ID documents to {office['en']}.",
    )


def near_deadline(spec: StepSpec, due: str, days_left: int, *, passed: bool) -> Text:
    assert spec.deadline is not None
    rule, office = spec.deadline.words, spec.texts.office
    if passed:
        return t(
            f"法定期限（{rule['zh']}，即 {due} 前）已过，请尽快到{office['zh']}办理。",
            f"The legal deadline ({rule['en']}, {due}) has passed: please go to "
            f"{office['en']} as soon as you can.",
        )
    return t(
        f"法定期限为{rule['zh']}（{due} 前），还剩 {days_left} 天。"
        f"如到期前仍未完成，请到{office['zh']}办理。",
        f"The legal deadline is {rule['en']} ({due}), {days_left} days from now. "
        f"If this is not done by then, please go to {office['en']}.",
    )


PAGE: dict[str, Text] = {
    "title": t("出生一件事 · 办理进度", "Birth services · Progress"),
    "heading": t("查询办理进度", "Follow your baby's registrations"),
    "intro": t(
        "出生医学证明、户口登记、医保参保、社会保障卡等事项一次办理。"
        "输入医院给您的追踪码即可查看每一步的进度。",
        "The birth certificate, household registration, medical insurance, social "
        "security card and more, all in one go. Enter the tracking code the hospital "
        "gave you to see each step.",
    ),
    "code_label": t("追踪码", "Tracking code"),
    "code_hint": t("12位，如 ABCD-EFGH-JKMN", "12 characters, e.g. ABCD-EFGH-JKMN"),
    "verification_label": t("验证码", "Verification"),
    "verification_hint": t(
        "母亲身份证号码或联系电话的后6位",
        "Last 6 characters of the mother's ID number or of the contact phone",
    ),
    "submit": t("查询", "Look up"),
    "switch": t("English", "中文"),
    "switch_label": t("Switch to English", "切换到中文"),
    "steps_heading": t("办理进度", "Steps"),
    "brand": t("出生一件事", "Birth services"),
    "deadline": t("法定期限", "Legal deadline"),
    "updated": t("更新于", "Updated"),
    "all_done": t(
        "各项事项都已办好，证件会按您选择的方式送达。",
        "Every step is finished; the documents reach you as you chose.",
    ),
    "all_done_offline": t(
        "网上可办的事项都已办结；标明“需到窗口办理”的事项请按说明办理。",
        "Everything that can be done online is done; see the steps marked 'to be done in person'.",
    ),
    "action_needed": t("请按下方标出的说明办理。", "Please see what to do below."),
    "in_progress": t(
        "各部门正在办理。本页会自动更新，无需刷新。",
        "The departments are on it. This page updates by itself.",
    ),
    "again": t("查询其他追踪码", "Look up another code"),
    "not_found": t(
        "没有找到与追踪码和验证码相符的记录，请检查后再试。",
        "No record matches this tracking code and verification. Please check and try again.",
    ),
    "too_many": t(
        "尝试次数过多，请 {seconds} 秒后再试。",
        "Too many tries. Please try again in {seconds} seconds.",
    ),
    "too_many_minutes": t(
        "尝试次数过多，请 {minutes} 分钟后再试。",
        "Too many tries. Please try again in {minutes} minutes.",
    ),
    "error": t("服务暂时不可用，请稍后再试。", "The service is unavailable, please try later."),
    "offline_banner": t(
        "连接已中断，正在重新连接…显示的可能不是最新进度。",
        "Connection lost, reconnecting… what you see may be out of date.",
    ),
    "live": t("实时更新中", "Live"),
    "needs_js": t(
        "此页面需要启用 JavaScript 才能查询进度。",
        "This page needs JavaScript to look up progress.",
    ),
    "privacy": t(
        "您的追踪码和验证码不会出现在网址中，也不会保存在本设备上。",
        "Your tracking code and verification never appear in the address and are not kept "
        "on this device.",
    ),
    "required": t("请填写此项", "Please fill this in"),
    "code_format": t(
        "追踪码应为12位字母数字，如 ABCD-EFGH-JKMN",
        "The tracking code has 12 letters and digits, e.g. ABCD-EFGH-JKMN",
    ),
    "verification_format": t("验证码应为6位", "The verification has 6 characters"),
    "confirm_benefit": t(
        "您可以领取这项补贴。请确认后我们为您申请；如不需要，请选择“不申请”。",
        "You can receive this benefit. Confirm and we apply for you; if you do not want it, "
        "decline.",
    ),
    "confirm": t("确认申请", "Confirm"),
    "decline": t("不申请", "Decline"),
    "per_month": t("每月 {amount} 元", "{amount} yuan a month"),
    "months": t("{first} 至 {last}，共 {n} 个月", "{first} to {last}, {n} months"),
    "not_eligible": t("不符合条件", "Not eligible"),
    "paid_to": t("发放至", "Paid to"),
    "allowance": t(
        "{amount} 元，{days} 天，{date} 发放", "{amount} yuan for {days} days, paid on {date}"
    ),
    "decision_failed": t("未能提交，请刷新后再试。", "That did not go through; please try again."),
}


def sms_accepted(code: str, page_url: str, offline_steps: list[StepSpec]) -> str:
    """The first message: the birth was accepted, with the tracking code."""
    text = (
        f"【出生一件事】宝宝的出生信息已受理，各项事项将为您联办。追踪码：{code}，"
        f"在 {page_url} 输入追踪码和母亲身份证号或联系电话后6位即可查看进度。"
    )
    if offline_steps:
        names = "、".join(s.texts.title["zh"] for s in offline_steps)
        text += f"其中{names}需到窗口办理，详见页面。"
    return text + f" Birth received; tracking code {code}, follow it at {page_url}"


def sms_action_needed(code: str, page_url: str, steps: list[StepSpec]) -> str:
    """A step needs the parents (rejected, offline)."""
    names = "、".join(s.texts.title["zh"] for s in steps)
    names_en = ", ".join(s.texts.title["en"].lower() for s in steps)
    return (
        f"【出生一件事】{names}需要您处理，请在 {page_url} 查看说明（追踪码 {code}）。"
        f" The {names_en} needs you: see {page_url} (code {code})."
    )


def sms_benefits(code: str, page_url: str) -> str:
    """A benefit waits for the parents' confirmation (its lines follow)."""
    return (
        f"【出生一件事】有补贴等待您确认，请在 {page_url} 查看（追踪码 {code}）。"
        f" A benefit waits for your confirmation at {page_url} (code {code})."
    )


def sms_completed(code: str, page_url: str, offline_steps: list[StepSpec]) -> str:
    """Everything is done (what can be done online)."""
    if offline_steps:
        names = "、".join(s.texts.title["zh"] for s in offline_steps)
        return (
            f"【出生一件事】网上可办事项已全部办结；{names}请到窗口办理，"
            f"详见 {page_url}（追踪码 {code}）。 Online steps done; see {page_url}."
        )
    return (
        f"【出生一件事】各项事项已全部办结，证件将按您选择的方式送达。追踪码 {code}。"
        f" All steps are done (code {code})."
    )
