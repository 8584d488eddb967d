"""The customer archive (客户档案, seed 002 资料收集, seed 004 客户信息管理).

Agents look a customer up before answering; details are kept true and
complete and updated when they change. Contacts are personal data: every
edit of a contact and every reveal of one is an event on the record (who,
when, which field — seed 000 用户数据修改制度, seed 004 操作审计).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from csctl.domain.auth import require
from csctl.domain.checks import CheckContext, Finding, Rule
from csctl.domain.privacy import PERSONAL, mask, revealed_fields
from csctl.domain.remittances import readable_remittances
from csctl.domain.tickets import readable_tickets
from csctl.errors import InvalidInput
from csctl.i18n import msg
from csctl.models.base import Event, Record, describe_item
from csctl.models.config import AgentEntry
from csctl.models.kinds import CUSTOMER, REMITTANCE, TICKET, Kind
from csctl.models.records import Customer, Remittance, Ticket
from csctl.storage.store import Store

if TYPE_CHECKING:
    from csctl.storage.index import Index

# The fields a person fills in, in the order they are asked and shown.
FIELDS = ("name", "phone", "region", "street", "organisation", "address", "qq", "wechat", "email", "needs", "tags")
CONTACTS = tuple(f for f in FIELDS if f in PERSONAL)


def _event(actor: AgentEntry, action: str, at: Any, **extra: Any) -> Event:
    return Event(at=at, by=actor.id, action=action, **extra)


def _problems(values: dict[str, Any]) -> list[str]:
    """Every field of a would-be customer that does not fit, as `field: message` lines."""
    try:
        Customer.model_validate({"id": "C-000101-00000", "created": "2026-01-01T00:00:00+08:00", **values})
    except ValidationError as err:
        return [describe_item(item) for item in err.errors(include_url=False)]
    return []


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    problems = _problems(values)
    if problems:
        raise InvalidInput(problems[0])
    return values


def add(store: Store, actor: AgentEntry, at: Any, values: dict[str, Any], *, same_phone_ok: bool = False) -> Customer:
    """File a new customer; a phone number already on file is refused (naming whose) unless
    `same_phone_ok` — one customer, one record (客户资料真实完整)."""
    require(actor, "customer.add")
    fields = _validated({k: v for k, v in values.items() if v not in (None, "", [])})

    def build(customer_id: str) -> Customer:
        return Customer.model_validate({"id": customer_id, "created": at, **fields,
                                        "events": [_event(actor, "created", at).model_dump(exclude_none=True)]})

    with store.ledger.lock(exclusive=True, what="new customer"):
        if fields.get("phone") and not same_phone_ok:
            from csctl.domain import indexing  # here, not above: indexing reads this module's facts

            phone, key = _national(fields["phone"]), phone_key(fields["phone"])
            # With the index, the files of the customers whose phone falls in this number's bucket (and those
            # that do not read, which stop the search as they do without it): not every one.
            files = None if key is None else indexing.chosen_files(
                store, CUSTOMER, lambda index: index.naming(CUSTOMER, "phone", key, with_unreadable=True))
            owner = next((c for c in find(store, Search(), files) if c.phone and _national(c.phone) == phone), None)
            if owner is not None:
                raise InvalidInput(msg("customer.phone_on_file", id=owner.id, name=owner.name))
        return store.create(CUSTOMER, at, build)


def edit(store: Store, actor: AgentEntry, at: Any, customer_id: str, changes: dict[str, Any]) -> Customer:
    """Change the given fields (`None` clears one); the event names the fields, never their values."""
    require(actor, "customer.edit")

    def change(customer: Customer) -> Customer:
        current = customer.model_dump()
        changed = sorted(k for k, v in changes.items() if current.get(k) != v)
        if not changed:
            raise InvalidInput(msg("customer.nothing_changed", id=customer.id))
        return customer.with_event(_event(actor, "edited", at, fields=changed), **changes)

    updated: Customer = store.update(CUSTOMER, customer_id, change)
    return updated


def record_reveal(store: Store, actor: AgentEntry, at: Any, customer: Customer,
                  shown: tuple[str, ...] = CONTACTS) -> Customer:
    """Write down that `actor` saw these contacts whole (the caller shows them)."""
    fields = revealed_fields(actor, customer, shown)
    if not fields:
        return customer
    updated: Customer = store.update(
        CUSTOMER, customer.id, lambda c: c.with_event(_event(actor, "revealed", at, fields=fields))
    )
    return updated


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _national(phone: str | None) -> str:
    """A mainland number without its country code: +86 138-0000-0001 and 13800000001 are one phone."""
    digits = _digits(phone or "")
    return digits[2:] if digits.startswith("86") and len(digits) == 13 else digits


def phone_key(phone: str | None) -> str | None:
    """What the index keeps of a customer's phone to find who has a number: one of 65,536 buckets of its
    national digits (None: no phone). A bucket holds ~150,000 possible mobile numbers, so the index tells
    nothing of the number (a digest of 10^10 numbers would be reversed in minutes); a few customers share
    each bucket, and their files are read to compare the numbers."""
    national = _national(phone)
    return hashlib.sha256(national.encode()).hexdigest()[:4] if national else None


@dataclass(frozen=True)
class Search:
    """`customer list` filters: each given part must match (phone by its digits, so `5678` finds 138****5678)."""

    name: str | None = None
    phone: str | None = None
    region: str | None = None
    text: str | None = None
    # Only a revealing search (recorded on every customer found) looks into what the mask hides: the
    # hidden digits of a number, the street. Anyone else could uncover them by searching bit by bit.
    revealing: bool = False

    def admits(self, customer: Customer) -> bool:
        if self.name and self.name not in customer.name:
            return False
        if self.phone and not self._phone_matches(customer.phone):
            return False
        if self.region and self.region not in " ".join(self._region_texts(customer)):
            return False
        if self.text:
            haystack = " ".join(str(getattr(customer, f) or "") for f in FIELDS if f not in PERSONAL)
            return self.text in haystack + " " + " ".join(customer.tags)
        return True

    def _region_texts(self, customer: Customer) -> list[str]:
        return [customer.region or "", *([customer.street or ""] if self.revealing else [])]

    def _phone_matches(self, phone: str | None) -> bool:
        wanted, digits = _digits(self.phone or ""), _digits(phone or "")
        if not digits or not wanted:
            return False
        if self.revealing:
            return wanted in digits
        # The runs of digits the mask shows (138 and 3456 of 138****3456; 87 and 21 of 87****21).
        return any(wanted in _digits(shown) for shown in mask("phone", phone or "").split("*"))


def find(store: Store, search: Search, paths: list[Path] | None = None) -> list[Customer]:
    """The customers (of every file, or of those at `paths`) `search` admits."""
    out = []
    with store.ledger.lock(exclusive=False, what="customers"):
        for path in [path for _, path in store.iter_paths([CUSTOMER])] if paths is None else paths:
            customer = store.load(CUSTOMER, path)
            assert isinstance(customer, Customer)
            if search.admits(customer):
                out.append(customer)
    return out


def history(store: Store, customer_id: str, index: Index | None) -> tuple[list[Ticket], list[Remittance]]:
    """The tickets and remittances that name this customer (资料收集: the customer's history); with the
    index, only their files are read."""
    tickets = readable_tickets(store, None if index is None else index.naming(TICKET, "customer", customer_id))[0]
    remittances = readable_remittances(
        store, None if index is None else index.naming(REMITTANCE, "customer", customer_id))[0]
    return ([t for t in tickets if t.customer == customer_id],
            [r for r in remittances if r.customer == customer_id])


# ----- bulk import ------------------------------------------------------------------------

# Column headers a team's spreadsheet may use, in English or Chinese.
HEADERS: dict[str, str] = {
    **{f: f for f in FIELDS},
    "姓名": "name", "名称": "name", "客户": "name", "电话": "phone", "手机": "phone", "联系电话": "phone",
    "地区": "region", "区域": "region", "街道": "street", "单位": "organisation", "公司": "organisation",
    "地址": "address", "qq": "qq", "QQ": "qq", "微信": "wechat", "邮箱": "email", "e-mail": "email",
    "需求": "needs", "标签": "tags",
}


@dataclass(frozen=True)
class ImportRow:
    line: int
    values: dict[str, Any]
    existing: str | None  # the customer already on file, when this row is one


@dataclass(frozen=True)
class ImportProblem:
    line: int
    message: str


def _identity(fields: dict[str, Any]) -> tuple[str, ...]:
    """Who a customer is, for telling a repeat: the phone's digits, else name, organisation and region."""
    if fields.get("phone"):
        return ("phone", _national(fields["phone"]))
    return ("name", fields.get("name") or "", fields.get("organisation") or "", fields.get("region") or "")


def csv_rows(text: str) -> Iterator[list[str]]:
    return csv.reader(io.StringIO(text.lstrip("\ufeff")))


def xlsx_rows(data: bytes) -> Iterator[list[str]]:
    """The first sheet of a workbook as text cells: a phone typed as a number stays its digits."""
    from openpyxl import load_workbook  # type: ignore[import-untyped]  # only an xlsx import pays for it

    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
    except Exception as err:  # openpyxl raises many kinds for a file that is not a workbook
        raise InvalidInput(msg("import.not_xlsx", reason=str(err) or type(err).__name__)) from None
    for values in sheet.iter_rows(values_only=True):
        yield [_cell_text(v) for v in values]


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def read_import(reader: Iterator[list[str]], on_file: list[Customer]) -> tuple[list[ImportRow], list[ImportProblem]]:
    """Every row of a sheet (CSV or xlsx) checked; a row that is a customer already on file (same
    phone, or same name, organisation and region) is matched to it rather than added again."""
    try:
        header = next(reader)
    except StopIteration:
        return [], [ImportProblem(1, msg("import.empty"))]
    columns = [HEADERS.get(h.strip(), HEADERS.get(h.strip().lower())) for h in header]
    # An unknown column is reported, and the rows are still checked, so one pass shows every problem.
    problems = [ImportProblem(1, f"{h.strip()}: {msg('import.unknown_column')}")
                for h, c in zip(header, columns, strict=True) if c is None and h.strip()]
    if "name" not in columns:
        return [], [*problems, ImportProblem(1, msg("import.no_name"))]
    known = {_identity(c.model_dump()): c.id for c in on_file}
    seen: dict[tuple[str, ...], int] = {}
    rows: list[ImportRow] = []
    for line, fields in _rows(reader, columns):
        row_problems = _problems(fields)
        if row_problems:
            problems.extend(ImportProblem(line, problem) for problem in row_problems)
            continue
        identity = _identity(fields)
        if identity in seen:
            problems.append(ImportProblem(line, msg("import.repeated", line=seen[identity])))
            continue
        seen[identity] = line
        rows.append(ImportRow(line, fields, known.get(identity)))
    return rows, problems


def _rows(reader: Iterator[list[str]], columns: list[str | None]) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        fields: dict[str, Any] = {}
        for column, cell in zip(columns, cells, strict=False):
            value = cell.strip()
            if column and value:
                fields[column] = [t for t in re.split(r"[;；、,，]\s*", value) if t] if column == "tags" else value
        yield line, fields


def import_rows(store: Store, actor: AgentEntry, at: Any, rows: list[ImportRow]) -> list[Customer]:
    """File the rows not yet on file; who is on file is read again under the lock, so two
    imports of one file at once still add each customer once."""
    require(actor, "customer.add")
    created = []
    with store.ledger.lock(exclusive=True, what="customer import"):
        known = {_identity(c.model_dump()) for c in find(store, Search())}
        for row in rows:
            if _identity(row.values) not in known:
                created.append(add(store, actor, at, row.values, same_phone_ok=True))
    return created


# ----- check ------------------------------------------------------------------------------

# What may happen to a customer record after it is created, and what each event must carry.
ACTIONS: dict[str, tuple[str, ...]] = {"edited": ("fields",), "revealed": ("fields",), "renamed": ("old_id", "new_id")}


def rule_history(record: Record, kind: Kind, ctx: CheckContext) -> Iterator[Finding]:
    """The history starts with `created`; edits and reveals name the fields they touched."""
    if not record.events or record.events[0].action != "created":
        yield Finding(("events", 0) if record.events else ("id",), msg("customer.first_event"))
        return
    for index, event in enumerate(record.events[1:], start=1):
        carries = ACTIONS.get(event.action)
        if carries is None:
            yield Finding(("events", index, "action"), msg("customer.unknown_action", index=index, action=event.action))
            continue
        for key in carries:
            if key not in event.extras:
                yield Finding(("events", index), msg("ticket.event_lacks", index=index, name=key, action=event.action))


CUSTOMER_RULES: tuple[Rule, ...] = (rule_history,)
