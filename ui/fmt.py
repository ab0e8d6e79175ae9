"""Number formatting for the UI: percentages, counts, money, ratios."""

from __future__ import annotations

import math

from churn_core import format_amount


def pct(x: float | None, *, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x * 100:.{digits}f}%"


def count(n: float | None) -> str:
    return "–" if n is None else f"{int(n):,}"


def ratio(x: float | None) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:.1f}"


def amount(x: float | None, *, lang: str = "en") -> str:
    """A large amount, no currency symbol (value units are the data's): 12.3K / 4.5M in English,
    1.23万 / 4.5亿 in Chinese."""
    return format_amount(x, lang=lang)


def number(x: float | None, *, digits: int = 2) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:,.{digits}f}"
