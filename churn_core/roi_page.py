"""The ROI page's one-page export, worded and formatted without Streamlit: the ROI page and the
``roi --pdf/--png`` command both build their :class:`~churn_core.onepager.OnePage` here.

A business case becomes big numbers (:func:`kpis`), its assumptions (:func:`assumptions`) and one chart:
the expected campaign profit by share of customers contacted when a model's profit curve is given
(:func:`curve_chart`), else the cumulative net benefit month by month (:func:`cash_chart`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .i18n import check_language, format_amount, text
from .roi import BusinessCase, ProfitCurve, summary_text

# churn_core.onepager (fpdf2, PDFium, fontTools) loads when a chart or page is built, not with the ROI page.
if TYPE_CHECKING:
    from .onepager import Chart, OnePage


def money(x: float | None, currency: str, *, lang: str = "en") -> str:
    """An amount with its currency, the sign first: −¥26.7万, $1.2M."""
    if x is None:
        return "–"
    return ("−" if x < 0 else "") + f"{currency}{format_amount(abs(x), lang=lang)}"


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _count(n: float) -> str:
    return f"{round(n):,}"


def payback_words(case: BusinessCase, *, lang: str = "en") -> str:
    """The payback as a KPI value: "2.6 months", "Immediate", "> 3 yr" (not within the horizon: short enough
    for a KPI card at 1400 px)."""
    if case.payback_months is None:
        return text("roi.payback_never", lang=lang, years=f"{case.inputs.horizon_years:g}")
    return text("roi.payback_now", lang=lang) if case.payback_months == 0 else \
        text("roi.payback_months", lang=lang, m=f"{case.payback_months:.1f}")


def kpis(case: BusinessCase, *, lang: str = "en", currency: str = "") -> tuple[tuple[str, str], ...]:
    """(label, value): customers saved, value retained, net benefit, ROI and payback."""
    roi = text("roi.no_cost", lang=lang) if case.roi is None else f"{case.roi:.0%}"
    return ((text("roi.k_saved", lang=lang), _count(case.customers_saved)),
            (text("roi.k_retained", lang=lang), money(case.value_retained, currency, lang=lang)),
            (text("roi.k_net", lang=lang), money(case.net_benefit, currency, lang=lang)),
            (text("roi.k_roi", lang=lang), roi),
            (text("roi.k_payback", lang=lang), payback_words(case, lang=lang)))


def assumptions(case: BusinessCase, *, source: str, lang: str = "en", currency: str = "",
                acceptance: float | None = None) -> tuple[tuple[str, str], ...]:
    """(name, value) pairs of what the case assumes; ``source`` is "model", "manual" or "reach" (where the
    effect comes from), ``acceptance`` the offer acceptance a model-driven case assumes."""
    i = case.inputs

    def row(key: str, value: str) -> tuple[str, str]:
        return text(f"roi.a.{key}", lang=lang), value

    rows = [row("source", text(f"roi.source.{source}", lang=lang)), row("customers", _count(i.customers)),
            row("baseline_churn", _pct(i.baseline_churn)), row("target_churn", _pct(case.target_churn)),
            row("ltv", money(i.resolved_ltv, currency, lang=lang)),
            row("investment", money(i.investment, currency, lang=lang)),
            row("annual_cost", money(i.annual_cost, currency, lang=lang)),
            row("horizon", text("roi.years", lang=lang, n=i.horizon_years)),
            row("lifetime_years", text("roi.years", lang=lang, n=f"{case.lifetime_years:g}"))]
    if i.contacted:
        rows += [row("contacted", _count(i.contacted)), row("contact_cost", money(i.contact_cost, currency, lang=lang)),
                 row("incentive_cost", money(i.incentive_cost, currency, lang=lang))]
    if source == "model" and acceptance is not None:
        rows.append(row("acceptance", _pct(acceptance)))
    return tuple(rows)


def _money_ticks(low: float, high: float, currency: str, *, lang: str) -> tuple[tuple[float, str], ...]:
    """Round y ticks from ``low`` to ``high``, labelled as money the way the page's charts label them."""
    from .plots import money_tick, nice_ticks

    return tuple((v, money_tick(v, currency, lang=lang)) for v in nice_ticks(min(low, 0.0), max(high, 0.0)))


def cash_chart(case: BusinessCase, *, lang: str = "en", currency: str = "") -> Chart:
    """Cumulative net benefit by month (:meth:`BusinessCase.cumulative`), the payback marked."""
    from .onepager import Chart

    table = case.cumulative()
    last = int(table["month"].iloc[-1])
    low, high = float(table["net"].min()), float(table["net"].max())
    payback = case.payback_months
    marker = None if payback is None or payback > last else \
        (payback, 0.0, f"{text('roi.k_payback', lang=lang)}: {payback_words(case, lang=lang)}")
    return Chart(x=tuple(table["month"].astype(float)), y=tuple(table["net"]), x_label=text("roi.payback_x", lang=lang),
                 y_label=text("roi.payback_y", lang=lang), marker=marker,
                 x_ticks=tuple((m, str(m)) for m in range(0, last + 1, max(last // 6, 1))),
                 y_ticks=_money_ticks(low, high, currency, lang=lang))


def curve_chart(curve: ProfitCurve, *, customers: int, lang: str = "en", currency: str = "") -> Chart:
    """Expected campaign profit by share of ``customers`` contacted, with its band and the optimum marked."""
    from .onepager import Chart

    table, best = curve.table, curve.best
    low, high = float(table["profit_low"].min() * customers), float(table["profit_high"].max() * customers)
    return Chart(x=tuple(table["rate"]), y=tuple(table["profit"] * customers),
                 low=tuple(table["profit_low"] * customers), high=tuple(table["profit_high"] * customers),
                 x_label=text("roi.curve_x", lang=lang), y_label=text("roi.curve_y", lang=lang),
                 x_ticks=tuple((k / 4, f"{k * 25}%") for k in range(5)),
                 y_ticks=_money_ticks(low, high, currency, lang=lang),
                 marker=(float(best["rate"]), float(best["profit"] * customers),
                         f"{text('roi.optimum', lang=lang)}: {_pct(best['rate'])}"))


def case_subtitle(preset: str | None, *, date: str, lang: str = "en") -> str:
    """The subtitle of a case without a dataset or model behind it: a published case (a key of
    churn_core.roi.PRESETS) names itself; other inputs say they are the reader's own."""
    if preset is None:
        return text("roi.pdf_subtitle_inputs", lang=lang, date=date)
    return text("roi.pdf_subtitle_case", lang=lang, case=text(f"roi.start.{preset}", lang=lang), date=date)


def export_name(preset: str | None, *, date: str) -> str:
    """The export's file name, without extension: a published case names itself."""
    return f"churn-radar-roi-{date}" if preset is None else f"churn-radar-roi-{preset}-{date}"


def one_page(case: BusinessCase, *, subtitle: str, lang: str = "en", currency: str = "", source: str = "manual",
             summary: str | None = None, curve: ProfitCurve | None = None, customers: int | None = None,
             acceptance: float | None = None) -> OnePage:
    """The business case as one worded page for churn_core.onepager.

    With ``curve`` (a model's profit curve, scaled to ``customers``) the chart is the profit curve, else the
    cumulative net benefit. ``summary`` defaults to :func:`churn_core.roi.summary_text`.
    """
    from .onepager import OnePage

    check_language(lang)
    if curve is not None:
        chart_title, chart = text("roi.pdf_curve", lang=lang), curve_chart(curve, customers=customers, lang=lang,
                                                                           currency=currency)
    else:
        chart_title, chart = text("roi.pdf_payback", lang=lang), cash_chart(case, lang=lang, currency=currency)
    return OnePage(lang=lang, title=text("roi.pdf_title", lang=lang), subtitle=subtitle,
                   kpis=kpis(case, lang=lang, currency=currency), chart_title=chart_title, chart=chart,
                   summary=summary_text(case, lang=lang, currency=currency) if summary is None else summary,
                   assumptions=assumptions(case, source=source, lang=lang, currency=currency, acceptance=acceptance),
                   footer=text("roi.pdf_footer", lang=lang))


__all__ = ["assumptions", "case_subtitle", "cash_chart", "curve_chart", "export_name", "kpis", "money",
           "one_page", "payback_words"]
