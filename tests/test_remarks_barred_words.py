"""A free-text field may bar words it must not begin with, `{reason:text(!余额)}` (templates/remarks.toml):
how a general shape leaves a specific one's text, written wrongly, to be linted against that one."""

from __future__ import annotations

from typing import Any

import pytest

from csctl.domain.remark_shapes import ShapeError, Shapes
from csctl.errors import InvalidInput

BASE: dict[str, Any] = {"title": "t", "group": "price", "writer": "agent"}
DEDUCT = {**BASE, "name": "deduct", "pattern": "扣除余额{amount:yuan}元,还剩{balance:yuan}+{agent}/{date}",
          "example": "扣除余额1.00元,还剩2.00+小王/11.23"}


def shapes(pattern: str, example: str = "扣除优惠5.00元+小王/11.23") -> Shapes:
    special = {**BASE, "name": "special", "pattern": pattern, "example": example}
    return Shapes.from_template({"shapes": [special, DEDUCT]})


def test_a_barred_word_keeps_the_text_out_of_the_shape() -> None:
    catalogue = shapes("扣除{reason:text(!余额|!积分)}{amount:yuan}元+{agent}/{date}")
    special = catalogue.find("special")
    assert special.fields[0].spec == "{reason:text(!余额|!积分)}"
    assert catalogue.parse("扣除余额5元+小王/11.23", {"小王"}) is None
    assert catalogue.parse("扣除积分5元+小王/11.23", {"小王"}) is None
    parsed = catalogue.parse("扣除老顾客余额5元+小王/11.23", {"小王"})
    assert parsed is not None
    assert parsed.values["reason"] == "老顾客余额"
    departure = catalogue.lint("扣除余额5元+小王/11.23", {"小王"})
    assert departure is not None
    assert departure.shape is not None
    assert departure.shape.name == "deduct"
    with pytest.raises(InvalidInput, match="nearest deduct"):
        catalogue.render(special, {"reason": "余额", "amount": "5"}, "小王", "11.23")


@pytest.mark.parametrize("pattern", [
    "扣除{reason:text(余额)}{amount:yuan}元+{agent}/{date}",
    "扣除{reason:text(!)}{amount:yuan}元+{agent}/{date}",
    "扣除{reason:text(!余额，)}{amount:yuan}元+{agent}/{date}",
    "扣除{reason:code(!A)}{amount:yuan}元+{agent}/{date}",
])
def test_a_barred_word_is_written_with_a_bang_and_only_on_free_text(pattern: str) -> None:
    with pytest.raises(ShapeError, match="pattern"):
        shapes(pattern)


def test_an_example_that_begins_with_a_barred_word_is_refused() -> None:
    with pytest.raises(ShapeError, match="example"):
        shapes("扣除{reason:text(!余额)}{amount:yuan}元+{agent}/{date}", "扣除余额额5.00元+小王/11.23")
