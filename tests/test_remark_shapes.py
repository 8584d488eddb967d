"""Remark shapes (issue 5, SPEC §5): the declarations of templates/remarks.toml render, parse, lint and fix.

Properties over every shipped shape and any valid field values, Chinese included:
render→parse is the identity, full-width and spaced-out variants parse the same, and
`fix` is idempotent. Then the validation of declarations, and what lint says where.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from csctl.domain.remark_shapes import (
    AUTO_FIELDS,
    SEPARATORS,
    Field,
    Shape,
    ShapeError,
    Shapes,
    fold,
    writer_mismatch,
)
from csctl.errors import InvalidInput

TEMPLATE: dict[str, Any] = tomllib.loads(
    (resources.files("csctl.data") / "templates" / "remarks.toml").read_text(encoding="utf-8"))
SHAPES = Shapes.from_template(TEMPLATE)
NAMES = {"小王", "小张", "小美"}
SETTINGS = settings(max_examples=25, deadline=None, report_multiple_bugs=False,
                    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])

# ----- strategies ------------------------------------------------------------------------------

CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
# Free text as typed: Chinese, ASCII letters and digits, full-width digits and punctuation that is
# no separator (！ becomes ! when folded), blanks inside.
_FREE = st.one_of(CJK, CJK, st.sampled_from(list("abcXYZ0123456789０１９！？、。-#&*·  ")))


def free_text(excluded: str) -> st.SearchStrategy[str]:
    return st.lists(_FREE, min_size=1, max_size=10).map("".join).filter(
        lambda t: bool(fold(t)) and not any(c in excluded for c in fold(t)))


def value_for(shape: Shape, item: Field) -> st.SearchStrategy[Any]:
    index = shape.tokens.index(item)
    following = shape.tokens[index + 1] if index + 1 < len(shape.tokens) else ""
    after = following[0] if isinstance(following, str) else ""
    if item.type == "yuan":
        return st.one_of(st.decimals(min_value=0, max_value=10**6, places=2),
                         st.integers(0, 10**6).map(str), st.integers(0, 10**6).map(lambda n: f"{n / 100:.2f}"))
    if item.type == "int":
        return st.integers(0, 10**9)
    if item.type == "code":
        return st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,8}", fullmatch=True)
    if item.type == "order":
        return st.from_regex(r"[0-9]{6,16}|[A-Z]{2}[0-9]{8}", fullmatch=True)
    if item.type == "text":
        return free_text(SEPARATORS + after)
    if item.type == "address":
        return free_text(",+" + after).map(lambda t: t + "(近地铁站)")
    if item.type == "account":
        return st.from_regex(r"(建行|工行|农行)?[A-Za-z0-9@._-]{1,12}( [0-9]{4}){0,4}", fullmatch=True)
    if item.type == "name":
        return st.one_of(st.lists(CJK, min_size=2, max_size=6).map("".join),
                         st.tuples(CJK, CJK).map(lambda p: f"{p[0]}·{p[1]}"))
    if item.type == "phone":
        return st.from_regex(r"(\+86 )?1[3-9][0-9]{9}|0571-8[0-9]{7}", fullmatch=True)
    assert item.type == "choice"
    return st.sampled_from(item.choices)


AGENTS = st.one_of(st.sampled_from(sorted(NAMES)), st.lists(CJK, min_size=1, max_size=4).map("".join),
                   st.sampled_from(["Lily", "王 Wei"]))
DAYS = st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31))
FORMATS = st.sampled_from(["%m.%d", "%Y-%m-%d", "%m月%d日", "%y/%m/%d"])

FULL_WIDTH = str.maketrans({**{c: chr(ord(c) + 0xFEE0) for c in ",+/:()"},
                            **{str(d): chr(0xFF10 + d) for d in range(10)}})


def drawn(data: st.DataObject, shape: Shape, shapes: Shapes) -> tuple[str, dict[str, Any]]:
    """A remark of `shape` rendered from drawn values (valid ones: `render` refuses the rest), and its values."""
    given_values = {item.name: data.draw(value_for(shape, item), label=item.name) for item in shape.fields}
    agent = data.draw(AGENTS, label="agent")
    date = data.draw(DAYS, label="day").strftime(shapes.date_format)
    try:
        text = shapes.render(shape, given_values, agent, date)
    except InvalidInput:
        assume(False)
    expected = shapes.values_for(shape, given_values)
    tokens = {t.name for t in shape.tokens if isinstance(t, Field)}
    expected.update({k: v for k, v in (("agent", agent), ("date", date)) if k in tokens})
    return text, expected


SHAPE_NAMES = [s.name for s in SHAPES]


def test_every_shape_of_the_seed_ships() -> None:
    assert len(SHAPE_NAMES) == 39
    groups = {s.group for s in SHAPES}
    assert groups == {"price", "print", "address", "refund", "cancel", "change", "stock", "balance", "remittance"}
    # The state variants of cancel, change of item and out of stock (Ⅰ/Ⅱ/Ⅲ).
    for group, states in (("cancel", {"unpaid", "paid_unprinted", "paid_printed"}),
                          ("stock", {"unpaid", "paid_unprinted", "paid_printed"}),
                          ("change", {"paid_unprinted", "paid_printed"})):
        assert states <= {s.state for s in SHAPES if s.group == group}


# ----- properties -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", SHAPE_NAMES)
@SETTINGS
@given(data=st.data())
def test_render_then_parse_is_the_identity(name: str, data: st.DataObject) -> None:
    shape = SHAPES.get(name)
    assert shape is not None
    text, expected = drawn(data, shape, SHAPES)
    names = NAMES | ({expected["agent"]} if "agent" in expected else set())
    parsed = SHAPES.parse(text, names)
    assert parsed is not None, text
    assert (parsed.shape.name, parsed.values) == (name, expected)
    # The canonical text is its own fix, and it lints clean.
    assert SHAPES.fix(text, names) == text
    assert SHAPES.lint(text, names) is None


@pytest.mark.parametrize("name", SHAPE_NAMES)
@SETTINGS
@given(data=st.data(), date_format=FORMATS)
def test_any_date_format_round_trips(name: str, data: st.DataObject, date_format: str) -> None:
    shapes = Shapes.from_template(TEMPLATE, date_format)
    shape = shapes.get(name)
    assert shape is not None
    text, expected = drawn(data, shape, shapes)
    parsed = shapes.parse(text, NAMES | {expected.get("agent", "小王")})
    assert parsed is not None
    assert (parsed.shape.name, parsed.values) == (name, expected)


def _hand_typed(text: str, data: st.DataObject) -> str:
    """The text as typed by hand: full-width punctuation and digits, blanks around the separators."""
    if data.draw(st.booleans(), label="full width"):
        text = text.translate(FULL_WIDTH)
    out = []
    for char in text:
        if fold(char) in SEPARATORS and data.draw(st.booleans(), label="blank"):
            out.append(f" {char}　")
        else:
            out.append(char)
    return "".join(out)


@pytest.mark.parametrize("name", SHAPE_NAMES)
@SETTINGS
@given(data=st.data())
def test_full_width_and_spaced_variants_parse_the_same(name: str, data: st.DataObject) -> None:
    shape = SHAPES.get(name)
    assert shape is not None
    text, expected = drawn(data, shape, SHAPES)
    names = NAMES | ({expected["agent"]} if "agent" in expected else set())
    typed = _hand_typed(text, data)
    parsed = SHAPES.parse(typed, names)
    assert parsed is not None, typed
    assert (parsed.shape.name, parsed.values) == (name, expected)
    assert SHAPES.fix(typed, names) == text


@SETTINGS
@given(data=st.data(), name=st.sampled_from(SHAPE_NAMES), noise=st.text(max_size=6),
       cut=st.integers(0, 40))
def test_fix_is_idempotent(data: st.DataObject, name: str, noise: str, cut: int) -> None:
    """On canonical, hand-typed, truncated and garbled texts alike."""
    shape = SHAPES.get(name)
    assert shape is not None
    text, _ = drawn(data, shape, SHAPES)
    for candidate in (text, _hand_typed(text, data), text[:cut] + noise, noise + text, noise):
        once = SHAPES.fix(candidate, NAMES)
        assert SHAPES.fix(once, NAMES) == once


# ----- parse: which shape wins -----------------------------------------------------------------

@pytest.mark.parametrize(("text", "shape", "values"), [
    ("扣除好评获奖金额10元+小王/11.23", "price_review_bonus", {"amount": Decimal("10.00")}),
    ("扣除多收A123的邮费8元+小王/11.23", "price_postage_overcharge", {"item": "A123", "amount": Decimal("8.00")}),
    ("扣除多收A123的折扣12.5元+小王/11.23", "price_discount_overcharge", {"item": "A123", "amount": Decimal("12.50")}),
    ("扣除老顾客优惠5元+小王/11.23", "price_special", {"reason": "老顾客优惠", "amount": Decimal("5.00")}),
    ("扣除余额２０元，还剩余额３０＋小王／１１.２３", "balance_deduct",
     {"amount": Decimal("20.00"), "balance": Decimal("30.00")}),
    ("此款无货 + 已旺旺通知买家 + 小王 + 11.23", "stock_unpaid", {"via": "旺旺"}),
    ("小王", "price_plain", {}),
    ("11.23", "printed", {}),
])
def test_parse_prefers_the_specific_shape_and_folds(text: str, shape: str, values: dict[str, Any]) -> None:
    parsed = SHAPES.parse(text, NAMES)
    assert parsed is not None
    assert parsed.shape.name == shape
    assert {k: v for k, v in parsed.values.items() if k not in AUTO_FIELDS} == values


def test_seed_register_line_parses_once_the_holder_is_spaced() -> None:
    # The seed's own example runs the account into the name; the canonical line has a space.
    seed = "银行:幽幽兰兰007 建行4367 4206 7255 0308 214李秀兰 288元(中评_小王)"
    departure = SHAPES.lint(seed, NAMES)
    assert departure is not None
    assert departure.shape is not None
    assert departure.shape.name == "refund_register"
    assert seed[departure.offset:].startswith("214李秀兰")
    parsed = SHAPES.parse(seed.replace("214李秀兰", "214 李秀兰"), NAMES)
    assert parsed is not None
    assert parsed.values["account"] == "建行4367 4206 7255 0308 214"
    assert parsed.values["holder"] == "李秀兰"
    assert parsed.values["amount"] == Decimal("288.00")


def test_a_name_alone_must_be_on_the_roster() -> None:
    assert SHAPES.parse("随便写点", NAMES) is None
    departure = SHAPES.lint("随便写点", NAMES)
    assert departure is not None
    assert departure.shape is None
    assert "fits no remark shape" in departure.describe()


# ----- lint: the nearest shape and the offset ---------------------------------------------------

@pytest.mark.parametrize(("text", "shape", "offset", "expected"), [
    # The date is missing: all 15 characters fit balance_clear, which wants "/" next.
    ("扣除余额20元,余额清零+小王", "balance_clear", 15, "「/」"),
    # 还剩余额 typed as 还余额: the text departs after 扣除余额20元,还 (9 characters).
    ("扣除余额20元,还余额30+小王/11.23", "balance_deduct", 9, "「剩余额」"),
    # The same typed in full width: offsets count the characters as typed.
    ("扣除余额２０元，还余额３０＋小王／11.23", "balance_deduct", 9, "「剩余额」"),
    # A date that is no date.
    ("扣除余额20元,余额清零+小王/13.45", "balance_clear", 16, "a date (e.g. 11.23)"),
    # A name not on the roster.
    ("面单地址已改+小红/11.23", "label_fixed", 7, "a name on the roster"),
    # Text after the end.
    ("单号:8563201477+小王+11.23 已付", "remit_copy", 22, "the end"),
])
def test_lint_names_the_nearest_shape_and_where_the_text_departs(text: str, shape: str, offset: int,
                                                                 expected: str) -> None:
    departure = SHAPES.lint(text, NAMES)
    assert departure is not None
    assert departure.shape is not None
    assert (departure.shape.name, departure.offset) == (shape, offset)
    assert expected in departure.expected
    assert departure.found == text[offset:offset + 8].rstrip()


def test_fix_leaves_text_that_fits_nothing_alone() -> None:
    assert SHAPES.fix("扣除余额20元,余额清零+小王", NAMES) == "扣除余额20元,余额清零+小王"
    # A blank between 余额 and the amount is not folded away: it is no blank around a separator.
    assert SHAPES.fix(" 扣除余额 20 元 ， 余额清零 + 小王 / 1.5 ", NAMES) == " 扣除余额 20 元 ， 余额清零 + 小王 / 1.5 "
    assert SHAPES.fix("扣除余额20元 ， 余额清零 + 小王 / 1.5", NAMES) == "扣除余额20.00元,余额清零+小王/01.05"


# ----- render: every field checked by type ---------------------------------------------------

@pytest.mark.parametrize(("name", "values", "says"), [
    ("balance_deduct", {"amount": "abc", "balance": "1"}, "amount: not an amount"),
    ("balance_deduct", {"amount": "-5", "balance": "1"}, "amount: not an amount"),
    ("balance_deduct", {"amount": "1.005", "balance": "1"}, "amount: not an amount"),
    ("balance_deduct", {"amount": "5"}, "balance: is required"),
    ("balance_deduct", {"amount": "5", "balance": "1", "note": "x"}, "note: not a field of balance_deduct"),
    ("balance_deduct", {"amount": "5", "balance": "1", "agent": "小李"}, "agent is filled in by csctl"),
    ("price_postage_overcharge", {"item": "A 1", "amount": "8"}, "item: an item code"),
    ("stock_unpaid", {"via": "短信"}, "via: '短信' is not one of 旺旺/电话"),
    ("cancel_unpaid", {"stocker": "小美,小张"}, "stocker: must not contain ,"),
    ("address_change_printed", {"address": "杭州+西湖", "assistant": "小张"}, "address: must not contain +"),
    ("receiver_change_unprinted", {"receiver": "Li"}, "receiver: a real name"),
    ("phone_change_unprinted", {"phone": "call me"}, "phone: not a phone number"),
    ("remit_copy", {"order": "85-63"}, "order: an order number"),
    ("refund_after_trade", {"item": "A1", "kind": "邮费", "amount": "5", "via": "支付宝", "account": "x@y.cn",
                            "holder": "李 莉"}, "holder: a real name"),
    # A special price change whose reason makes it one of the named ones reads as that one.
    ("price_special", {"reason": "好评获奖金额", "amount": "10"}, "use price_review_bonus"),
    # A reason ending in a digit would run into the amount.
    ("price_special", {"reason": "满100减", "amount": "5"}, None),
    ("price_special", {"reason": "优惠1", "amount": "5"}, "would not read back"),
])
def test_render_checks_every_field(name: str, values: dict[str, str], says: str | None) -> None:
    shape = SHAPES.find(name)
    if says is None:
        assert SHAPES.render(shape, values, "小王", "11.23") == "扣除满100减5.00元+小王/11.23"
        return
    with pytest.raises(InvalidInput, match=says.replace("+", r"\+").replace("(", r"\(")):
        SHAPES.render(shape, values, "小王", "11.23")


def test_render_folds_values_and_writes_money_with_two_decimals() -> None:
    shape = SHAPES.find("refund_after_trade")
    text = SHAPES.render(shape, {"item": "Ａ123", "kind": "邮费", "amount": "１５", "via": "支付宝",
                                 "account": "xt.lilili@163.com", "holder": "李莉莉"}, "小王", "11.23")
    assert text == "A123+应退邮费15.00元,退到支付宝+xt.lilili@163.com 李莉莉+小王/11.23"


def test_find_by_name_or_title() -> None:
    assert SHAPES.find("余额已登记").name == "balance_registered"
    with pytest.raises(InvalidInput, match="no remark shape 'nope'"):
        SHAPES.find("nope")


def test_writer_rule() -> None:
    label_fixed, copied = SHAPES.find("label_fixed"), SHAPES.find("copied")
    assert writer_mismatch(label_fixed, "agent")
    assert not writer_mismatch(label_fixed, "assistant")
    assert writer_mismatch(copied, "assistant")
    assert not writer_mismatch(copied, "supervisor")


# ----- declarations ------------------------------------------------------------------------------

def _with(index: int, **changes: Any) -> dict[str, Any]:
    shapes = [dict(s) for s in TEMPLATE["shapes"]]
    shapes[index].update(changes)
    return {"shapes": shapes}


@pytest.mark.parametrize(("data", "says"), [
    (_with(5, pattern="扣除余额{amount:money}元,还剩余额{balance:yuan}+{agent}/{date}"),
     "shapes.5 (balance_deduct).pattern: field amount: unknown type money"),
    (_with(6, name="balance_deduct"), "shapes.6 (balance_deduct).name: the same name as shapes.5"),
    (_with(5, example="扣除余额20.00元,还剩余额30+小王/11.23"),
     "shapes.5 (balance_deduct).example: the pattern renders the example's values as: 扣除余额20.00元,还剩余额30.00"),
    (_with(5, example="扣除余额20元,余额30+小王/11.23"), "shapes.5 (balance_deduct).example: the example does not fit"),
    # An example that reads as another shape: the two overlap.
    (_with(1, pattern="扣除{reason:text}{amount:yuan}元+{agent}/{date}", example="扣除好评获奖金额10.00元+小王/11.23"),
     "shapes.1 (price_special).example"),
    (_with(5, writer="clerk"), "shapes.5 (balance_deduct).writer: clerk is not one of agent, assistant, supervisor"),
    (_with(5, colour="red"), "shapes.5 (balance_deduct).colour: not a known key"),
    (_with(5, pattern="余额{a:text}{b:text}+{agent}/{date}"), "fields a and b touch"),
    (_with(5, pattern="余额{amount:yuan}元，+{agent}/{date}"), "must be canonical half-width"),
    (_with(5, pattern="余额{amount:yuan}元{amount:yuan}+{agent}/{date}"), "field amount appears twice"),
    (_with(5, pattern="余额{amount:yuan元+{agent}/{date}"), "shapes.5 (balance_deduct).pattern"),
    ({"shapes": []}, "no remark shapes declared"),
])
def test_declarations_are_validated_naming_the_shape(data: dict[str, Any], says: str) -> None:
    with pytest.raises(ShapeError) as caught:
        Shapes.from_template(data)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_shape_added_by_a_ledger_works_like_the_shipped_ones() -> None:
    extra = {"name": "gift_added", "title": "赠品", "group": "price", "writer": "agent",
             "pattern": "赠送{item:code}一件,{note:text}+{agent}/{date}", "example": "赠送A9一件,老顾客+小王/11.23"}
    shapes = Shapes.from_template({"shapes": [*TEMPLATE["shapes"], extra]})
    parsed = shapes.parse("赠送Ａ9一件，老顾客 + 小美/11.24", NAMES)
    assert parsed is not None
    assert parsed.shape.name == "gift_added"
    assert parsed.values == {"item": "A9", "note": "老顾客", "agent": "小美", "date": "11.24"}
