"""Remark shapes (备注规范, seed 001 第五篇 第一章节): one declaration renders, parses, lints and fixes.

`templates/remarks.toml` declares each shape once (its header documents the
pattern syntax). From that declaration this module builds, per shape, the text
a remark is rendered to and a regular expression that reads it back, so the two
can never disagree: `render` checks its own output by parsing it.

Text typed by hand is first *folded*: full-width punctuation, digits and
letters become their ASCII forms and blanks around the separators , + / : ( )
go; offsets reported by `lint` still count characters of the text as typed.
`fix` rewrites a remark that fits a shape to the canonical text of that shape.

The remark's writer name is `{agent}`: given the roster's names, only those
fit (so that "小王" is a plain price change and "随便写点" fits nothing);
without a roster, any name holding a letter does.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, NoReturn

from csctl.errors import CsctlError, InvalidInput, RecordError
from csctl.i18n import language, msg
from csctl.models.base import CENT, format_money

if TYPE_CHECKING:
    from pathlib import Path

    from csctl.storage.ledger import Ledger

TEMPLATE = "remarks.toml"
SEPARATORS = ",+/:()"
AUTO_FIELDS = ("agent", "date")
TYPES = ("yuan", "code", "text", "address", "account", "name", "phone", "order", "int", "choice")
WRITERS = ("agent", "assistant", "supervisor")
GROUPS = ("price", "print", "address", "refund", "cancel", "change", "stock", "balance", "remittance")
STATES = ("unpaid", "paid_unprinted", "paid_printed", "during_trade", "after_trade", "before_print", "after_print")
SHAPE_KEYS = ("name", "title", "title_en", "group", "writer", "state", "pattern", "example")
# What the examples of the template are written with (its header: agent 小王, assistant 小张, date 11.23).
EXAMPLE_DATE_FORMAT = "%m.%d"

_FIELD = re.compile(r"\{([^{}]*)\}")
_FIELD_BODY = re.compile(r"([a-z][a-z0-9_]*)(?::([a-z]+)(?:\(([^()]*)\))?)?")
_NAME_KEY = re.compile(r"[a-z][a-z0-9_]*")
_DIRECTIVE = re.compile(r"%(.)")

# ----- folding -------------------------------------------------------------------------------

_FULL_WIDTH = {chr(0xFF01 + i): chr(0x21 + i) for i in range(0x5E)}  # ！..～ -> !..~
_FULL_WIDTH["\u3000"] = " "  # ideographic space
_FOLD_TABLE = str.maketrans({**_FULL_WIDTH, "\t": " "})
_BLANKS_AROUND = re.compile(rf"\s*([{re.escape(SEPARATORS)}])\s*")
_SPACE = re.compile(r"\s")  # what str.isspace() calls a space


def fold(text: str) -> str:
    """Text as the shapes read it: half-width, no blanks around separators, single spaces."""
    chars = text.translate(_FOLD_TABLE)
    if _SPACE.search(chars) is None:
        return chars  # the usual remark: nothing to fold but the width (`check` folds every remark)
    return _fold_with_positions(text)[0]


def _fold_with_positions(text: str) -> tuple[str, list[int]]:
    """The folded text and, for each of its characters, the offset of the character typed."""
    chars = text.translate(_FOLD_TABLE)  # one character for one: offsets still line up
    out: list[str] = []
    where: list[int] = []
    index, length = 0, len(chars)
    while index < length:
        char = chars[index]
        if char.isspace():
            end = index
            while end < length and chars[end].isspace():
                end += 1
            touches_separator = (out and out[-1] in SEPARATORS) or (end < length and chars[end] in SEPARATORS)
            if out and end < length and not touches_separator:
                out.append(" ")
                where.append(index)
            index = end
            continue
        out.append(char)
        where.append(index)
        index += 1
    return "".join(out), where


# ----- declarations ---------------------------------------------------------------------------

class ShapeError(CsctlError):
    """A declaration in templates/remarks.toml that cannot be used; names the shape and the key."""

    def __init__(self, index: int, name: str | None, key: str | None, message: str) -> None:
        self.index, self.key = index, key
        where = f"shapes.{index}" + (f" ({name})" if name else "") + (f".{key}" if key else "")
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # one of TYPES, or "" for the automatic agent and date
    choices: tuple[str, ...] = ()
    # Words free text may not begin with, `text(!余额)`: what another shape's text starts with, so that a
    # general shape (price_special) does not take in that shape written wrongly (扣除余额 without 还剩余额).
    barred: tuple[str, ...] = ()

    @property
    def auto(self) -> bool:
        return self.name in AUTO_FIELDS

    @property
    def spec(self) -> str:
        if self.auto:
            return f"{{{self.name}}}"
        if self.type == "choice":
            kind = f"choice({'|'.join(self.choices)})"
        elif self.barred:
            kind = f"{self.type}({'|'.join('!' + word for word in self.barred)})"
        else:
            kind = self.type
        return f"{{{self.name}:{kind}}}"


Token = str | Field


@dataclass(frozen=True)
class Shape:
    name: str
    title: str
    title_en: str
    group: str
    writer: str
    state: str | None
    pattern: str
    example: str
    tokens: tuple[Token, ...]

    @property
    def fields(self) -> tuple[Field, ...]:
        """The fields a writer fills in (agent and date are filled in by csctl)."""
        return tuple(t for t in self.tokens if isinstance(t, Field) and not t.auto)

    @property
    def fields_with_auto(self) -> tuple[Field, ...]:
        return tuple(t for t in self.tokens if isinstance(t, Field))

    @cached_property
    def literals(self) -> tuple[str, ...]:
        return tuple(t for t in self.tokens if isinstance(t, str))

    @cached_property
    def literal_size(self) -> int:
        """How much fixed text the shape has: more is more specific (price_special has least)."""
        return sum(len(t) for t in self.tokens if isinstance(t, str))

    def shown_title(self) -> str:
        return self.title if language() == "zh" else self.title_en or self.title


Fail = Callable[[str | None, str], NoReturn]


def _tokens(pattern: str, fail: Fail) -> tuple[Token, ...]:
    tokens: list[Token] = []
    seen: set[str] = set()
    position = 0
    for found in _FIELD.finditer(pattern):
        literal = pattern[position:found.start()]
        if "{" in literal or "}" in literal:
            fail("pattern", msg("shapes.brace", text=literal))
        if literal:
            tokens.append(literal)
        body = _FIELD_BODY.fullmatch(found.group(1))
        if body is None:
            fail("pattern", msg("shapes.bad_field", field=found.group(0)))
        name, kind, arguments = body.groups()
        position = found.end()
        if name in seen:
            fail("pattern", msg("shapes.field_twice", field=name))
        seen.add(name)
        if name in AUTO_FIELDS:
            if kind:
                fail("pattern", msg("shapes.auto_typed", field=name))
            tokens.append(Field(name, ""))
            continue
        if kind is None:
            fail("pattern", msg("shapes.untyped", field=name))
        if kind not in TYPES:
            fail("pattern", msg("shapes.unknown_type", field=name, type=kind, types=", ".join(TYPES)))
        choices: tuple[str, ...] = ()
        barred: tuple[str, ...] = ()
        if kind == "choice":
            choices = tuple(c.strip() for c in (arguments or "").split("|"))
            if len(choices) < 2 or any(not c or fold(c) != c for c in choices):
                fail("pattern", msg("shapes.bad_choice", field=name))
        elif kind in _EXCLUDED and arguments is not None:
            words = [w.strip() for w in arguments.split("|")]
            barred = tuple(w[1:] for w in words)
            if any(not w.startswith("!") for w in words) or any(not b or fold(b) != b for b in barred):
                fail("pattern", msg("shapes.bad_field", field=found.group(0)))
        elif arguments is not None:
            fail("pattern", msg("shapes.bad_field", field=found.group(0)))
        tokens.append(Field(name, kind, choices, barred))
    rest = pattern[position:]
    if "{" in rest or "}" in rest:
        fail("pattern", msg("shapes.brace", text=rest))
    if rest:
        tokens.append(rest)
    if not tokens:
        fail("pattern", msg("shapes.empty_pattern"))
    free = ("text", "address", "")  # "" is the agent's name (the date has a fixed form)
    for before, after in itertools.pairwise(tokens):
        if (isinstance(before, Field) and isinstance(after, Field) and before.name != "date"
                and after.name != "date" and before.type in free and after.type in free):
            fail("pattern", msg("shapes.fields_touch", first=before.name, second=after.name))
    for token in tokens:
        # Padded, so that a lone " " between two fields counts as canonical.
        if isinstance(token, str) and fold(f"x{token}x") != f"x{token}x":
            fail("pattern", msg("shapes.not_canonical", text=token, canonical=fold(f"x{token}x")[1:-1]))
    return tuple(tokens)


def _shape(index: int, entry: Any) -> Shape:
    name = entry.get("name") if isinstance(entry, dict) else None
    shown_name = name if isinstance(name, str) else None

    def fail(key: str | None, message: str) -> NoReturn:
        raise ShapeError(index, shown_name, key, message)

    if not isinstance(entry, dict):
        fail(None, msg("shapes.not_table"))
    for key in entry:
        if key not in SHAPE_KEYS:
            fail(key, msg("shapes.unknown_key", keys=", ".join(SHAPE_KEYS)))
    for key in ("name", "title", "group", "writer", "pattern", "example"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            fail(key, msg("shapes.required"))
    for key in ("title_en", "state"):
        if key in entry and not isinstance(entry[key], str):
            fail(key, msg("shapes.required"))
    if not _NAME_KEY.fullmatch(entry["name"]):
        fail("name", msg("shapes.bad_name"))
    for key, allowed in (("group", GROUPS), ("writer", WRITERS), ("state", STATES)):
        if key in entry and entry[key] not in allowed:
            fail(key, msg("shapes.not_one_of", value=entry[key], allowed=", ".join(allowed)))
    return Shape(
        name=entry["name"], title=entry["title"], title_en=entry.get("title_en", ""), group=entry["group"],
        writer=entry["writer"], state=entry.get("state"), pattern=entry["pattern"], example=entry["example"],
        tokens=_tokens(entry["pattern"], fail),
    )


# ----- the pieces of a regular expression -------------------------------------------------------

# A letter that is not ASCII; `typed_value` then requires Chinese where the type says so. (A class
# of the Chinese ranges themselves costs milliseconds to compile, per shape, at every start.)
_WIDE_LETTER = r"[^\W\d_A-Za-z]"
_ACCOUNT_PART = r"[A-Za-z0-9@._-]+"
PLAIN_PATTERNS: dict[str, str] = {
    "yuan": r"\d{1,12}(?:\.\d{1,2})?",
    "int": r"\d{1,12}",
    "code": r"[A-Za-z0-9-]+",
    "order": r"[A-Za-z0-9]+",
    "account": rf"(?:{_WIDE_LETTER}{{1,8}})?{_ACCOUNT_PART}(?: {_ACCOUNT_PART})*",
    "name": rf"{_WIDE_LETTER}(?:(?:{_WIDE_LETTER}|·){{0,4}}{_WIDE_LETTER})?",
    "phone": r"\+?[0-9][0-9 -]{3,18}[0-9]",
}
_EXCLUDED = {"text": SEPARATORS + "\n", "address": ",+\n"}


def _chinese(char: str) -> bool:
    # Compared by hand: a regular expression of these ranges took every command that reads shapes 2 ms to compile.
    return "\u3400" <= char <= "\u4dbf" or "\u4e00" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def _chinese_where_wide(text: str) -> bool:
    """The non-ASCII letters of a name or a bank's short name are Chinese characters."""
    return all(_chinese(c) for c in text if not c.isascii() and c != "·")


def _free(excluded: str, greedy: bool) -> str:
    """Free text without `excluded`, blanks at neither end; lazy, so the literal after it decides."""
    chars = f"[^{re.escape(excluded)}]"
    return rf"(?!\s){chars}+{'' if greedy else '?'}(?<!\s)"


def _agent_pattern(following: str, greedy: bool) -> str:
    """A writer's name: free text holding a letter (whether it is on the roster is checked after)."""
    excluded = SEPARATORS + "_\n" + following
    return rf"(?=[^{re.escape(excluded)}]*?[^\W\d_])" + _free(excluded, greedy)


def date_pattern(date_format: str) -> str:
    out: list[str] = []
    position = 0
    widths = {"Y": r"\d{4}", "y": r"\d{2}", "m": r"\d{1,2}", "d": r"\d{1,2}", "H": r"\d{1,2}", "M": r"\d{2}",
              "%": "%"}
    for found in _DIRECTIVE.finditer(date_format):
        out.append(re.escape(date_format[position:found.start()]))
        out.append(widths[found.group(1)])
        position = found.end()
    out.append(re.escape(date_format[position:]))
    return "".join(out)


@functools.lru_cache(maxsize=4096)  # a desk writes the same few dates on thousands of remarks
def canonical_date(text: str, date_format: str) -> str | None:
    """The date as `date_format` writes it (`1.5` -> `01.05`), or None when it is no date."""
    has_year = "%Y" in date_format or "%y" in date_format
    try:
        # A year-less format is read in a leap year, so that 02.29 is a date.
        moment = dt.datetime.strptime(text if has_year else f"2000 {text}",
                                      date_format if has_year else f"%Y {date_format}")
    except ValueError:
        return None
    return moment.strftime(date_format)


def _next_char(tokens: Sequence[Token], index: int) -> str:
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    return following[0] if isinstance(following, str) else ""


def _token_regex(tokens: Sequence[Token], index: int, date_format: str, greedy: bool) -> str:
    token = tokens[index]
    if isinstance(token, str):
        return re.escape(token)
    group = f"(?P<f_{token.name}>"
    following = _next_char(tokens, index)
    if token.name == "agent":
        return group + _agent_pattern(following, greedy) + ")"
    if token.name == "date":
        return group + date_pattern(date_format) + ")"
    if token.type == "choice":
        return group + "|".join(re.escape(c) for c in sorted(token.choices, key=lambda c: -len(c))) + ")"
    if token.type in _EXCLUDED:
        barred = f"(?!{'|'.join(re.escape(word) for word in token.barred)})" if token.barred else ""
        return group + barred + _free(_EXCLUDED[token.type] + following, greedy) + ")"
    return group + PLAIN_PATTERNS[token.type] + ")"


@lru_cache(maxsize=4096)
def _compiled(shape: Shape, count: int, date_format: str, greedy_last: bool) -> re.Pattern[str]:
    """The regex of the first `count` tokens of `shape` (the last one greedy when asked, for lint).

    Compiled on first use only: the classes of Chinese characters take milliseconds each.
    """
    parts = [_token_regex(shape.tokens, i, date_format, greedy_last and i == count - 1) for i in range(count)]
    return re.compile("".join(parts))


# ----- values -------------------------------------------------------------------------------

def _money(value: object) -> Decimal | None:
    if isinstance(value, Decimal):
        return value.quantize(CENT) if value == value.quantize(CENT) else None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = fold(str(value))
    if not re.fullmatch(PLAIN_PATTERNS["yuan"], text):
        return None
    try:
        return Decimal(text).quantize(CENT)
    except InvalidOperation:  # pragma: no cover - the pattern excludes it
        return None


def typed_value(shape: Shape, item: Field, raw: object) -> Any:
    """A field's value, checked and in canonical form; `InvalidInput` naming the field if it does not fit."""
    if item.type == "yuan":
        amount = _money(raw)
        if amount is None or amount < 0:
            raise InvalidInput(msg("shapes.value_yuan", field=item.name, value=raw))
        return amount
    if item.type == "int":
        text = fold(str(raw))
        if isinstance(raw, bool) or not re.fullmatch(PLAIN_PATTERNS["int"], text):
            raise InvalidInput(msg("shapes.value_int", field=item.name, value=raw))
        return int(text)
    if not isinstance(raw, str):
        raise InvalidInput(msg("shapes.value_text", field=item.name, value=raw))
    text = fold(raw)
    if not text:
        raise InvalidInput(msg("shapes.value_empty", field=item.name))
    if item.type == "choice":
        if text not in item.choices:
            raise InvalidInput(msg("shapes.value_choice", field=item.name, value=raw, allowed="/".join(item.choices)))
        return text
    if item.type in _EXCLUDED:
        index = shape.tokens.index(item)
        following = _next_char(shape.tokens, index)
        banned = sorted({c for c in text if c in _EXCLUDED[item.type] + following})
        if banned:
            raise InvalidInput(msg("shapes.value_separator", field=item.name, chars=" ".join(banned)))
        return text
    if not re.fullmatch(PLAIN_PATTERNS[item.type], text) or not _chinese_where_wide(text):
        raise InvalidInput(msg(f"shapes.value_{item.type}", field=item.name, value=raw))
    return text


def shown_value(value: Any) -> str:
    return format_money(value) if isinstance(value, Decimal) else str(value)


# ----- results -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Parsed:
    shape: Shape
    # Field name -> typed value (money as Decimal); `agent` and `date` as written, canonical.
    values: dict[str, Any]

    def json(self) -> dict[str, Any]:
        return {"shape": self.shape.name, "title": self.shape.title, "group": self.shape.group,
                "writer": self.shape.writer, "values": {k: shown_value(v) for k, v in self.values.items()}}


@dataclass(frozen=True)
class Departure:
    """Where a text stops fitting its nearest shape: `offset` characters of it fit (as typed)."""

    shape: Shape | None
    offset: int
    expected: str
    found: str
    # How much of the text the shape accounts for: all of it when only a value is wrong (a date 13.45).
    reach: int = field(default=0, compare=False)

    def describe(self) -> str:
        if self.shape is None:
            return msg("shapes.fits_none")
        found = msg("shapes.text_ends") if not self.found else f"「{self.found}」"
        return msg("shapes.departs", shape=self.shape.name, title=self.shape.shown_title(), offset=self.offset,
                   expected=self.expected, found=found)

    def json(self) -> dict[str, Any]:
        return {"nearest": self.shape.name if self.shape else None, "offset": self.offset,
                "expected": self.expected, "found": self.found}


# ----- the catalogue -----------------------------------------------------------------------------

@dataclass
class Shapes:
    """Every declared shape, for one date format; `names` restricts `{agent}` to the roster's names."""

    shapes: list[Shape]
    date_format: str = EXAMPLE_DATE_FORMAT
    _by_name: dict[str, Shape] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name = {s.name: s for s in self.shapes}

    @classmethod
    def from_template(cls, data: Mapping[str, Any], date_format: str = EXAMPLE_DATE_FORMAT, *,
                      examples: bool = True) -> Shapes:
        """The declarations, validated: every example must render from its own values and read as its shape
        (`examples=False` leaves that to `check` and `remark kinds`: matching 39 examples costs ~90 ms, most
        of a one-remark command)."""
        entries = data.get("shapes")
        if not isinstance(entries, list) or not entries:
            raise ShapeError(0, None, None, msg("shapes.none"))
        unknown = sorted(set(data) - {"shapes"})
        if unknown:
            raise ShapeError(0, None, None, msg("shapes.unknown_top", keys=", ".join(unknown)))
        shapes: list[Shape] = []
        seen: dict[str, int] = {}
        for index, entry in enumerate(entries):
            shape = _shape(index, entry)
            if shape.name in seen:
                raise ShapeError(index, shape.name, "name", msg("shapes.duplicate", other=seen[shape.name]))
            seen[shape.name] = index
            shapes.append(shape)
        if examples:
            verifier = cls(shapes, EXAMPLE_DATE_FORMAT)
            for index, shape in enumerate(shapes):
                verifier._check_example(index, shape)
        return cls(shapes, date_format)

    def _check_example(self, index: int, shape: Shape) -> None:
        values = self.match(shape, shape.example)
        if values is None:
            departure = self.departure_from(shape, shape.example)
            raise ShapeError(index, shape.name, "example", msg("shapes.example_unfit", why=departure.describe()))
        try:
            fields = {k: v for k, v in values.items() if k not in AUTO_FIELDS}
            rendered = self.render(shape, fields, values.get("agent", ""), values.get("date", ""))
        except InvalidInput as err:
            raise ShapeError(index, shape.name, "example", str(err)) from None
        if rendered != shape.example:
            raise ShapeError(index, shape.name, "example", msg("shapes.example_renders", text=rendered))

    def __iter__(self) -> Iterator[Shape]:
        return iter(self.shapes)

    def get(self, name: str) -> Shape | None:
        return self._by_name.get(name)

    def find(self, name: str) -> Shape:
        """A shape by its name or its Chinese title; `InvalidInput` listing the choices otherwise."""
        shape = self._by_name.get(name.strip()) or next((s for s in self.shapes if s.title == name.strip()), None)
        if shape is None:
            raise InvalidInput(msg("shapes.unknown", name=name))
        return shape

    # ----- render ---------------------------------------------------------------------------
    def values_for(self, shape: Shape, given: Mapping[str, object]) -> dict[str, Any]:
        """Every field of `shape` from `given`, typed; one `InvalidInput` for the first bad one."""
        for name in given:
            if name in AUTO_FIELDS:
                raise InvalidInput(msg("shapes.value_auto", field=name))
            if not any(f.name == name for f in shape.fields):
                fields = ", ".join(f.spec for f in shape.fields) or "-"
                raise InvalidInput(msg("shapes.value_unknown", field=name, shape=shape.name, fields=fields))
        values: dict[str, Any] = {}
        for item in shape.fields:
            if item.name not in given:
                raise InvalidInput(msg("shapes.value_missing", field=item.name, shape=shape.name,
                                       pattern=shape.pattern))
            values[item.name] = typed_value(shape, item, given[item.name])
        return values

    def render(self, shape: Shape, given: Mapping[str, object], agent: str, date: str) -> str:
        """The remark text; refused (naming the field) when it would not read back as the same values."""
        values = self.values_for(shape, given)
        agent = fold(agent)
        uses_agent = any(isinstance(t, Field) and t.name == "agent" for t in shape.tokens)
        if uses_agent and (any(c in SEPARATORS + "_\n" for c in agent) or not re.search(r"[^\W\d_]", agent)):
            raise InvalidInput(msg("shapes.value_agent", value=agent))
        parts: list[str] = []
        for token in shape.tokens:
            if isinstance(token, str):
                parts.append(token)
            elif token.name == "agent":
                parts.append(agent)
            elif token.name == "date":
                parts.append(date)
            else:
                parts.append(shown_value(values[token.name]))
        text = "".join(parts)
        back = self.parse(text, names={agent} if uses_agent else None)
        if back is None:
            # Say which shape the values come near to (扣除余额 with no 还剩余额 is a balance deduction).
            departure = self.lint(text, names={agent} if uses_agent else None)
            if departure is not None and departure.shape is not None and departure.shape is not shape:
                raise InvalidInput(msg("remark.parse_unfit", text=text, why=departure.describe()))
        if back is None or back.shape is not shape or {k: v for k, v in back.values.items()
                                                       if k not in AUTO_FIELDS} != values:
            if back is not None and back.shape is not shape:
                raise InvalidInput(msg("shapes.reads_as", shape=shape.name, other=back.shape.name, text=text))
            raise InvalidInput(msg("shapes.ambiguous", shape=shape.name, text=text))
        return text

    # ----- parse ----------------------------------------------------------------------------
    def match(self, shape: Shape, text: str, names: Collection[str] | None = None) -> dict[str, Any] | None:
        """The values of `text` read as `shape` (folded first), or None when it does not fit."""
        return self._match_folded(shape, fold(text), names)

    def _match_folded(self, shape: Shape, folded: str, names: Collection[str] | None) -> dict[str, Any] | None:
        if any(literal not in folded for literal in shape.literals):
            return None
        found = _compiled(shape, len(shape.tokens), self.date_format, False).fullmatch(folded)
        if found is None:
            return None
        values: dict[str, Any] = {}
        for token in shape.fields_with_auto:
            raw = found.group(f"f_{token.name}")
            if not self._converts(shape, token, raw, names):
                return None
            if token.name == "date":
                values["date"] = canonical_date(raw, self.date_format)
            elif token.name == "agent":
                values["agent"] = raw
            else:
                values[token.name] = typed_value(shape, token, raw)
        return values

    def parse(self, text: str, names: Collection[str] | None = None) -> Parsed | None:
        """The shape `text` fits and its values; the most specific shape when several fit."""
        folded = fold(text)
        fitting = [(shape, values) for shape in self.shapes
                   if (values := self._match_folded(shape, folded, names)) is not None]
        if not fitting:
            return None
        shape, values = max(fitting, key=lambda sv: sv[0].literal_size)
        return Parsed(shape, values)

    # ----- lint and fix ---------------------------------------------------------------------
    def departure_from(self, shape: Shape, text: str, names: Collection[str] | None = None) -> Departure:
        """How far `text` fits `shape`, and what the shape expects where it stops."""
        folded, where = _fold_with_positions(text)
        whole = _compiled(shape, len(shape.tokens), self.date_format, False).fullmatch(folded)
        if whole is not None:
            # The text has the shape's form, but a value is no value of its type (a date 13.45, say).
            for token in shape.fields_with_auto:
                raw = whole.group(f"f_{token.name}")
                if self._converts(shape, token, raw, names):
                    continue
                start = whole.start(f"f_{token.name}")
                offset = where[start]
                # Any text is a name, so a shape that is a name alone is not near to text that is none.
                near = shape.literal_size > 0 or token.name != "agent"
                return Departure(shape, offset, self._describe_field(token, names), text[offset:offset + 8].rstrip(),
                                 reach=len(text) if near else 0)
        # Fitting a prefix of the tokens is monotone: if k tokens fit, so do k-1. Search for the most.
        low, high, end = 0, len(shape.tokens), 0
        while low < high:
            middle = (low + high + 1) // 2
            found = _compiled(shape, middle, self.date_format, True).match(folded)
            if found and not (names is None or "f_agent" not in found.re.groupindex
                              or found.group("f_agent") in names):
                found = None  # the name it is signed with is no name on the roster
            if found:
                low, end = middle, found.end()
            else:
                high = middle - 1
        fitted = low
        following = shape.tokens[fitted] if fitted < len(shape.tokens) else None
        if isinstance(following, str):
            literal = following
            common = 0
            while common < len(literal) and folded[end + common:end + common + 1] == literal[common]:
                common += 1
            end += common
            expected = f"「{literal[common:]}」"
        elif following is not None:
            expected = self._describe_field(following, names)
        else:
            expected = msg("shapes.line_end")
        offset = where[end] if end < len(where) else len(text.rstrip())
        return Departure(shape, offset, expected, text[offset:offset + 8].rstrip(), reach=offset)

    def _converts(self, shape: Shape, token: Field, raw: str, names: Collection[str] | None) -> bool:
        if token.name == "agent":
            return names is None or raw in names
        if token.name == "date":
            return canonical_date(raw, self.date_format) is not None
        try:
            typed_value(shape, token, raw)
        except InvalidInput:
            return False
        return True

    def _describe_field(self, token: Field, names: Collection[str] | None) -> str:
        if token.name == "agent" and names is not None:
            shown = "、".join(sorted(names)[:4]) + ("…" if len(names) > 4 else "")
            return msg("shapes.expect_agent", names=shown)
        if token.name == "date":
            return msg("shapes.expect_date", example=dt.date(2026, 11, 23).strftime(self.date_format))
        return token.spec

    def lint(self, text: str, names: Collection[str] | None = None) -> Departure | None:
        """None when `text` fits a shape; else the nearest shape and where the text departs from it."""
        if self.parse(text, names) is not None:
            return None
        best: Departure | None = None
        for shape in self.shapes:
            departure = self.departure_from(shape, text, names)
            if best is None or departure.reach > best.reach:
                best = departure
        if best is None or best.reach == 0:
            return Departure(None, 0, "", text[:8])
        return best

    def fix(self, text: str, names: Collection[str] | None = None) -> str:
        """The canonical text of the shape `text` fits; text that fits none is left as it is."""
        parsed = self.parse(text, names)
        if parsed is None:
            return text
        values = {k: v for k, v in parsed.values.items() if k not in AUTO_FIELDS}
        try:
            return self.render(parsed.shape, values, parsed.values.get("agent", ""), parsed.values.get("date", ""))
        except InvalidInput:
            return text  # cannot happen for a text that parses; never lose what was typed


class TemplateError(RecordError):
    """A shape declaration of the ledger's templates/remarks.toml that cannot be used, with where it is."""

    def __init__(self, path: Path, line: int | None, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(path, line, message)
        self.loc = loc


def writer_mismatch(shape: Shape, role: str) -> bool:
    """The writer rule (谁处理,谁备注): an assistant's remark by someone else, or the reverse."""
    if shape.writer == "assistant":
        return role != "assistant"
    if shape.writer == "supervisor":
        return role not in ("supervisor", "admin")
    return role == "assistant"


def load_shapes(ledger: Ledger, *, examples: bool = False) -> Shapes:
    """The ledger's shapes (its own templates/remarks.toml, else the packaged one), validated; with
    `examples`, every example is also matched against its shape (`check`, `remark kinds`)."""
    from csctl.storage.locate import key_lines, line_of

    date_format = ledger.config.remarks.date_format
    data = ledger.template(TEMPLATE)
    try:
        return Shapes.from_template(data, date_format, examples=examples)
    except ShapeError as err:
        path = ledger.templates / TEMPLATE
        if not path.is_file():
            raise
        loc: tuple[str | int, ...] = ("shapes", err.index, *((err.key,) if err.key else ()))
        line = line_of(key_lines(path.read_text(encoding="utf-8")), loc)
        raise TemplateError(path, line, str(err), loc) from None
