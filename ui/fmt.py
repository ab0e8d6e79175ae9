"""Number formatting for the UI: percentages, counts, money, ratios."""

from __future__ import annotations

import math


def pct(x: float | None, *, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x * 100:.{digits}f}%"


def count(n: float | None) -> str:
    return "–" if n is None else f"{int(n):,}"


def ratio(x: float | None) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:.1f}"


def amount(x: float | None) -> str:
    """A large money amount: 1,234 / 12.3K / 4.5M (no currency symbol; value units are the data's)."""
    if x is None or math.isnan(x):
        return "–"
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e4)):
        if abs(x) >= size:
            return f"{x / (1e3 if unit == 'K' else size):,.1f}{unit}"
    return f"{x:,.0f}"


def number(x: float | None, *, digits: int = 2) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:,.{digits}f}"
