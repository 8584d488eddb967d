"""Every label and message the user reads, in Chinese and English, in one catalogue.

Stored data never changes with the language: files keep the English keys of
enumerations; only what is printed is translated.
"""

from __future__ import annotations

import locale
import os
from contextvars import ContextVar
from enum import Enum
from typing import Any

LANGUAGES = ("zh", "en")

_current: ContextVar[str] = ContextVar("csctl_language", default="en")


def set_language(lang: str) -> None:
    _current.set(lang)


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
    # kinds, for messages
    "kind.ticket": ("工单", "ticket"),
    "kind.remittance": ("汇款单", "remittance"),
    "kind.remark": ("备注", "remark file"),
    "kind.customer": ("客户", "customer"),
    "kind.kb": ("知识条目", "knowledge entry"),
    "kind.agent": ("人员", "agent"),
    # groups still to be built
    "group.later": ("(由后续版本提供)", "(arrives in a later release)"),
}


def msg(key: str, lang: str | None = None, **params: Any) -> str:
    zh, en = MESSAGES[key]
    return (zh if (lang or language()) == "zh" else en).format(**params)
