"""What a report takes of a ticket or a remark file from the index (`csctl.domain.briefs`) is what it
takes from the file: each brief reads back as it was made, on the demo ledger's every file and on
random values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from csctl.domain.briefs import brief_of, decode, decode_remarks, encode, encode_remarks, whole_timing
from csctl.domain.deadlines import clockwork
from csctl.domain.remark_shapes import load_shapes
from csctl.domain.remarks import Stored, stored_remarks
from csctl.models.kinds import REMARK, TICKET
from csctl.models.records import Remark, RemarkFile, Ticket
from csctl.storage.ledger import Ledger
from csctl.storage.store import Store
from tests.conftest import REPO
from tests.test_properties import MONEY, STAMPS, texts, words

DEMO = Store(Ledger(REPO))


def test_every_demo_ticket_reads_back_from_its_brief() -> None:
    config = DEMO.ledger.config
    paths = [path for _, path in DEMO.iter_paths([TICKET])]
    assert paths
    for path in paths:
        ticket = DEMO.load(TICKET, path)
        assert isinstance(ticket, Ticket)
        made = brief_of(ticket, whole_timing(ticket, config.tickets, clockwork(config)))
        text = encode(made)
        assert text is not None, path
        assert decode(text) == made, path


def test_every_demo_remark_file_reads_back_from_its_brief() -> None:
    shapes = load_shapes(DEMO.ledger)
    paths = [path for _, path in DEMO.iter_paths([REMARK])]
    assert paths
    matched = 0
    for path in paths:
        record = DEMO.load(REMARK, path)
        assert isinstance(record, RemarkFile)
        items = stored_remarks([(record, path)], shapes)
        text = encode_remarks(items)
        assert text is not None, path
        assert decode_remarks(text, path, shapes) == items, path
        matched += sum(item.values is not None for item in items)
    assert matched  # the demo's remarks fit their shapes: values were carried, not only texts


# What a shape reads a remark's values as (`remark_shapes.typed_value`): yuan, whole numbers, text.
VALUES = st.dictionaries(st.sampled_from(["amount", "balance", "item", "count", "date", "via"]),
                         st.one_of(MONEY, st.integers(-10**6, 10**6), texts()), max_size=5)


@settings(max_examples=200, deadline=None)
@given(stamps=st.lists(STAMPS, min_size=1, max_size=4), values=st.lists(st.none() | VALUES, min_size=4, max_size=4),
       kind=words(), text=words(), buyer=st.none() | words())
def test_remarks_read_back_from_their_brief(stamps: list[dt.datetime], values: list[dict[str, Any] | None],
                                            kind: str, text: str, buyer: str | None) -> None:
    path = Path("records/remarks/2026/11/9001.toml")
    items = [Stored("9001", buyer, index, path, Remark(at=at, by="wang", kind=kind, text=text), None, found)
             for index, (at, found) in enumerate(zip(stamps, values, strict=False))]
    text_kept = encode_remarks(items)
    assert text_kept is not None
    back = decode_remarks(text_kept, path, load_shapes(DEMO.ledger))
    assert [(b.order, b.buyer, b.index, b.path, b.remark, b.values) for b in back] == [
        (i.order, i.buyer, i.index, i.path, i.remark, i.values) for i in items]
    for b, i in zip(back, items, strict=True):
        assert b.remark.at.tzinfo is i.remark.at.tzinfo  # one timezone object per offset
        for name, value in (i.values or {}).items():
            assert type(b.values[name]) is type(value)  # type: ignore[index]
            if isinstance(value, Decimal):
                assert str(b.values[name]) == str(value)  # type: ignore[index]  # its places too


def test_a_value_a_brief_cannot_carry_leaves_the_file_to_be_read() -> None:
    at = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    item = Stored("9001", None, 0, Path(), Remark(at=at, by="wang", kind="退款", text="x"), None, {"when": at})
    assert encode_remarks([item]) is None
