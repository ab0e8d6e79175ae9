"""Reasons of visit-log customers in plain words: "No visit for 142 days, 2.3× their usual gap".

The as-of features of a visit log (:mod:`churn_core.events.labels`) have known names; a reason whose source
is one of them is worded from the customer's own values: the reason's value and, where the sentence needs
them, other columns of the same customer's row (the usual gap beside the days since the last visit, the
previous quarter beside this one). Anything this module cannot word (an unknown source, a missing value)
gets ``None`` and the caller's generic sentence ("Tenure days 184").

Words come from the library catalog (``reason.events.<kind>`` keys), English and Simplified Chinese.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from .i18n import format_amount, has_key, text

__all__ = ["event_kind", "event_phrases"]

_WINDOW = r"_(\d+)(d|m)$"
# (pattern on the source name, kind, whether the value's place among all customers suits the sentence:
# only where the sentence's number is the source's own value); the first match wins.
_KINDS: tuple[tuple[re.Pattern, str, bool], ...] = tuple((re.compile(p), kind, placed) for p, kind, placed in (
    (r"^days_since_last_(visit|event)$", "recency", True),
    (r"^overdue_ratio$", "recency", False),
    (r"^avg_gap_days$", "gap", False),
    (r"^visits_trend(_ratio)?$", "visits_trend", False),
    (r"^spend_trend(_ratio)?$", "spend_trend", False),
    (r"^visits" + _WINDOW, "visits", True),
    (r"^spend" + _WINDOW, "spend", True),
    (r"^type_(.+)" + _WINDOW, "type", True),
    (r"^basic_share$", "basic", False),
    (r"^complaints?" + _WINDOW, "complaints", True),
    (r"^returns" + _WINDOW, "returns", True),
    (r"^first_time_fix_false" + _WINDOW, "ftf", True),
    (r"^nps_last$", "nps_last", False),
    (r"^nps_mean" + _WINDOW, "nps_mean", False),
    (r"^warranty_end_days$", "warranty", False),
    (r"^purchase_date_days$", "bought", False),
    (r"^tenure_days$", "tenure", True),
    (r"^lifecycle_stage$", "stage", False),
    (r"^avg_ticket$", "ticket", True),
))
_DAYS_PER_YEAR = 365.25


def event_kind(source: str) -> tuple[str, bool, re.Match] | None:
    """The kind of a known visit-log feature, whether its place suits the sentence, and the name's match
    (its window, its visit type); None for any other source."""
    for pattern, kind, placed in _KINDS:
        match = pattern.match(str(source))
        if match:
            return kind, placed, match
    return None


def event_phrases(source: str, values: pd.Series, points: np.ndarray, frame: pd.DataFrame | None = None,
                  rows: np.ndarray | None = None, *, lang: str = "en", currency: str = ""
                  ) -> tuple[list[str | None], bool]:
    """One phrase per reason of ``source`` (without the points), or None where it cannot be worded.

    ``values`` are the reasons' values, ``points`` their signed effects (the recency sentence differs for a
    protective reason); ``frame`` is the dataset (or None) and ``rows`` each reason's customer position in
    it: only the columns a sentence needs are read. Returns the phrases and whether the value's place among
    all customers may follow them.
    """
    found = event_kind(source)
    n = len(values)
    if found is None:
        return [None] * n, False
    kind, placed, match = found
    own = pd.to_numeric(pd.Series(values, dtype="object").reset_index(drop=True), errors="coerce").to_numpy(float)
    points = np.asarray(points, dtype=float)

    def column(name: str) -> np.ndarray:
        if name == source:
            return own
        if frame is None or rows is None or name not in frame:
            return np.full(n, np.nan)
        return pd.to_numeric(frame[name].iloc[np.asarray(rows)], errors="coerce").to_numpy(dtype=float)

    word = _Words(lang, currency)
    build: Callable[[int], str | None]
    if kind in ("recency", "gap"):
        days = column("days_since_last_visit")
        if source == "days_since_last_event":
            days = np.where(np.isnan(days), own, days)
        gap = column("avg_gap_days")
        ratio = column("overdue_ratio")
        ratio = np.where(np.isnan(ratio) & (gap > 0), days / np.where(gap > 0, gap, 1), ratio)
        build = lambda i: word.recency(days[i], ratio[i], gap[i], points[i], usual=kind == "gap")  # noqa: E731
    elif kind in ("visits_trend", "spend_trend"):
        what = kind.split("_")[0]
        now, half = column(f"{what}_90d"), column(f"{what}_180d")
        before = half - now
        if source.endswith("_ratio"):
            build = lambda i: word.trend(what, now[i], before[i], own[i])  # noqa: E731
        else:  # the change: this quarter minus the one before
            before = np.where(np.isnan(before), now - own, before)
            build = lambda i: word.trend(what, now[i], before[i], np.nan)  # noqa: E731
    elif kind in ("visits", "spend", "complaints", "returns", "ftf", "nps_mean", "type"):
        window = word.window(int(match[match.lastindex - 1]), match[match.lastindex])
        visit_type = word.visit_type(match[1]) if kind == "type" else ""
        build = lambda i: word.count(kind, own[i], window, visit_type)  # noqa: E731
    elif kind == "stage":
        stages = pd.Series(values, dtype="object").reset_index(drop=True)
        build = lambda i: word.stage(stages.iloc[i])  # noqa: E731
    else:
        build = lambda i: getattr(word, kind)(own[i])  # noqa: E731
    return [build(i) for i in range(n)], placed


def _number(x: float, digits: int = 0) -> str:
    return f"{x:,.{digits}f}"


class _Words:
    """The phrases of one language and currency."""

    def __init__(self, lang: str, currency: str):
        self.lang, self.currency = lang, currency

    def t(self, key: str, **params) -> str:
        return text(f"reason.events.{key}", lang=self.lang, **params)

    # -- quantities ----------------------------------------------------------------------------------------
    def money(self, x: float) -> str:
        size = format_amount(abs(x), lang=self.lang) if abs(x) >= 1e4 else _number(abs(x))
        return ("−" if round(x) < 0 else "") + self.currency + size

    def days(self, d: float) -> str:
        """A duration: days under a year, else years with one decimal."""
        d = abs(d)
        if round(d) < 365:
            return self.t("time.day" if round(d) == 1 else "time.days", n=_number(round(d)))
        years = d / _DAYS_PER_YEAR
        return self.t("time.year" if round(years, 1) == 1 else "time.years", n=_number(years, 1))

    def window(self, size: int, unit: str) -> str:
        if unit == "d" and size == 365:
            size, unit = 12, "m"
        return self.t("window.months" if unit == "m" else "window.days", n=size)

    def visit_type(self, name: str) -> str:
        key = f"reason.events.type_name.{name}"
        if has_key(key):
            return text(key, lang=self.lang)
        words = re.sub(r"[_\-]+", " ", name).strip()
        return f" {words} " if self.lang == "zh" else words  # a Latin word among Chinese ones gets spaces

    # -- sentences -----------------------------------------------------------------------------------------
    def recency(self, days: float, ratio: float, gap: float, points: float, *, usual: bool) -> str | None:
        if math.isnan(days):
            return None
        if round(days) <= 0:
            phrase = self.t("visited_today")
        else:
            phrase = self.t("no_visit_for" if points > 0 else "last_visit", time=self.days(days))
        if usual:
            return None if math.isnan(gap) else self.t("usual_gap", phrase=phrase, gap=self.days(gap))
        if math.isnan(ratio):
            return phrase
        return self.t("gap_ratio", phrase=phrase, ratio=_number(ratio, 1))

    def trend(self, what: str, now: float, before: float, ratio: float) -> str | None:
        if math.isnan(now) or math.isnan(before):
            if math.isnan(ratio):
                return None
            change = ratio - 1
        elif before <= 0:
            if now <= 0:
                return self.t(f"{what}_none_both")
            one = "_one" if what == "visits" and round(now) == 1 else ""
            return self.t(f"{what}_started{one}", n=_number(now), amount=self.money(now))
        elif now <= 0:
            return self.t(f"{what}_stopped", n=_number(before), amount=self.money(before))
        else:
            change = now / before - 1
        pct = round(abs(change) * 100)
        what_words = self.t(f"what.{what}")
        if pct == 0:
            return self.t("level", what=what_words)
        return self.t("up" if change > 0 else "down", what=what_words, pct=pct)

    def count(self, kind: str, x: float, window: str, visit_type: str) -> str | None:
        if math.isnan(x):
            return None
        if kind == "spend":
            return self.t("spend.none", window=window) if round(x) == 0 else \
                self.t("spend.some", window=window, amount=self.money(x))
        if kind == "nps_mean":
            return self.t("nps_mean", window=window, score=_number(x, 1))
        n = round(x)
        form = "none" if n == 0 else "one" if n == 1 else "many"
        return self.t(f"{kind}.{form}", n=_number(n), window=window, type=visit_type)

    def basic(self, share: float) -> str | None:
        if math.isnan(share):
            return None
        pct = f"{share:.0%}"
        return self.t("basic_only" if round(share, 2) >= 1 else "basic_share", share=pct)

    def nps_last(self, score: float) -> str | None:
        if math.isnan(score):
            return None
        group = "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"
        return self.t("nps_last", score=_number(score, 0 if float(score).is_integer() else 1),
                      group=self.t(f"nps.{group}"))

    def warranty(self, days: float) -> str | None:
        if math.isnan(days):
            return None
        if round(days) == 0:
            return self.t("warranty_today")
        return self.t("warranty_ended" if days < 0 else "warranty_ends", time=self.days(days))

    def bought(self, days: float) -> str | None:  # days from the as-of date: negative = in the past
        if math.isnan(days) or days > 0:
            return None
        return self.t("bought", time=self.days(days))

    def tenure(self, days: float) -> str | None:
        if math.isnan(days) or days < 0:
            return None
        return self.t("tenure", time=self.days(days))

    def ticket(self, amount: float) -> str | None:
        return None if math.isnan(amount) else self.t("ticket", amount=self.money(amount))

    def stage(self, value) -> str | None:
        if value is None or pd.isna(value) or str(value) in ("", "–"):
            return None
        key = f"reason.events.stage_name.{value}"
        stage = text(key, lang=self.lang) if has_key(key) else str(value)
        return self.t("stage", stage=stage)
