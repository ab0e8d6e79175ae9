"""ui.fmt: numbers as the pages show them."""

import math

import pytest

from ui import fmt


@pytest.mark.parametrize(("value", "lang", "shown"), [
    pytest.param(46_349.2, "en", "46.3K", id="en-thousands"),
    pytest.param(46_349.2, "zh", "4.63万", id="zh-wan"),
    pytest.param(37_600_000, "en", "37.6M", id="en-millions"),
    pytest.param(376_000_000, "zh", "3.76亿", id="zh-yi"),
    pytest.param(37_600_000, "zh", "3,760万", id="zh-three-significant-digits"),
    pytest.param(9_999, "en", "9,999", id="en-small-stays-whole"),
    pytest.param(float("nan"), "en", "–", id="missing"),
])
def test_amount(value, lang, shown):
    assert fmt.amount(value, lang=lang) == shown


def test_pct_count_ratio():
    assert fmt.pct(0.140706, digits=2) == "14.07%"
    assert fmt.count(4250) == "4,250"
    assert fmt.ratio(4.6418) == "4.6"
    assert fmt.ratio(math.nan) == "–" and fmt.pct(None) == "–"
