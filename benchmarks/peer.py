"""The peer of `csctl check`: beancount's `bean-check -C` on a shop's ledger of N entries (issue #8).

    python benchmarks/peer.py --entries N [--runs R] [--keep DIR] [--seed S]
                              [--layouts one,monthly,per-entry] [--bean-check PATH]

Issue #8 wants `csctl check` with no index to cost at most half of `bean-check -C`
per entry on a ledger of the same count. This writes that ledger and times
bean-check on it. beancount lives in a virtual environment of its own, never
among csctl's dependencies:

    python3 -m venv /tmp/beanvenv && /tmp/beanvenv/bin/pip install beancount

The ledger is the books of the shop whose desk `benchmarks/generate.py` writes
(丽衣网店, words from `benchmarks/corpus.py`), over the three years up to
`--until`, as a bookkeeper would keep them in beancount:

- options (title, operating currency CNY), the commodity, every account opened
  on the first day with its currency, and one opening balance;
- then, day by day, the shop's transactions, each in balance to the cent:
  platform sales (~55%: the buyer as payee, the items in the narration; order,
  masked phone, address, courier, waybill, the agent, the buyer's note and the
  desk's remark as metadata; sales, output VAT, the platform wallet and its fee),
  bank remittances (~15%: the payer, bank, method, the days notified and
  verified; the bank, sales and VAT, and the bank's fee on wire transfers),
  refunds (~12%: the order linked, the ticket, the reason; returns, VAT, the
  wallet, and the return freight when the shop pays it), withdrawals from the
  platform wallet to the bank (~10%) and couriers' statements (~8%), with tags and
  links as a desk sets them;
- a balance assertion now and then (one for about every 40 entries, at most one
  a day, at the start of a day, on a bank account or the wallet), true by
  construction.

Every entry counts towards N, opens and assertions too; an entry averages about
1.5 KB of UTF-8 (printed): issue #8's ticket-sized files were ~1.9 KB, and the
record files `generate.py` writes average ~1.0 KB (tickets ~1.2 KB) at 100k.
The difference does not tilt the comparison: bean-check's time follows the
entries and their postings, not their bytes (with the `history` lines cut to
1.1 KB an entry, 10k entries took the same 1.9–2.0 s). The same `--entries`,
`--seed` and `--until` give the same bytes.

Each layout is written from the same entries and measured (`--layouts` picks):

- `one`: a single file — how beancount ledgers are kept, and how bean-check is
  fastest;
- `monthly`: a main file with the options and the opens, and
  `include "months/*.beancount"`, a file per month — the other common habit;
- `per-entry`: the main file and `include "entries/**/*.beancount"`, a file per
  entry — csctl's layout of one file per record.

The figure to hold csctl's target against is `one`: the peer as its users run it
and at its fastest, so the bar is the strictest. A file per entry is csctl's
choice, not beancount's; its cost (opening 100k files, and the loader's
per-file bookkeeping) would otherwise be charged to the peer and flatter csctl.
The other layouts are printed to show what that cost is.

For each layout, one untimed run warms the page cache and checks that bean-check
accepts the ledger (exit 0, no output: else this stops with its message); then
the median of R whole-process runs of `bean-check -C main.beancount` (no pickle
cache). Each is started from a small runner process so that its ru_maxrss (peak
memory) is its own, not the memory of the process it was forked from, as
`benchmarks/run.py` does. Printed: wall seconds and µs per entry (the figures to
compare), the child's CPU seconds (user + system: less swayed when other work
shares the cores, a check on a noisy wall time) and its peak memory. On a
shared machine run it under `nice -n 10`.
Without `--keep`, the ledger is written under a temporary folder and removed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO

import corpus

YEARS = 3
LAYOUTS = ("one", "monthly", "per-entry")
FALLBACK_BEAN_CHECK = Path("/tmp/beanvenv/bin/bean-check")
INSTALL_HINT = "python3 -m venv /tmp/beanvenv && /tmp/beanvenv/bin/pip install beancount"
MAIN = "main.beancount"
CENT = Decimal("0.01")
VAT_RATE = Decimal("0.13")
PLATFORM_FEE_RATE = Decimal("0.006")
WIRE_FEE = Decimal("15.00")
BALANCE_EVERY = 40
# Shares of the transactions; withdrawals need money in the wallet and refunds an earlier sale, and are
# a sale instead until there is one.
KINDS = {"sale": 0.55, "remittance": 0.15, "refund": 0.12, "withdrawal": 0.10, "courier_bill": 0.08}

BANK = "Assets:Bank:ICBC:Basic"  # 工行基本户: buyers' remittances arrive here
GENERAL = "Assets:Bank:CMB:General"  # 招行一般户: the platform pays out here, couriers are paid from here
WALLET = "Assets:Platform:Taobao"
VAT = "Liabilities:Tax:VAT-Output"
RETURNS = "Income:Sales:Returns"
PLATFORM_FEES = "Expenses:Fees:Platform"
BANK_FEES = "Expenses:Fees:Bank"
OUTBOUND = "Expenses:Shipping:Outbound"
RETURN_FREIGHT = "Expenses:Shipping:Returns"
OPENING = "Equity:Opening-Balances"
ASSERTED = (BANK, GENERAL, WALLET)
# Goods: (category account, lowest and highest price in yuan, SKU prefix).
GOODS = {
    "连衣裙": ("Income:Sales:Dresses", 159, 699, "DR"), "羊毛大衣": ("Income:Sales:Coats", 599, 1899, "WC"),
    "牛仔裤": ("Income:Sales:Trousers", 129, 399, "JE"), "针织开衫": ("Income:Sales:Knitwear", 159, 499, "CA"),
    "羽绒服": ("Income:Sales:Coats", 399, 1599, "DJ"), "衬衫": ("Income:Sales:Shirts", 99, 359, "SH"),
    "半身裙": ("Income:Sales:Skirts", 99, 399, "SK"), "卫衣": ("Income:Sales:Tops", 99, 299, "HD"),
    "西装外套": ("Income:Sales:Coats", 399, 1299, "BL"), "风衣": ("Income:Sales:Coats", 499, 1499, "TC"),
    "T恤": ("Income:Sales:Tops", 59, 199, "TS"), "运动套装": ("Income:Sales:Sportswear", 199, 599, "SP"),
    "阔腿裤": ("Income:Sales:Trousers", 129, 359, "WL"), "毛衣": ("Income:Sales:Knitwear", 199, 699, "SW"),
    "棉服": ("Income:Sales:Coats", 299, 899, "PC"), "雪纺衫": ("Income:Sales:Shirts", 99, 299, "CH"),
}
ACCOUNTS = (BANK, GENERAL, WALLET, VAT, *sorted({account for account, *_ in GOODS.values()}), RETURNS,
            PLATFORM_FEES, BANK_FEES, OUTBOUND, RETURN_FREIGHT, OPENING)
WAYBILL_PREFIX = {"顺丰": "SF", "中通": "ZT", "圆通": "YT", "韵达": "YD", "申通": "ST", "邮政EMS": "EM",
                  "京东快递": "JD"}
BUYER_NOTES = ("工作日白天不方便接电话,请旺旺联系,放门卫或快递柜都可以", "送人的礼物,请不要放价格单和发票",
               "请周五前送达,周末家里没人,可以放小区门口的快递驿站", "需要开具电子普通发票,抬头为个人,发到下单邮箱",
               "上次买的同款很合身,这次还要同样的尺码,麻烦仔细检查有没有线头", "请用纸箱包装,不要用快递袋,上次压皱了")
DESK_REMARKS = ("{agent} {md} 买家老客户,改价{old}元为{new}元,已告知", "{agent} {md} 买家要求改地址,已核对并修改",
                "{agent} {md} 缺{colour}色{size}码,已与买家确认换成相近颜色",
                "{agent} {md} 加急发货,已通知仓库优先打包", "{agent} {md} 赠品:同色系发圈一个,已备注仓库")
INVOICES = ("电子普通发票,抬头:个人", "不需要发票", "电子普通发票,抬头:公司")
REFUND_REASONS = ("收到的{product}{defect},买家拍照反馈后退回,原路退款,来回运费由店铺承担",
                  "{product}尺码不合适,买家七天无理由退货,吊牌完好,退回运费由买家承担",
                  "发错货:买家下单{colour}色,收到的是其他颜色,退回后退款,运费由店铺承担",
                  "快递显示已签收但买家未收到,网点核实丢件,先行退款,向快递公司索赔")


@dataclass
class Entry:
    day: dt.date
    kind: str
    key: str  # the entry's file name in the per-entry layout
    text: str


@dataclass
class Sale:
    order: str
    buyer: str
    product: str
    colour: str
    size: str
    qty: int
    gross: Decimal


def money(value: Decimal) -> str:
    return f"{value:.2f}"


def quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Books:
    """The shop's books: entries in date order, the running balance of every account kept for the assertions."""

    def __init__(self, entries: int, seed: int, until: dt.date) -> None:
        self.total = entries
        self.rng = random.Random(f"csctl-peer-{seed}")
        self.until = until
        self.first_day = until.replace(year=until.year - YEARS) + dt.timedelta(days=1)
        self.balances = dict.fromkeys(ACCOUNTS, Decimal(0))
        self.sales: deque[Sale] = deque(maxlen=500)  # recent sales, the ones a refund can undo
        self.sequence = 0

    def header(self) -> str:
        return ('option "title" "丽衣网店 账簿"\noption "operating_currency" "CNY"\n'
                '\n')

    def entries(self) -> Iterator[Entry]:
        """Exactly `self.total` entries: the commodity, the opens and the opening balance, then the days."""
        yield self.entry(self.first_day, "commodity", f"{self.first_day} commodity CNY\n  name: \"人民币\"\n")
        for account in ACCOUNTS:
            yield self.entry(self.first_day, "open", f"{self.first_day} open {account} CNY\n")
        yield self.opening_balance()
        head = 2 + len(ACCOUNTS)
        days = (self.until - self.first_day).days + 1
        offsets = sorted(self.rng.randrange(days) for _ in range(self.total - head))
        since_assertion = 0
        previous = 0
        for offset in offsets:
            day = self.first_day + dt.timedelta(days=offset)
            if offset != previous and since_assertion >= BALANCE_EVERY:
                yield self.assertion(day)
                since_assertion = 0
            else:
                yield self.transaction(day)
                since_assertion += 1
            previous = offset

    def entry(self, day: dt.date, kind: str, text: str) -> Entry:
        self.sequence += 1
        return Entry(day, kind, f"{day:%Y%m%d}-{self.sequence:06d}-{kind}", text)

    # ----- pieces ---------------------------------------------------------------------------------
    def posting(self, account: str, amount: Decimal, /, **meta: str) -> str:
        self.balances[account] += amount
        lines = [f"  {account:<36}{money(amount):>12} CNY\n"]
        lines += [f"    {key}: {quoted(value)}\n" for key, value in meta.items()]
        return "".join(lines)

    def head(self, day: dt.date, payee: str, narration: str, tags: str, meta: dict[str, str | int | dt.date]
             ) -> str:
        lines = [f"{day} * {quoted(payee)} {quoted(narration)} {tags}\n"]
        lines += [f"  {key}: {quoted(value) if isinstance(value, str) else value}\n" for key, value in meta.items()]
        return "".join(lines)

    def person(self) -> str:
        return self.rng.choice(corpus.SURNAMES) + self.rng.choice(corpus.GIVEN)

    def agent(self) -> tuple[str, str]:
        agent_id, name, *_ = self.rng.choice([row for row in corpus.ROSTER if row[2] in ("agent", "supervisor")])
        return agent_id, name

    def address(self) -> str:
        region, districts, streets = self.rng.choice(corpus.PLACES)
        return (f"{corpus.PROVINCE[region]}{self.rng.choice(districts)}{self.rng.choice(streets)}"
                f"{self.rng.randint(1, 999)}号{self.rng.randint(1, 20)}幢{self.rng.randint(1, 3)}单元"
                f"{self.rng.randint(1, 32)}0{self.rng.randint(1, 4)}室")

    def phone(self) -> str:
        return f"1{self.rng.choice('3578')}{self.rng.randint(0, 9)}****{self.rng.randint(0, 9999):04d}"

    def split_vat(self, gross: Decimal) -> tuple[Decimal, Decimal]:
        net = (gross / (1 + VAT_RATE)).quantize(CENT)
        return net, gross - net

    # ----- entries --------------------------------------------------------------------------------
    def opening_balance(self) -> Entry:
        bank, general, wallet = Decimal("186420.55"), Decimal("52310.00"), Decimal("8765.43")
        narration = "期初余额:由原手工账结转,经财务部与银行对账单、平台后台核对一致"
        text = (self.head(self.first_day, "丽衣网店", narration, "#opening", {"approved-by": "陈经理"})
                + self.posting(BANK, bank) + self.posting(GENERAL, general) + self.posting(WALLET, wallet)
                + self.posting(OPENING, -(bank + general + wallet)))
        return self.entry(self.first_day, "opening", text)

    def transaction(self, day: dt.date) -> Entry:
        kind = self.rng.choices(list(KINDS), weights=list(KINDS.values()))[0]
        if kind == "refund" and not self.sales:
            kind = "sale"
        if kind == "withdrawal" and self.balances[WALLET] < 2000:
            kind = "sale"
        text = getattr(self, kind)(day)
        return self.entry(day, kind, text)

    def goods(self) -> tuple[str, str, str, int, Decimal]:
        product = self.rng.choice(list(GOODS))
        _, low, high, _ = GOODS[product]
        price = Decimal(self.rng.randrange(low, high + 1)) - Decimal("0.10") * self.rng.randrange(0, 2)
        qty = self.rng.choice((1, 1, 1, 1, 2, 2, 3))
        return product, self.rng.choice(corpus.COLOURS), self.rng.choice(corpus.SIZES), qty, price * qty

    def history(self, day: dt.date, steps: tuple[str, ...]) -> str:
        """What happened, one `M/D HH:MM step` after another, ending on `day` (a csctl record's events),
        in working hours (08:30–21:30): each step the same day as the next one or a day before."""
        opens = dt.time(8, 30)
        moment = dt.datetime.combine(day, opens) + dt.timedelta(minutes=self.rng.randrange(13 * 60))
        moments = []
        for _ in steps:
            moments.append(moment)
            since_opening = int((moment - dt.datetime.combine(moment.date(), opens)).total_seconds() // 60)
            if since_opening > 5 and self.rng.random() < 0.7:
                moment -= dt.timedelta(minutes=self.rng.randrange(1, since_opening))
            else:
                moment = (dt.datetime.combine(moment.date() - dt.timedelta(days=1), opens)
                          + dt.timedelta(minutes=self.rng.randrange(13 * 60)))
        return ";".join(f"{at.month}/{at.day} {at:%H:%M} {step}" for at, step in zip(reversed(moments), steps,
                                                                                   strict=True))

    def code(self, length: int) -> str:
        return "".join(self.rng.choices("ABCDEFGHJKMNPQRSTVWXYZ23456789", k=length))

    def sale(self, day: dt.date) -> str:
        product, colour, size, qty, gross = self.goods()
        order = f"{self.rng.randrange(10**15, 10**16)}"
        buyer = self.person()
        courier = self.rng.choice(corpus.COURIERS)
        agent_id, agent_name = self.agent()
        address = self.address()
        category, _, _, sku = GOODS[product]
        coupon = Decimal(self.rng.choice((0, 0, 5, 10, 20))) if gross > 100 else Decimal(0)
        remark = self.rng.choice(DESK_REMARKS).format(
            agent=agent_name, md=f"{day.month}/{day.day}", old=int(gross) + 20, new=int(gross), colour=colour,
            size=size)
        narration = (f"淘宝订单{order}:{colour}色{product}{size}码{qty}件,{courier}包邮发往{address[:6]},"
                     f"买家已确认收货,客服{agent_name}跟进,平台货款进入店铺余额")
        net, tax = self.split_vat(gross - coupon)
        fee = ((gross - coupon) * PLATFORM_FEE_RATE).quantize(CENT)
        waybill = f"{WAYBILL_PREFIX[courier]}{self.rng.randrange(10**11, 10**12)}"
        steps = ("买家下单,使用手机淘宝", "买家付款,支付宝余额",
                 f"客服{agent_name}审单:核对收货地址、尺码和买家留言,无异常", "仓库拣货打包,质检员核对吊牌和数量",
                 f"{courier}揽收,运单号{waybill}", "到达杭州转运中心,已发出", f"到达{address[3:6]}派送网点",
                 "快递员派送中,已电话联系买家", "本人签收", "买家确认收货,系统自动好评")
        text = (self.head(day, buyer, narration, f"#taobao ^TB{order}",
                          {"shop": "丽衣网店天猫旗舰店", "order": order,
                           "trade-no": f"{day:%Y%m%d}2200{self.rng.randrange(10**19, 10**20)}",
                           "buyer": buyer, "buyer-nick": f"tb{self.rng.randrange(10**9, 10**10)}",
                           "phone": self.phone(), "address": address, "zip": f"{self.rng.randint(100000, 850000)}",
                           "courier": courier, "waybill": waybill, "agent": agent_id, "received": day,
                           "invoice": self.rng.choice(INVOICES),
                           "coupon": f"店铺优惠券满{int(gross) // 100 * 100}减{coupon}" if coupon else "未使用优惠券",
                           "buyer-note": self.rng.choice(BUYER_NOTES), "remark": remark,
                           "history": self.history(day, steps)})
                + self.posting(category, -net, sku=f"{sku}-{self.rng.randint(1000, 9999)}-{size}",
                               item=f"{product} {colour} {size} ×{qty}", price=money(gross / qty),
                               discount=money(coupon))
                + self.posting(VAT, -tax, rate="13%", base=money(net))
                + self.posting(WALLET, gross - coupon - fee)
                + self.posting(PLATFORM_FEES, fee, note="平台技术服务费,按实付金额0.6%扣除"))
        self.sales.append(Sale(order, buyer, product, colour, size, qty, gross - coupon))
        return text

    def remittance(self, day: dt.date) -> str:
        product, colour, size, qty, gross = self.goods()
        wholesale = self.rng.random() < 0.3
        payer = self.rng.choice(corpus.ORGANISATIONS) if wholesale else self.person()
        if wholesale:
            qty *= 10
            gross *= 10
        bank = self.rng.choice(corpus.BANKS)
        method = self.rng.choice(corpus.PAY_METHODS)
        remittance = f"R-{day:%y%m%d}-{self.code(5)}"
        agent_id, agent_name = self.agent()
        courier = self.rng.choice(corpus.COURIERS)
        category, *_ = GOODS[product]
        net, tax = self.split_vat(gross)
        fee = WIRE_FEE if method == "电汇" else Decimal(0)
        purpose = "企业团购,需要增值税专用发票,按部门分别包装" if wholesale else "老客户汇款购买,收到货款后发货"
        narration = (f"银行汇款订单{remittance}:{colour}色{product}{size}码{qty}件,{purpose};"
                     f"{bank}{method}至工行基本户,客服负责人核实到账后安排发货")
        steps = ("买家来电确认款式、尺码和数量", f"客服{agent_name}登记订单并告知收款账户", f"买家{method}汇款",
                 f"客服{agent_name}登记汇款通知(日期、方式、银行、金额)", "陈经理核对银行流水,货款到账",
                 "通知仓库安排发货", f"{courier}揽收")
        meta: dict[str, str | int | dt.date] = {
            "remittance": remittance, "payer": payer, "bank": bank, "method": method,
            "account-tail": f"**** **** {self.rng.randint(0, 9999):04d}",
            "notified": day - dt.timedelta(days=self.rng.randint(0, 2)), "verified": day, "verified-by": "chen",
            "customer": f"C-{day:%y%m%d}-{self.code(5)}", "agent": agent_id, "address": self.address(),
            "phone": self.phone(), "courier": courier,
            "waybill": f"{WAYBILL_PREFIX[courier]}{self.rng.randrange(10**11, 10**12)}"}
        if wholesale:
            meta |= {"tax-id": f"91330{self.rng.randrange(10**12, 10**13)}{self.code(1)}",
                     "invoice": "增值税专用发票,开票信息已由采购邮件提供,确认收货后七个工作日内开具并邮寄"}
        meta |= {"remark": f"{agent_name} {day.month}/{day.day} 汇款通知已登记,陈经理核实到账后发货,发货后短信通知买家",
                 "history": self.history(day, steps)}
        text = (self.head(day, payer, narration, f"#remittance ^{remittance}", meta)
                + self.posting(BANK, gross - fee, statement=f"{day:%Y%m%d}{self.rng.randrange(10**8, 10**9)}",
                               memo=f"{payer} 货款 {remittance}")
                + (self.posting(BANK_FEES, fee, note="境外电汇手续费,由店铺承担") if fee else "")
                + self.posting(category, -net, item=f"{product} {colour} {size} ×{qty}", price=money(gross / qty))
                + self.posting(VAT, -tax, rate="13%", base=money(net)))
        return text

    def refund(self, day: dt.date) -> str:
        sale = self.rng.choice(self.sales)
        self.sales.remove(sale)  # refunded once
        reason = self.rng.choice(REFUND_REASONS).format(
            product=sale.product, defect=self.rng.choice(corpus.DEFECTS), colour=sale.colour)
        ticket = f"T-{day:%y%m%d}-{self.code(5)}"
        agent_id, agent_name = self.agent()
        courier = self.rng.choice(corpus.COURIERS)
        waybill = f"{WAYBILL_PREFIX[courier]}{self.rng.randrange(10**11, 10**12)}"
        shop_pays_freight = "店铺承担" in reason
        freight = Decimal(self.rng.choice((12, 15, 18, 23))) if shop_pays_freight else Decimal(0)
        net, tax = self.split_vat(sale.gross)
        narration = f"退款:订单{sale.order}({sale.colour}色{sale.product}{sale.size}码{sale.qty}件),{reason}"
        steps = ("买家申请退款并上传照片", f"客服{agent_name}受理,建工单{ticket}",
                 f"客服{agent_name}判定有效,同意退货退款", f"买家寄回,{courier}运单号{waybill}", "仓库签收退货",
                 "质检员检查:吊牌完好,问题属实", "财务发起原路退款", "退款到账,已短信通知买家",
                 f"客服{agent_name}回访,买家表示满意")
        text = (self.head(day, sale.buyer, narration, f"#refund ^TB{sale.order} ^{ticket}",
                          {"order": sale.order, "ticket": ticket,
                           "refund-no": f"{day:%Y%m%d}{self.rng.randrange(10**15, 10**16)}", "agent": agent_id,
                           "approved-by": "陈经理" if sale.gross >= 500 else agent_name,
                           "returned": day - dt.timedelta(days=self.rng.randint(1, 4)), "courier": courier,
                           "waybill": waybill, "photos": self.rng.randint(1, 6),
                           "remark": f"{agent_name} {day.month}/{day.day} 退货已签收,质检无误,同意退款,已向买家致歉",
                           "history": self.history(day, steps)})
                + self.posting(RETURNS, net, item=f"{sale.product} {sale.colour} {sale.size} ×{sale.qty}",
                               reason=reason[:12])
                + self.posting(VAT, tax, rate="13%", base=money(net))
                + (self.posting(RETURN_FREIGHT, freight, note="退货运费由店铺承担,随退款一并退给买家")
                   if freight else "")
                + self.posting(WALLET, -(sale.gross + freight)))
        return text

    def withdrawal(self, day: dt.date) -> str:
        amount = (self.balances[WALLET] * Decimal(self.rng.uniform(0.6, 0.9))).quantize(CENT)
        batch = f"TX{day:%Y%m%d}{self.rng.randrange(10**6, 10**7)}"
        orders = self.rng.randint(20, 400)
        narration = (f"平台提现:截至{day.month}月{day.day}日已确认收货订单的货款,扣除技术服务费后结算至招行一般户,"
                     f"财务部核对平台账单与到账金额一致")
        steps = ("平台结算已确认收货订单", "陈经理提交提现申请", "平台审核通过", "支付宝转出", "招行入账",
                 "财务核对银行流水与平台账单")
        text = (self.head(day, "淘宝平台", narration, f"#settlement ^{batch}",
                          {"batch": batch, "orders": orders, "requested-by": "陈经理",
                           "period": f"{day - dt.timedelta(days=self.rng.randint(3, 10))} 至 {day}",
                           "statement": f"支付宝账单{day:%Y%m%d}-{self.rng.randint(1, 9)}",
                           "alipay-flow": f"{day:%Y%m%d}{self.rng.randrange(10**19, 10**20)}",
                           "bank-flow": f"{self.rng.randrange(10**17, 10**18)}",
                           "remark": "提现申请已提交,预计一至两个工作日到账,到账后与银行流水核对,差额为零",
                           "history": self.history(day, steps)})
                + self.posting(WALLET, -amount, holder="支付宝企业账户 liyi-shop@alipay")
                + self.posting(GENERAL, amount, holder="招商银行杭州分行营业部 **** 6688"))
        return text

    def courier_bill(self, day: dt.date) -> str:
        courier = self.rng.choice(corpus.COURIERS)
        parcels = self.rng.randint(80, 900)
        amount = (Decimal(parcels) * Decimal(self.rng.uniform(6.5, 11.0))).quantize(CENT)
        statement = f"{WAYBILL_PREFIX[courier]}-{day:%Y%m}-{self.rng.randint(100, 999)}"
        narration = (f"{courier}月结运费:{day.month}月上半月发出{parcels}票,首重续重按合同价结算,"
                     f"含保价费和偏远地区附加费,仓库已核对面单数量")
        steps = (f"{courier}发来对账单{statement}", "仓库核对面单数量与重量",
                 f"差异{self.rng.randint(0, 5)}票,已与网点确认", "何主管复核", "财务付款", "收到增值税普通发票")
        text = (self.head(day, f"{courier}速运杭州分公司", narration, f"#shipping ^{statement}",
                          {"statement": statement, "parcels": parcels,
                           "weight-kg": f"{parcels * self.rng.uniform(0.4, 1.2):.1f}", "contact": self.person(),
                           "contract": f"{WAYBILL_PREFIX[courier]}-HZ-{day.year}-{self.rng.randint(10, 99)}",
                           "checked-by": "何主管", "invoice": f"{self.rng.randrange(10**19, 10**20)}",
                           "remark": "对账无误,按合同约定月结付款,增值税普通发票已收到并交财务入账",
                           "history": self.history(day, steps)})
                + self.posting(OUTBOUND, amount, department="仓储质检", note=f"{parcels}票,含保价费和偏远地区附加费")
                + self.posting(GENERAL, -amount, holder="招商银行杭州分行营业部 **** 6688"))
        return text

    def assertion(self, day: dt.date) -> Entry:
        account = self.rng.choice(ASSERTED)
        text = (f"{day} balance {account} {money(self.balances[account])} CNY\n"
                f"  checked-by: \"陈经理\"\n  source: \"{'银行对账单' if 'Bank' in account else '平台后台余额'}\"\n")
        return self.entry(day, "balance", text)


# ----- writing ----------------------------------------------------------------------------------
@dataclass
class Written:
    entries: int
    entry_bytes: int
    files: dict[str, int]  # layout -> how many files bean-check reads


def write(books: Books, root: Path, layouts: tuple[str, ...]) -> Written:
    """Every layout in its own folder under `root`, from one pass over the entries."""
    header = books.header()
    heads: dict[str, IO[str]] = {}
    for layout in layouts:
        (root / layout).mkdir(parents=True)
        heads[layout] = (root / layout / MAIN).open("w", encoding="utf-8")
        heads[layout].write(header)
    files = dict.fromkeys(layouts, 1)
    months: dict[str, IO[str]] = {}
    count = size = 0
    try:
        for entry in books.entries():
            count += 1
            size += len(entry.text.encode())
            text = entry.text + "\n"
            for layout, main in heads.items():
                if layout == "one" or entry.kind in ("open", "commodity"):
                    # The opens stay in the main file, as a csctl ledger's roster stays in csctl.toml.
                    main.write(text)
                elif layout == "monthly":
                    month = f"{entry.day:%Y-%m}"
                    if month not in months:
                        for done in months.values():
                            done.close()
                        months.clear()
                        (root / layout / "months").mkdir(exist_ok=True)
                        months[month] = (root / layout / "months" / f"{month}.beancount").open(
                            "w", encoding="utf-8")
                        files[layout] += 1
                    months[month].write(text)
                else:
                    folder = root / layout / "entries" / f"{entry.day:%Y}" / f"{entry.day:%m}"
                    folder.mkdir(parents=True, exist_ok=True)
                    (folder / f"{entry.key}.beancount").write_text(text, encoding="utf-8")
                    files[layout] += 1
        for layout, main in heads.items():
            include = {"monthly": "months/*.beancount", "per-entry": "entries/**/*.beancount"}.get(layout)
            if include:
                main.write(f'include "{include}"\n')
    finally:
        for handle in (*heads.values(), *months.values()):
            handle.close()
    return Written(count, size, files)


# ----- timing -----------------------------------------------------------------------------------
# Starts every measured process from a small process of its own: a child's ru_maxrss counts the memory
# of the process it was forked from, and this one holds little.
RUNNER = """\
import json, os, subprocess, sys, tempfile, time
for line in sys.stdin:
    args = json.loads(line)
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        child = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        print(json.dumps({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "peak_kib": usage.ru_maxrss,
                          "code": os.waitstatus_to_exitcode(status),
                          "output": out.read()[-2000:].decode(errors="replace")}), flush=True)
"""


@dataclass
class Figure:
    layout: str
    seconds: float
    cpu_seconds: float
    peak_kib: int


class Runner:
    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", RUNNER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)

    def run(self, args: list[str]) -> dict[str, object]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(args) + "\n")
        self.process.stdin.flush()
        result: dict[str, object] = json.loads(self.process.stdout.readline())
        return result

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait()


def measure(runner: Runner, bean_check: Path, main: Path, runs: int) -> tuple[float, float, int]:
    """(median wall seconds, median CPU seconds, highest peak KiB) of `bean-check -C main`, after one run that
    must pass clean."""
    args = [str(bean_check), "-C", str(main)]
    warm = runner.run(args)
    if warm["code"] != 0 or warm["output"]:
        raise SystemExit(f"peer.py: bean-check rejected {main} (exit {warm['code']}):\n{warm['output']}")
    results = [runner.run(args) for _ in range(runs)]
    if any(result["code"] != 0 for result in results):
        raise SystemExit(f"peer.py: bean-check failed on {main} on a later run")
    seconds = statistics.median(float(str(result["seconds"])) for result in results)
    cpu_seconds = statistics.median(float(str(result["cpu"])) for result in results)
    return seconds, cpu_seconds, max(int(str(result["peak_kib"])) for result in results)


def find_bean_check(given: Path | None) -> Path:
    if given is not None:
        candidate = given
    else:
        on_path = shutil.which("bean-check")
        candidate = Path(on_path) if on_path else FALLBACK_BEAN_CHECK
    if not (candidate.is_file() and os.access(candidate, os.X_OK)):
        raise SystemExit(f"peer.py: no bean-check at {candidate}: install beancount apart from csctl "
                         f"({INSTALL_HINT}) or pass --bean-check PATH")
    return candidate


def layouts_option(value: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
    unknown = [part for part in chosen if part not in LAYOUTS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"{value!r}: choose among {', '.join(LAYOUTS)}")
    return chosen


def at_least(minimum: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        number = int(value)
        if number < minimum:
            raise argparse.ArgumentTypeError(f"{value}: at least {minimum}")
        return number

    return parse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=at_least(2 * len(ACCOUNTS)), required=True,
                        help="How many entries the ledger holds, opens and assertions included.")
    parser.add_argument("--runs", type=at_least(1), default=3, help="Timed runs per layout; the median is shown.")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="Write the ledger here (a new or empty folder) and keep it.")
    parser.add_argument("--seed", type=int, default=1, help="Same seed, same ledger (default 1).")
    parser.add_argument("--until", type=dt.date.fromisoformat, default=dt.date(2026, 11, 20),
                        help="The ledger's last day (default 2026-11-20); it starts three years before.")
    parser.add_argument("--layouts", type=layouts_option, default=LAYOUTS,
                        help=f"Comma-separated, among {', '.join(LAYOUTS)} (default all).")
    parser.add_argument("--bean-check", type=Path, help="bean-check to time (default: on PATH, else "
                        f"{FALLBACK_BEAN_CHECK}).")
    options = parser.parse_args(argv)
    bean_check = find_bean_check(options.bean_check)
    if options.keep is not None and options.keep.exists() and any(options.keep.iterdir()):
        raise SystemExit(f"peer.py: --keep {options.keep}: the folder is not empty")
    version = subprocess.run([str(bean_check), "--version"], capture_output=True, text=True).stdout.split()[-1:]

    runner = Runner()  # before the ledger is written, while this process is small
    root = options.keep.resolve() if options.keep else Path(tempfile.mkdtemp(prefix="csctl-peer-"))
    try:
        print(f"writing {options.entries} entries …", file=sys.stderr, flush=True)
        written = write(Books(options.entries, options.seed, options.until), root, options.layouts)
        figures = []
        for layout in options.layouts:
            print(f"  bean-check -C, {layout} …", file=sys.stderr, flush=True)
            figures.append(Figure(layout, *measure(runner, bean_check, root / layout / MAIN, options.runs)))
    finally:
        runner.close()
        if options.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"{written.entries} entries of {written.entry_bytes / written.entries:.0f} bytes on average; "
          f"median of {options.runs} run(s) of `bean-check -C`; beancount {''.join(version) or '?'}, "
          f"Python {platform.python_version()}, {os.cpu_count()} cores, {dt.date.today()}\n")
    print("| layout | files | seconds | µs/entry | CPU seconds | peak MiB |\n|---|---:|---:|---:|---:|---:|")
    for figure in figures:
        print(f"| {figure.layout} | {written.files[figure.layout]} | {figure.seconds:.3f} | "
              f"{figure.seconds / written.entries * 1e6:.1f} | {figure.cpu_seconds:.3f} | "
              f"{figure.peak_kib / 1024:.0f} |")
    if options.keep is not None:
        print(f"\nledger kept in {root}", file=sys.stderr)


if __name__ == "__main__":
    main()
