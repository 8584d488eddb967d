"""Every label and message the user reads, in Chinese and English, in one catalogue.

Stored data never changes with the language: files keep the English keys of
enumerations; only what is printed is translated.
"""

from __future__ import annotations

import locale
import os
from collections.abc import Callable
from contextvars import ContextVar
from enum import Enum
from typing import Any

LANGUAGES = ("zh", "en")

_current: ContextVar[str] = ContextVar("csctl_language", default="en")


def set_language(lang: str) -> Callable[[], None]:
    """Use `lang` from now on; returns what restores the language before (for in-process runs)."""
    token = _current.set(lang)
    return lambda: _current.reset(token)


def language() -> str:
    return _current.get()


def language_from_environment() -> str | None:
    """`zh` or `en` from LC_ALL / LC_MESSAGES / LANG, or None when they say neither."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    code = locale.getlocale()[0] or ""
    return "zh" if code.lower().startswith("zh") else None


# (zh, en) for each enumeration value, keyed by the enumeration's class name.
ENUM_LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "TicketKind": {
        "consultation": ("咨询", "consultation"),
        "complaint": ("投诉", "complaint"),
        "suggestion": ("建议", "suggestion"),
        "requirement": ("需求反馈", "requirement"),
        "maintenance": ("维护需求", "maintenance"),
        "business": ("业务办理", "counter business"),
    },
    "Channel": {
        "phone": ("电话", "phone"),
        "online": ("在线客服", "online chat"),
        "email": ("邮件", "e-mail"),
        "visit": ("来宾", "visit"),
        "outbound": ("主动回访", "outbound"),
        "field": ("出外", "field visit"),
    },
    "Urgency": {
        "low": ("低", "low"),
        "normal": ("一般", "normal"),
        "high": ("紧急", "high"),
        "urgent": ("特急", "urgent"),
    },
    "TicketStatus": {
        "new": ("待分配", "new"),
        "assigned": ("处理中", "assigned"),
        "transferred": ("已移交", "transferred"),
        "waiting": ("等待客户", "waiting on customer"),
        "resolved": ("已解决", "resolved"),
        "closed": ("已关闭", "closed"),
    },
    "Verdict": {
        "valid": ("投诉成立", "valid"),
        "invalid": ("投诉不成立", "not valid"),
    },
    "CallbackOutcome": {
        "accepted": ("接受", "accepted"),
        "rejected": ("不接受", "rejected"),
        "unreachable": ("未联系上", "unreachable"),
    },
    "RemittanceStatus": {
        "ordered": ("待汇款", "ordered"),
        "paid": ("已汇款待核实", "paid, not verified"),
        "verified": ("已核实", "verified"),
        "shipped": ("已发货", "shipped"),
        "cancelled": ("已取消", "cancelled"),
    },
    "KbStatus": {
        "draft": ("草稿", "draft"),
        "review": ("待审核", "in review"),
        "published": ("已发布", "published"),
        "retired": ("已下线", "retired"),
    },
    "Role": {
        "admin": ("系统管理员", "admin"),
        "supervisor": ("客服主管", "supervisor"),
        "agent": ("客服人员", "agent"),
        "assistant": ("助理", "assistant"),
        "tech": ("技术支持", "tech support"),
        "viewer": ("只读", "viewer"),
    },
}


def enum_label(value: Enum, lang: str | None = None) -> str:
    pair = ENUM_LABELS.get(type(value).__name__, {}).get(str(value.value))
    if pair is None:
        return str(value.value)
    return pair[0] if (lang or language()) == "zh" else pair[1]


MESSAGES: dict[str, tuple[str, str]] = {
    # headers
    "h.id": ("ID", "ID"),
    "h.name": ("姓名", "name"),
    "h.role": ("角色", "role"),
    "h.staff_no": ("工号", "staff no."),
    "h.email": ("邮箱", "e-mail"),
    "h.active": ("在职", "active"),
    "h.created": ("创建时间", "created"),
    "h.kind": ("类型", "kind"),
    "h.urgency": ("紧急程度", "urgency"),
    "h.status": ("状态", "status"),
    "h.assignee": ("负责人", "assignee"),
    "h.due": ("期限", "due"),
    "h.late": ("超时", "late"),
    "h.subject": ("主题", "subject"),
    "h.field": ("字段", "field"),
    "h.value": ("内容", "value"),
    "h.at": ("时间", "at"),
    "h.by": ("操作人", "by"),
    "h.what": ("操作", "what"),
    "h.agent": ("负责人", "agent"),
    "h.alert": ("提醒", "alert"),
    "h.record": ("记录", "record"),
    "h.late_by": ("已超时", "late by"),
    "h.unassigned": ("(未分配)", "(unassigned)"),
    "h.open_load": ("各人未结工单", "open load"),
    "h.urgent_count": ("紧急 {n}", "{n} urgent"),
    "f.id": ("编号", "ID"),
    "f.created": ("创建时间", "created"),
    "f.kind": ("类型", "kind"),
    "f.channel": ("渠道", "channel"),
    "f.subject": ("主题", "subject"),
    "f.description": ("问题描述", "description"),
    "f.urgency": ("紧急程度", "urgency"),
    "f.status": ("状态", "status"),
    "f.customer": ("客户", "customer"),
    "f.caller": ("来电人", "caller"),
    "f.phone": ("联系电话", "phone"),
    "f.region": ("区域", "region"),
    "f.assignee": ("负责人", "assignee"),
    "f.department": ("责任部门", "department"),
    "f.verdict": ("投诉判断", "verdict"),
    "f.follows": ("跟进自", "follows"),
    "f.followups": ("跟进个案", "follow-ups"),
    "f.kb": ("引用知识", "knowledge used"),
    "f.occurred": ("何时 (When)", "when"),
    "f.who": ("何人 (Who)", "who"),
    "f.where": ("何地 (Where)", "where"),
    "f.what": ("何事 (What)", "what"),
    "f.why": ("何因 (Why)", "why"),
    "f.how": ("如何处理 (How)", "how"),
    "f.cause": ("投诉真正原因", "real cause"),
    "f.wanted": ("客户要求", "remedy wanted"),
    "f.text": ("内容", "text"),
    "f.solution": ("解决方案", "solution"),
    "f.reason": ("原因", "reason"),
    "f.to": ("交给", "to"),
    "f.target": ("对象", "to whom"),
    "f.outcome": ("结果", "outcome"),
    "f.note": ("备注", "note"),
    "f.explanation": ("解释", "explanation"),
    "f.retry_by": ("改由", "next callback by"),
    "f.followup": ("跟进个案", "follow-up"),
    "f.old_id": ("原编号", "old ID"),
    "f.new_id": ("新编号", "new ID"),
    "f.first_resolution_due": ("首次解决期限", "first resolution due"),
    "target.agent": ("人员", "a person"),
    "target.department": ("部门", "a department"),
    "f.response_due": ("首次响应期限", "first response due"),
    "f.responded_at": ("首次响应", "first response"),
    "f.response_met": ("响应及时", "response on time"),
    "f.resolution_due": ("解决期限", "resolution due"),
    "f.first_resolved_at": ("首次解决", "first resolved"),
    "f.resolution_met": ("处理及时", "resolved on time"),
    "f.waiting": ("等待客户中", "waiting on customer"),
    "f.waiting_seconds": ("等待客户用时", "time waiting on customer"),
    "f.transferred_seconds": ("移交部门用时", "time with other departments"),
    "f.callback_due": ("回访期限", "callback due"),
    "f.callback_agent": ("回访人", "callback by"),
    "f.callbacks": ("回访次数", "callback attempts"),
    "f.callbacks_reached": ("回访接通", "callbacks reached"),
    "f.satisfaction": ("满意度", "satisfaction"),
    "f.reopened": ("重新处理次数", "reopened"),
    "f.overdue": ("已超时", "overdue"),
    "alert.ticket.response": ("工单超时未响应", "ticket: no first response in time"),
    "alert.ticket.resolution": ("工单超时未解决", "ticket: not resolved in time"),
    "alert.ticket.callback": ("工单待回访", "ticket: callback due"),
    "alert.record.unreadable": ("记录无法读取(运行 csctl check)", "record cannot be read (run csctl check)"),
    "tickets.skipped": (
        "有 {count} 个工单无法读取,未列出(运行 csctl check);第一个:{first}",
        "{count} ticket(s) could not be read and are not listed (run csctl check); first: {first}",
    ),
    "alerts.none": ("没有提醒", "no alerts"),
    # ledger and roster
    "ledger.none": (
        "找不到账本:请用 --ledger、CSCTL_LEDGER,或在含 csctl.toml 的目录中运行",
        "no ledger found: give --ledger, set CSCTL_LEDGER, or run inside a folder holding csctl.toml",
    ),
    "ledger.exists": ("{path} 已经是一个账本", "{path} already holds a ledger"),
    "ledger.created": ("已创建账本 {path}", "created ledger {path}"),
    "actor.none": (
        "不知道谁在操作:请用 --as、CSCTL_AGENT,或让 git config user.email 与名册中的邮箱一致",
        "who is acting? give --as, set CSCTL_AGENT, or set git config user.email to a roster e-mail",
    ),
    "actor.unknown": ("名册中没有 {who}", "{who} is not on the roster"),
    "actor.inactive": ("{who} 已停用", "{who} is no longer active"),
    "forbidden": ("{role} 无权执行 {action}", "a {role} may not {action}"),
    "agent.exists": ("名册中已有 {who}", "{who} is already on the roster"),
    "agent.last_admin": ("至少要保留一名在职的系统管理员", "the roster must keep one active admin"),
    "agent.email_taken": ("邮箱 {email} 已属于 {who}", "e-mail {email} already belongs to {who}"),
    "lock.waiting": ("等待账本锁({what})…", "waiting for the ledger lock ({what})…"),
    "lock.timeout": (
        "等待账本锁超过 {seconds} 秒,已放弃:另一个 csctl 命令正在写入",
        "gave up after {seconds} s waiting for the ledger lock: another csctl command is writing",
    ),
    # check and fmt
    "check.clean": ("{count} 个文件,没有问题", "{count} files, no problems"),
    "check.summary": ("{count} 个文件,{problems} 个问题", "{count} files, {problems} problem(s)"),
    "check.id_mismatch": ("ID {id} 与文件名 {stem} 不符", "ID {id} does not match the file name {stem}"),
    "check.misplaced": ("应在 {expected}", "belongs at {expected}"),
    "check.duplicate": (
        "ID {id} 重复:{others}(修复:csctl check --repair-duplicates)",
        "duplicate ID {id}: also {others} (repair: csctl check --repair-duplicates)",
    ),
    "check.unknown_ref": ("{field}: 未知的{kind} {value}", "{field}: unknown {kind} {value}"),
    "check.event_order": (
        "events.{index}: 时间 {at} 早于上一条记录 {previous}",
        "events.{index}: written at {at}, before the event above it ({previous})",
    ),
    "check.calendar_missing": (
        "calendar.holidays 缺少 {years} 年的节假日(可从 chinesecalendar 更新)",
        "calendar.holidays lists no holidays for {years} (deadlines will count them as workdays)",
    ),
    "check.ticket_field": (
        "{field} 为 {stored},但按历史应为 {replayed}", "{field} is {stored}, but the history says {replayed}",
    ),
    "check.ticket_unlinked": (
        "followups: 缺少跟进个案 {id}(它的 follows 指向本工单)", "followups: misses {id}, which follows this ticket",
    ),
    "check.ticket_followup": ("followups: {id} 不是跟进本工单的个案", "followups: {id} does not follow this ticket"),
    "check.not_record": ("不是 csctl 记录文件", "not a csctl record file"),
    "check.created_after_event": (
        "created {created} 晚于第一条事件 {first}", "created {created} is after the first event {first}",
    ),
    "check.outside": ("{path} 不在账本 {ledger} 中", "{path} is not inside the ledger {ledger}"),
    "fmt.would_change": ("格式不规范", "not in canonical form"),
    "fmt.changed": ("已重写为规范格式", "rewritten in canonical form"),
    "fmt.summary": ("{changed} 个文件需要重写", "{changed} files would be rewritten"),
    "repair.renamed": ("{old} → {new}({path})", "{old} -> {new} ({path})"),
    "repair.none": ("没有重复的 ID", "no duplicate IDs"),
    "store.not_an_id": ("{text!r} 不是{kind}编号(例如 {example})", "{text!r} is not a {kind} ID (e.g. {example})"),
    "store.not_found": ("没有{kind} {id}", "no {kind} {id}"),
    "store.exists": ("{kind} {id} 已存在", "{kind} {id} already exists"),
    # kinds, for messages
    "kind.ticket": ("工单", "ticket"),
    "kind.remittance": ("汇款单", "remittance"),
    "kind.remark": ("备注", "remark file"),
    "kind.customer": ("客户", "customer"),
    "kind.kb": ("知识条目", "knowledge entry"),
    "kind.review": ("汇款日审核", "register review"),
    "kind.agent": ("人员", "agent"),
    # tickets
    "ticket.illegal": ("{id} 当前状态为「{status}」,不能{action}", "{id} is {status}: cannot {action}"),
    "ticket.first_event": (
        "{id}: 历史必须以 created 开始,而不是 {action}", "{id}: history must start with created, not {action}",
    ),
    "ticket.event_lacks": ("events.{index}: {action} 缺少 {name}", "events.{index}: {action} has no {name}"),
    "ticket.event_value": (
        "events.{index}.{name}: 不是有效值 {value!r}", "events.{index}.{name}: not a valid value {value!r}",
    ),
    "ticket.unknown_action": ("{id}: 未知的操作 {action}", "{id}: unknown action {action}"),
    "ticket.not_yours": (
        "{id} 由 {who} 负责,不能{action}(请主管重新分配)",
        "{id} is assigned to {who}: you cannot {action} it (ask a supervisor to reassign it)",
    ),
    "ticket.not_complaint": ("{id} 是{kind},只有投诉需要判断", "{id} is a {kind}: only complaints are judged"),
    "ticket.judged_already": ("{id} 已判断为{verdict}", "{id} was already judged {verdict}"),
    "ticket.dept_needed": (
        "投诉成立时须用 --dept 指定责任部门", "a valid complaint needs --dept, the responsible department",
    ),
    "ticket.assigned_already": ("{id} 已分配给 {who}", "{id} is already assigned to {who}"),
    "ticket.taken_already": ("{id} 已由 {who} 负责(状态「{status}」)", "{id} is already {who}'s ({status})"),
    "ticket.empty": ("{field} 不能为空", "{field} must not be empty"),
    "ticket.unreachable_satisfaction": (
        "未联系上客户时不能记录满意度", "an unreachable customer gives no --satisfaction",
    ),
    "ticket.retry_needs_rejected": ("--retry-by 只用于 --rejected", "--retry-by goes with --rejected only"),
    "ticket.retry_other_agent": ("再次回访须由另一位客服进行", "the next callback must be by another agent"),
    "ticket.cannot_handle": ("{who}({role})不能处理工单", "{who} is a {role} and cannot handle tickets"),
    "ticket.at_before": (
        "--at: {at} 早于工单的上一条记录 {last}", "--at: {at} is before the ticket's last event ({last})",
    ),
    "phrases.no_staff_no": ("(工号未登记)", "(no staff number)"),
    "ticket.unknown_customer": ("没有客户 {id}", "no customer {id}"),
    "ticket.customer_or_caller": (
        "--customer 与 --caller 只能选一个", "give --customer (on file) or --caller (not on file), not both",
    ),
    "ticket.action.created": ("创建", "create"),
    "ticket.action.judged": ("判断投诉", "judge"),
    "ticket.action.assigned": ("分配", "assign"),
    "ticket.action.taken": ("领取", "take"),
    "ticket.action.noted": ("记录备注", "add a note to"),
    "ticket.action.transferred": ("移交", "transfer"),
    "ticket.action.waiting": ("挂起等待客户", "wait on the customer for"),
    "ticket.action.resumed": ("恢复处理", "resume"),
    "ticket.action.resolved": ("解决", "resolve"),
    "ticket.action.callback": ("回访", "call back"),
    "ticket.action.closed": ("关闭", "close"),
    "ticket.action.reopened": ("重新打开", "reopen"),
    "ticket.action.linked": ("关联跟进个案", "link a follow-up to"),
    "ticket.action.renamed": ("更改 ID", "rename"),
    "event.created": ("创建", "created"),
    "event.judged": ("判断投诉", "judged"),
    "event.assigned": ("分配", "assigned"),
    "event.taken": ("领取", "taken"),
    "event.noted": ("备注", "note"),
    "event.transferred": ("移交", "transferred"),
    "event.waiting": ("等待客户", "waiting on customer"),
    "event.resumed": ("恢复处理", "resumed"),
    "event.resolved": ("解决", "resolved"),
    "event.callback": ("回访", "callback"),
    "event.closed": ("关闭", "closed"),
    "event.reopened": ("重新打开", "reopened"),
    "event.linked": ("关联跟进个案", "follow-up linked"),
    "event.renamed": ("更改 ID", "renamed"),
    "kb.first_event": ("{id}: 历史必须以 created 开始", "{id}: history must start with created"),
    "kb.illegal": ("{id} 当前状态为「{status}」,不能{action}", "{id} is {status}: cannot {action}"),
    "kb.published_needs_reviewer": (
        "{id} 已发布,只有审核人可以修改", "{id} is published: only a reviewer may edit it",
    ),
    "kb.not_author": (
        "{id} 由 {who} 编写,只有作者或审核人可以操作", "{id} is {who}'s: only its author or a reviewer may",
    ),
    "kb.not_citable": (
        "知识条目 {id} 状态为「{status}」,只能引用已发布的条目",
        "{id} is {status}: only published entries can be cited",
    ),
    "kb.nothing_changed": ("{id} 没有变化", "{id}: nothing to change"),
    "kb.empty_search": ("请给出要搜索的文字", "give the text to search for"),
    "kb.action.submitted": ("提交审核", "submit"),
    "kb.action.approved": ("审核发布", "approve"),
    "kb.action.returned": ("退回修改", "send back"),
    "kb.action.retired": ("下线", "retire"),
    "check.kb_status": (
        "status 为 {stored},但按历史应为 {replayed}", "status is {stored}, but the history says {replayed}",
    ),
    "customer.first_event": ("历史必须以 created 开始", "history must start with created"),
    "customer.unknown_action": ("events.{index}: 未知的操作 {action}", "events.{index}: unknown action {action}"),
    "customer.phone_on_file": (
        "该电话已属于客户 {id}({name});确属另一位客户请加 --same-phone-ok",
        "that phone is already {id}'s ({name}); add --same-phone-ok if this is someone else",
    ),
    "customer.nothing_changed": ("{id} 没有变化", "{id}: nothing to change"),
    "import.not_utf8": (
        "不是 UTF-8 文本(请另存为“CSV UTF-8”,或直接导入 .xlsx)",
        "not UTF-8 text (save the spreadsheet as CSV UTF-8, or import the .xlsx itself)",
    ),
    "import.not_xlsx": ("不是可读取的 Excel 工作簿:{reason}", "not a readable Excel workbook: {reason}"),
    "import.empty": ("文件是空的", "the file is empty"),
    "import.unknown_column": ("未知的列", "unknown column"),
    "import.no_name": ("缺少姓名列(name / 姓名)", "no name column (name / 姓名)"),
    "import.repeated": ("与第 {line} 行是同一位客户", "the same customer as line {line}"),
    "import.summary": (
        "{new} 位新客户,{known} 位已在档案中", "{new} new customer(s), {known} already on file",
    ),
    "import.dry_run": ("(试运行,未写入)", "(dry run: nothing written)"),
    "import.failed": ("{count} 行有问题,未导入任何客户", "{count} row(s) have problems; nothing was imported"),
    "h.question": ("问题", "question"),
    "h.score": ("匹配度", "score"),
    "h.uses": ("引用次数", "uses"),
    "h.author": ("作者", "author"),
    "h.region": ("区域", "region"),
    "h.phone": ("电话", "phone"),
    "h.organisation": ("单位", "organisation"),
    "f.name": ("姓名", "name"),
    "f.street": ("街道", "street"),
    "f.organisation": ("单位", "organisation"),
    "f.address": ("地址", "address"),
    "f.qq": ("QQ", "QQ"),
    "f.wechat": ("微信", "WeChat"),
    "f.email": ("邮箱", "e-mail"),
    "f.needs": ("需求", "needs"),
    "f.tags": ("标签", "tags"),
    "f.question": ("问题", "question"),
    "f.answer": ("解答", "answer"),
    "f.steps": ("解决步骤", "steps"),
    "f.cases": ("相关案例", "cases"),
    "f.author": ("作者", "author"),
    "f.uses": ("引用次数", "uses"),
    "f.uses_by": ("各人引用", "uses by agent"),
    "f.tickets": ("相关工单", "tickets"),
    "f.remittances": ("相关汇款单", "remittances"),
    "f.fields": ("字段", "fields"),
    "event.edited": ("修改", "edited"),
    "event.revealed": ("查看完整信息", "revealed"),
    "event.submitted": ("提交审核", "submitted"),
    "event.approved": ("审核发布", "approved"),
    "event.returned": ("退回修改", "sent back"),
    "event.retired": ("下线", "retired"),
    "phrases.customer": ("您", "you"),
    "phrases.forbidden": ("{field} 含有禁用语:{words}", "{field} uses forbidden words: {words}"),
    # remittances (issue 4)
    "remit.illegal": ("{id}: 状态为“{status}”时不能{action}", "{id}: cannot {action} while {status}"),
    "remit.first_event": ("{id}: 历史必须以 created 开始", "{id}: the history must start with created"),
    "remit.unknown_action": ("{id}: 未知的动作 {action}", "{id}: unknown action {action}"),
    "remit.event_lacks": ("events.{index}: {action} 缺少 {name}", "events.{index}: {action} lacks {name}"),
    "remit.action.created": ("建立订单", "register the order"),
    "remit.action.paid": ("登记汇款通知", "register a payment notice"),
    "remit.action.verified": ("核实到账", "verify"),
    "remit.action.shipped": ("发货", "ship"),
    "remit.action.cancelled": ("取消", "cancel"),
    "remit.action.noted": ("备注", "add a note"),
    "remit.action.not_duplicate": ("标记非重复", "mark as not a duplicate"),
    "remit.action.revealed": ("查看完整信息", "reveal"),
    "remit.action.renamed": ("改号", "rename"),
    "remit.four_eyes_history": (
        "{who} 登记了此订单,不能自己核实到账", "{who} registered the order and cannot verify it too",
    ),
    "remit.four_eyes": (
        "{id}: 订单由 {who} 登记;核实到账须由另一位主管完成(双人核对)",
        "{id}: {who} registered this order; another supervisor must verify the money (four eyes)",
    ),
    "remit.amount_positive": ("{field}: 金额必须大于零:{value}", "{field}: the amount must be more than zero: {value}"),
    "remit.item_shape": (
        "--item {value}: 应为 货号:码数:数量,例如 LY2611-03:M:2",
        "--item {value}: expected CODE:SIZE:QTY, e.g. LY2611-03:M:2",
    ),
    "remit.item_qty": (
        "--item {value}: 数量必须是正整数,而不是 {qty!r}",
        "--item {value}: the quantity must be a whole number above 0, not {qty!r}",
    ),
    "remit.date_future": ("--date: {date} 还没到", "--date: {date} is in the future"),
    "remit.verify_difference": (
        "{id}: 已汇 {paid} 元,订单 {amount} 元;确认差额请加 --accept-difference 原因",
        "{id}: {paid} paid against an order of {amount}; to verify anyway give --accept-difference REASON",
    ),
    "remit.self_duplicate": ("{id}: 不能与自己比较", "{id}: an order cannot be a duplicate of itself"),
    "remit.verdict_given": ("{id}: 已标记与 {other} 非重复", "{id}: already marked as not a duplicate of {other}"),
    "remit.amount_differs": (
        "{id}: 已汇 {paid} 元,与订单金额 {amount} 元不符", "{id}: paid {paid}, but the order is {amount}",
    ),
    "remit.duplicate_items": (
        "{id}: 与 {other} 同一买家同样商品,可能重复下单"
        "(关闭重复的交易,或 csctl remit not-duplicate {id} --of {other})",
        "{id}: same buyer and items as {other}: a duplicate order?"
        " (close one, or csctl remit not-duplicate {id} --of {other})",
    ),
    "remit.duplicate_amount": (
        "{id}: 与 {other} 同一买家同样金额且时间相近,可能重复下单(或 csctl remit not-duplicate {id} --of {other})",
        "{id}: same buyer and amount as {other}, days apart: a duplicate order?"
        " (or csctl remit not-duplicate {id} --of {other})",
    ),
    "remit.review_future": ("{date} 还没到,不能审核", "{date} is in the future and cannot be reviewed"),
    "remit.review_empty": ("{date} 没有汇款记录,无需审核", "{date}: no remittances to review"),
    "remit.reviewed_already": (
        "{date} 已由 {who} 审核,之后没有变动", "{date} is already reviewed by {who}, unchanged since",
    ),
    "remit.review_changed": ("审核后被改动:{ids}", "changed since its review: {ids}"),
    "remit.review_missing": ("汇款销售记录表未审核", "daily register not reviewed"),
    "remit.reviewed_by": ("已由 {who} 于 {at} 审核", "reviewed by {who} at {at}"),
    "remit.not_reviewed": ("未审核", "not reviewed"),
    "remit.totals": ("合计", "totals"),
    "remit.register_title": ("汇款销售记录表 {date}", "Remittance register {date}"),
    "alert.remit.stale": ("汇款通知超时未核实", "remittance: notice not verified in time"),
    "alert.remit.amount": ("汇款金额与订单不符", "remittance: paid amount differs"),
    "alert.remit.duplicate": ("可能重复的汇款订单", "remittance: possible duplicate order"),
    "alert.remit.unreviewed": ("汇款销售记录表待审核", "remittance register: day not reviewed"),
    "h.buyer": ("买家", "buyer"),
    "h.items": ("商品", "items"),
    "h.amount": ("订单金额", "amount"),
    "h.paid": ("已汇金额", "paid"),
    "h.difference": ("差额", "difference"),
    "h.actions": ("当日动作", "that day"),
    "h.count": ("笔数", "count"),
    "h.verify_due": ("核实期限", "verify by"),
    "h.stale": ("超时", "late"),
    "f.buyer": ("买家", "buyer"),
    "f.agent": ("客服", "agent"),
    "f.amount": ("订单金额", "amount"),
    "f.shop_ordered": ("已拍下", "ordered in the shop"),
    "f.shop_trade": ("店铺交易号", "shop trade"),
    "f.reference": ("银行流水/凭证", "bank reference"),
    "f.verified_by": ("核实人", "verified by"),
    "f.waybill": ("运单号", "waybill"),
    "f.not_duplicate_of": ("非重复于", "not a duplicate of"),
    "f.items": ("商品", "items"),
    "f.payments": ("汇款", "payments"),
    "f.paid_total": ("已汇合计", "paid in all"),
    "f.verify_due": ("核实期限", "verify by"),
    "f.duplicates": ("可能重复", "possible duplicates"),
    "f.method": ("方式", "method"),
    "f.bank": ("银行", "bank"),
    "f.date": ("日期", "date"),
    "f.accepted": ("接受差额", "difference accepted"),
    "f.difference": ("差额", "difference"),
    "f.of": ("订单", "order"),
    "event.paid": ("汇款通知", "payment notice"),
    "event.verified": ("核实到账", "verified"),
    "event.shipped": ("发货", "shipped"),
    "event.cancelled": ("取消", "cancelled"),
    "event.not_duplicate": ("非重复", "not a duplicate"),
    "event.reviewed": ("审核", "reviewed"),
    # remarks, refunds, balances (issue 5)
    # git: merge driver, git-setup (issue 9)
    "merge.not_record": ("{path} 不是 csctl 记录文件(应在 records/<类别>/ 下)",
                         "{path} is not a csctl record file (records/<kind>/…)"),
    "merge.invalid": ("合并结果无效:{problem}", "the merged record would not be valid: {problem}"),
    "merge.unreadable": ("无法按记录合并:{problem}(文件中保留了 git 的逐行合并)",
                         "cannot merge as records: {problem} (git's line merge is left in the file)"),
    "merge.collision": (
        "{path}: 两个克隆各自新建了 {id};本方保留原位,对方的记录存为 {beside}。"
        "请运行 csctl check --repair-duplicates 为其换号,再 git add records 并提交",
        "{path}: {id} was created on both sides; ours stays, theirs is filed as {beside}: "
        "run csctl check --repair-duplicates to give it a new ID, then git add records and commit",
    ),
    "merge.clash": (
        "{path}: 冲突:双方把 {keys} 改成了不同的值;请在文件中保留一个值并删除冲突标记,再 git add",
        "{path}: conflict: both sides changed {keys} differently; keep one value in the file, remove the "
        "markers, then git add",
    ),
    "merge.illegal": (
        "{path}: 合并后的历史不成立({problem});请按实际情况修改历史,csctl check 通过后再 git add",
        "{path}: the united history does not replay ({problem}); fix the history, run csctl check, then git add",
    ),
    "gitsetup.git_failed": ("无法运行 git:{reason}", "cannot run git: {reason}"),
    "gitsetup.no_repo": ("{root} 不在 git 仓库中(先 git init 或 git clone)",
                         "{root} is not in a git repository (git init or git clone first)"),
    "gitsetup.foreign_hook": ("{path} 已有其他 pre-commit 钩子,未做任何修改(用 --force 替换)",
                              "{path} holds another pre-commit hook; nothing was changed (--force replaces it)"),
    "gitsetup.kept": ("{what}:已设置", "{what}: already set"),
    "gitsetup.set": ("{what} = {value}", "{what} = {value}"),
    "gitsetup.hook": ("pre-commit 钩子:{path}(提交前运行 csctl check 与 csctl fmt --check)",
                      "pre-commit hook: {path} (runs csctl check and csctl fmt --check before each commit)"),
    "gitsetup.attributes": (".gitattributes 增加:{line}(请提交此文件)",
                            ".gitattributes: added {line} (commit it)"),
    "gitsetup.unconfigured": (
        ".gitattributes 指定了 csctl 合并驱动,但本克隆尚未配置:请运行 csctl git-setup",
        ".gitattributes names the csctl merge driver, but this clone has not set it up: run csctl git-setup",
    ),
    "repair.reference": ("{path}: {field} {old} → {new}", "{path}: {field} {old} -> {new}"),
    "repair.unclear": (
        "{path}: {field} 指向 {old},无法判断指的是哪一条(另一条现为 {new});保留 {old},请人工核对",
        "{path}: {field} names {old}; cannot tell which copy it meant (the other is now {new}); kept {old}, "
        "check by hand",
    ),
    # reliability: locks, crashes (issue 9)
    "atomic.not_written": (
        "{path}: 无法写入:{reason};文件保持原样", "{path}: cannot write: {reason}; the file was left as it was",
    ),
    "atomic.disk_full": ("磁盘已满", "the disk is full"),
    "atomic.unsynced": (
        "{path}: 已写入,但其目录未能同步到磁盘({reason}),断电后可能丢失",
        "{path}: written, but its folder could not be synced to disk ({reason}); it may not survive a power cut",
    ),
    "atomic.not_removed": ("{path}: 无法删除:{reason}", "{path}: cannot remove: {reason}"),
    "lock.no_permission": (
        "{path}: 没有权限获取账本锁,无法写入",
        "{path}: no permission to take the ledger lock, so nothing can be written",
    ),
    "lock.cannot_open": ("{path}: 无法打开账本锁:{reason}", "{path}: cannot open the ledger lock: {reason}"),
    "lock.bad_timeout": (
        "CSCTL_LOCK_TIMEOUT={value!r}: 应为 0 到 3600 之间的秒数",
        "CSCTL_LOCK_TIMEOUT={value!r}: not a number of seconds between 0 and 3600",
    ),
    "git.unfinished": (
        "{root} 中有未完成的 git {what}:请先完成(解决冲突后 git commit 或 git rebase --continue)或放弃"
        "(git {what} --abort),再修改账本",
        "a git {what} is unfinished in {root}: finish it (resolve, then git commit or git rebase --continue) "
        "or abort it (git {what} --abort) before changing the ledger",
    ),
    "store.conflict": (
        "含有 git 冲突标记(<<<<<<< … >>>>>>>):请先解决冲突,再运行 csctl check",
        "holds git conflict markers (<<<<<<< … >>>>>>>): resolve the conflict, then run csctl check",
    ),
    "store.history_rewritten": (
        "{path}: 修改只能追加历史,不能改写历史", "{path}: a change may add to the history, never rewrite it",
    ),
    "store.clock_behind": (
        "{path}: 时钟为 {now},但上一条事件写于 {last};请检查时钟或 CSCTL_NOW(补记请用 --at)",
        "{path}: the clock says {now}, but the last event was written at {last}; check the clock or CSCTL_NOW "
        "(use --at to back-date an action)",
    ),
    "ledger.not_here": (
        "{root}: 这里没有 csctl.toml,不是 csctl 账本", "{root}: no csctl.toml here, so not a csctl ledger",
    ),
    # groups still to be built
    "group.later": ("(由后续版本提供)", "(arrives in a later release)"),
}


def label(key: str, fallback: str) -> str:
    """The message `key` when the catalogue has it, else `fallback` (an unknown event action, say)."""
    return msg(key) if key in MESSAGES else fallback


def msg(key: str, lang: str | None = None, **params: Any) -> str:
    zh, en = MESSAGES[key]
    return (zh if (lang or language()) == "zh" else en).format(**params)
