"""Shared widgets: the sidebar, error guard, takeaways, KPI cards and rate tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

import churn_core as cc
from churn_core.plots import Labels

from . import fmt, state
from .cache import cached
from .i18n import LANGUAGES, current_language, error_text, has_key, t, tm


def page_header(title_key: str, caption_key: str) -> None:
    """Every page starts here: make sure app.py ran, then the translated title and caption."""
    if getattr(PagesManager, "uses_pages_directory", False):  # private; tests/browser pins the behaviour
        # A deep link (e.g. /drivers) reached a page before app.py ever called st.navigation in this
        # server process, so Streamlit ran the page alone, its old pages/-folder routing. Turn that
        # routing off and rerun: the rerun goes through app.py, with its sidebar and language.
        PagesManager.uses_pages_directory = False
        st.rerun()
    st.title(t(title_key))
    st.caption(t(caption_key))


def keep_choice(key: str, options, default):
    """Call before drawing the keyed choice widget ``key`` whose options are worded (and give it no ``index`` or
    ``default``): keep its state one of ``options`` (else ``default``; a list for a multiselect) and send it to
    the browser again.

    The browser holds a choice as its worded label, so after a language switch it would send back a label of
    the old language, which matches no option and reaches the page as that label ('The active data (v1)').
    Setting the state each run makes the browser show the choice in the language the page is drawn in.
    """
    value = st.session_state.get(key, default)
    if isinstance(default, list):  # a multiselect: keep the chosen options that still are options
        value = [v for v in value if v in options] if isinstance(value, list) else default
    elif value not in options:
        value = default
    st.session_state[key] = value
    return value


def language_switch() -> None:
    lang = current_language()
    choice = st.sidebar.radio(t("sidebar.language"), list(LANGUAGES), index=list(LANGUAGES).index(lang),
                              format_func=LANGUAGES.get, horizontal=True, key="lang_choice")
    if choice != lang:
        st.session_state["lang"] = choice
        st.query_params["lang"] = choice
        st.rerun()


def dataset_sidebar() -> None:
    with guard():
        version = state.active_version()
        data = state.active_dataset()
        roles = data.roles
    st.sidebar.subheader(t("sidebar.dataset"))
    st.sidebar.markdown(tm("sidebar.dataset_line", name=version.name, version=version.version,
                          rows=fmt.count(version.rows)))
    if data.events is not None:  # a visit log: what churn means here
        st.sidebar.caption(t("sidebar.events", window=data.events.window_days, lookback=data.events.lookback_days))
    elif roles.target:
        st.sidebar.caption(tm("sidebar.roles", target=roles.target, positive=roles.positive_label))


@contextmanager
def guard() -> Iterator[None]:
    """Show a churn_core error in the user's language and stop the page; anything else is a bug."""
    try:
        yield
    except cc.ChurnCoreError as err:
        st.error(error_text(err))
        st.stop()


class _FrozenFigure(go.Figure):
    """A cached figure whose ``to_dict()`` is computed once.

    st.plotly_chart calls ``to_dict()`` on every rerun: a deep copy of the figure plus a base64
    encoding of every array, the largest part of a warm rerun. A cached figure is read-only, so its
    dict can be computed once and handed out as it is. Nothing may modify the figure or that dict.

    The dict leaves out the figure's plotly template (about 7 KB of the 8.5 KB a bar chart sends, encoded
    and hashed on every rerun): the page draws charts in Streamlit's theme, which sets the same
    backgrounds, grid and fonts. Colours, sizes and fonts the builders set themselves are kept.
    """

    def __init__(self, fig: go.Figure):
        super().__init__(fig)
        self._frozen = fig.to_dict()
        self._frozen.get("layout", {}).pop("template", None)

    def to_dict(self) -> dict:
        return self._frozen


@cached(scope="args", worded=True, max_entries=512)
def _build(name: str, args: tuple, kwargs: dict) -> _FrozenFigure:
    from churn_core import plots

    return _FrozenFigure(getattr(plots, name)(*args, **kwargs))


def figure(builder, *args, **kwargs) -> go.Figure:
    """``builder(*args, **kwargs)`` for a churn_core.plots builder, cached (read-only, ``ui.cache``) by its
    arguments and the language: built once for the same (cached, never modified) data and labels."""
    return _build(builder.__name__, args, kwargs)


def chart(builder, *args, key: str, container=None, **kwargs) -> None:
    """``st.plotly_chart(builder(*args, **kwargs), key=key)``, the figure cached (see ``figure``)."""
    (container or st).plotly_chart(figure(builder, *args, **kwargs), key=key)


def labels(title: str, *, x: str = "", y: str | None = None) -> Labels:
    return Labels(title=title, x=x, y=t("common.churn_rate") + " (%)" if y is None else y, small=t("common.few"),
                  overall=t("common.overall"), threshold=t("common.threshold"), customers=t("common.customers"),
                  lang=current_language())


def takeaway(text: str, *, small: bool = False) -> None:
    st.markdown(f"**{text}**" + (t("takeaway.few_suffix") if small else ""))


def contrast_text(column: str, c: cc.Contrast | None, *, key: str = "takeaway.contrast") -> str:
    if c is None:
        return ""
    if c.ratio is None and key == "takeaway.contrast":
        key = "takeaway.contrast_noratio"
    return tm(key, column=column, high=c.high, high_rate=fmt.pct(c.high_rate), low=c.low,
             low_rate=fmt.pct(c.low_rate), ratio=fmt.ratio(c.ratio), n=fmt.count(c.high_customers))


def threshold_text(result: cc.ThresholdResult) -> str:
    """The threshold takeaway; a count (the service-call column) is worded as "N times or more"."""
    if result.threshold is None:
        return tm("takeaway.no_threshold", column=result.column)
    counts = result.column == state.active_dataset().roles.service_calls
    return tm("takeaway.threshold_count" if counts else "takeaway.threshold", threshold=f"{result.threshold:g}",
             column=result.column,
             above=fmt.pct(result.rate_at_or_above), below=fmt.pct(result.rate_below),
             ratio=fmt.ratio(result.lift), n=fmt.count(result.customers_at_or_above))


def driver_text(row: pd.Series) -> str:
    """The takeaway for one row of the driver ranking, worded for its kind."""
    if row["kind"] == "categorical":
        return tm("takeaway.drivers_categorical", column=row["column"], auc=f"{row['auc']:.3f}",
                 level=row["top_level"] if isinstance(row["top_level"], str) else "")
    as_share = fmt.pct if row["kind"] == "flag" else fmt.mean
    return tm(f"takeaway.drivers_{row['kind']}", column=row["column"], r=f"{row['correlation']:+.3f}",
             churned=as_share(row["mean_churned"]), retained=as_share(row["mean_retained"]))


def segment_name(key: str, name: str) -> str:
    """A segment's name in the user's language (its declared name for segments without a translation)."""
    return t(f"segment.{key}") if has_key(f"segment.{key}") else name


def kpi_row(items: list[tuple[str, str, str | None]]) -> None:
    """KPI cards: (label, value, help)."""
    for col, (label, value, help_text) in zip(st.columns(len(items)), items):
        col.metric(label, value, help=help_text, border=True)


def rate_table(table: pd.DataFrame, *, label: str, label_title: str, names: list[str] | None = None,
               extra: dict[str, str] | None = None) -> None:
    """A rate table with the interval as text and small groups marked; ``names`` relabel the rows. The table
    as shown is built once per table and language (``ui.cache``)."""
    view, config = _rate_view(table, label=label, label_title=label_title, names=names, extra=extra)
    st.dataframe(view, hide_index=True, column_config=config, width="stretch")


@cached(scope="args", worded=True, max_entries=256)
def _rate_view(table: pd.DataFrame, *, label: str, label_title: str, names: list[str] | None,
               extra: dict[str, str] | None) -> tuple[pa.Table, dict]:
    view = pd.DataFrame({
        label_title: names if names is not None else table[label].astype(str).tolist(),
        t("col.customers"): table["customers"],
        t("col.churners"): table["churners"],
        t("col.churn_rate"): table["churn_rate"] * 100,
        t("col.ci"): [f"{fmt.pct(lo)} – {fmt.pct(hi)}" for lo, hi in zip(table["ci_low"], table["ci_high"])],
    })
    for source, title in (extra or {}).items():
        view[title] = table[source]
    view[t("col.small")] = table["small"]
    config = {t("col.churn_rate"): st.column_config.NumberColumn(format="%.2f%%"),
              t("col.customers"): st.column_config.NumberColumn(format="localized"),
              t("col.churners"): st.column_config.NumberColumn(format="localized")}
    for source, title in (extra or {}).items():
        config[title] = st.column_config.NumberColumn(format="percent" if source == "share" else "%.2f")
    # An Arrow table: st.dataframe sends it as it is, where a DataFrame is converted on every rerun.
    return pa.Table.from_pandas(view, preserve_index=False), config


def driver_table(drivers: cc.DriverRanking) -> None:
    """The driver ranking as a table, its columns and kinds in the user's language (built once per ranking)."""
    view = _driver_view(drivers)
    config = {t(f"col.{c}"): st.column_config.NumberColumn(format="%.3f")
              for c in ("correlation", "auc", "effect_size")}
    st.dataframe(view, hide_index=True, width="stretch", height=35 * (view.num_rows + 1) + 3, column_config=config)


@cached(scope="args", worded=True, max_entries=32)
def _driver_view(drivers: cc.DriverRanking) -> pa.Table:
    shown = ("column", "kind", "correlation", "auc", "mean_churned", "mean_retained", "effect_size")
    table = drivers.table[list(shown)].copy()
    for c in ("mean_churned", "mean_retained"):  # any size (a share, a balance), and none for a category: text
        table[c] = [fmt.mean(None if pd.isna(v) else float(v)) for v in table[c]]
    view = table.rename(columns={c: t(f"col.{c}") for c in shown})
    kinds = {k: t(f"drivers.kind.{k}") for k in ("numeric", "flag", "categorical")}
    view[t("col.kind")] = view[t("col.kind")].map(kinds).fillna(view[t("col.kind")])
    return pa.Table.from_pandas(view, preserve_index=False)
