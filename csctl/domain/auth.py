"""Who is acting, and what each role may do: the one permission table (seed 004 权限设置)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from csctl.errors import CsctlError, Forbidden
from csctl.i18n import language, msg
from csctl.models.config import AgentEntry, LedgerConfig, Role
from csctl.storage.git import user_email

ADMIN, SUPERVISOR, AGENT, ASSISTANT, TECH, VIEWER = Role

# action -> (roles besides admin that may take it, what it is in Chinese, in English).
# An admin may do everything (系统管理员: 拥有最高权限). A viewer — sales or marketing
# staff given access after approval — only reads, which needs no entry here.
PERMISSIONS: dict[str, tuple[frozenset[Role], str, str]] = {
    "agent.add": (frozenset({SUPERVISOR}), "添加人员", "add people to the roster"),
    "agent.edit": (frozenset({SUPERVISOR}), "修改人员", "edit the roster"),
    "agent.grant": (frozenset(), "授予管理员或主管角色", "grant or change an admin or supervisor role"),
    "records.fmt": (
        frozenset({SUPERVISOR, AGENT, ASSISTANT, TECH}), "重写记录格式", "rewrite records into canonical form"
    ),
    "records.repair": (frozenset({SUPERVISOR}), "修复重复 ID", "repair duplicate IDs"),
    "ticket.new": (frozenset({SUPERVISOR, AGENT, TECH}), "创建工单", "create tickets"),
    "ticket.assign": (frozenset({SUPERVISOR}), "分配工单", "assign tickets"),
    "ticket.take": (frozenset({SUPERVISOR, AGENT, TECH}), "领取工单", "take tickets"),
    "ticket.handle": (frozenset({SUPERVISOR, AGENT, TECH}), "处理工单", "handle tickets"),
    # Agents handle the tickets assigned to them; these roles may act on anyone's.
    "ticket.handle_any": (frozenset({SUPERVISOR}), "处理他人的工单", "handle tickets assigned to others"),
    "ticket.judge": (frozenset({SUPERVISOR, AGENT}), "判断投诉", "judge complaints"),
    "remit.new": (frozenset({SUPERVISOR, AGENT}), "登记汇款订单", "register remittance orders"),
    "remit.paid": (frozenset({SUPERVISOR, AGENT}), "登记汇款通知", "register payment notices"),
    "remit.verify": (frozenset({SUPERVISOR}), "核实货款到账", "verify that a remittance arrived"),
    "remit.ship": (frozenset({SUPERVISOR, AGENT, ASSISTANT}), "汇款单发货", "ship remittance orders"),
    "remit.cancel": (frozenset({SUPERVISOR, AGENT}), "取消汇款单", "cancel remittance orders"),
    "remit.note": (frozenset({SUPERVISOR, AGENT, ASSISTANT}), "备注汇款单", "add notes to remittances"),
    "remit.review": (frozenset({SUPERVISOR}), "审核汇款销售记录表", "review the daily register"),
    "remark.add": (frozenset({SUPERVISOR, AGENT, ASSISTANT}), "写备注", "write remarks"),
    "refund.register": (frozenset({SUPERVISOR, AGENT, ASSISTANT}), "登记退款", "register refunds"),
    "customer.add": (frozenset({SUPERVISOR, AGENT}), "添加客户", "add customers"),
    "customer.edit": (frozenset({SUPERVISOR, AGENT}), "修改客户资料", "edit customers"),
    "customer.reveal": (frozenset({SUPERVISOR, AGENT}), "查看完整个人信息", "reveal personal data"),
    "kb.write": (frozenset({SUPERVISOR, AGENT, TECH}), "编写知识条目", "write knowledge entries"),
    "kb.approve": (frozenset({SUPERVISOR}), "审核发布知识条目", "approve knowledge entries"),
    "kb.retire": (frozenset({SUPERVISOR}), "下线知识条目", "retire knowledge entries"),
}


def may(role: Role, action: str) -> bool:
    return role is ADMIN or role in PERMISSIONS[action][0]


def require(actor: AgentEntry, action: str) -> None:
    """Refuse (exit 3) unless the actor's role may take `action`."""
    if not may(actor.role, action):
        _, zh, en = PERMISSIONS[action]
        raise Forbidden(
            msg("forbidden", role=actor.role.label(language()), action=zh if language() == "zh" else en)
        )


def resolve_actor(
    config: LedgerConfig, as_id: str | None, env: Mapping[str, str], ledger_root: Path
) -> AgentEntry:
    """`--as`, else `CSCTL_AGENT`, else the roster e-mail matching `git config user.email`."""
    who = as_id or env.get("CSCTL_AGENT")
    if who:
        agent = config.agent(who.strip())
        if agent is None:
            raise CsctlError(msg("actor.unknown", who=who))
    else:
        email = user_email(ledger_root)
        agent = config.agent_by_email(email) if email else None
        if agent is None:
            raise CsctlError(msg("actor.none"))
    if not agent.active:
        raise CsctlError(msg("actor.inactive", who=agent.id))
    return agent
