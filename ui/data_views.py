"""Widgets of the Data page: reading an upload, the role mapping, the validation report and drift."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import churn_core as cc

from . import actions, auth, fmt, state
from .cache import cached
from .i18n import error_text, issue_text, t, tm, wording
from .widgets import guard, keep_choice, kpi_row, takeaway

NONE = "—"
UPLOAD_TYPES = ("csv", "txt", "tsv", "gz", "zip", "xlsx", "xlsm", "parquet")


def upload_limit_mb() -> int:
    """The largest upload in MB: the server's ``server.maxUploadSize`` (.streamlit/config.toml) or churn_core's
    own limit, whichever is smaller (the widget is given it, so it refuses what either would refuse)."""
    return int(min(st.get_option("server.maxUploadSize"), cc.DEFAULT_MAX_BYTES // (1024 * 1024)))


def uploader(*, key: str = "upload", label: str = "data.upload", help_key: str = "data.upload_help"):
    """A file uploader (by default the customer file's), its texts in the session's language.

    Streamlit draws its own English inside the drop zone (the "Upload" button, "200MB per file • CSV, …",
    and "Drag and drop a file here" while a file is dragged over it). CSS scoped to this widget hides those
    and shows the catalog's instead; the size shown is :func:`upload_limit_mb`, the limit the widget is given.
    Selectors checked on Streamlit 1.67 (tests/browser/test_uploader.py fails when they stop matching).
    """
    limit = upload_limit_mb()
    st.html(_uploader_css(key, button=t("data.uploader.button"), drop=t("data.uploader.drop"),
                          limits=t("data.uploader.limits", mb=limit,
                                   types=" / ".join(kind.upper() for kind in UPLOAD_TYPES))))
    return st.file_uploader(t(label), type=list(UPLOAD_TYPES), key=key, help=t(help_key, mb=limit),
                            max_upload_size=limit)


def _css_text(text: str) -> str:
    """``text`` as a CSS string literal (quotes, backslashes and angle brackets escaped)."""
    return '"' + "".join(f"\\{ord(c):x} " if c in '\\"<>' or ord(c) < 0x20 else c for c in text) + '"'


def _uploader_css(key: str, *, button: str, limits: str, drop: str) -> str:
    zone = f'.st-key-{key} [data-testid="stFileUploaderDropzone"]'
    primary = st.get_option("theme.primaryColor") or "inherit"
    return f"""<style>
{zone} button [data-testid="stMarkdownContainer"] p {{display: none;}}
{zone} button [data-testid="stMarkdownContainer"]::after {{content: {_css_text(button)}; font-size: 0.875rem;}}
{zone} [data-testid="stFileUploaderDropzoneInstructions"] > div > span {{display: none;}}
{zone} [data-testid="stFileUploaderDropzoneInstructions"] > div::after {{content: {_css_text(limits)};
  font-size: 0.875rem; opacity: 0.7;}}
{zone} > div:not([data-testid]) > span:only-child {{display: none;}}
{zone} > div:not([data-testid]):has(> span:only-child)::after {{content: {_css_text(drop)}; color: {primary};
  font-size: 0.875rem; font-weight: 800;}}
</style>"""


@cached(scope="args", max_entries=4)
def _sheets(file_id: str, name: str, _data: bytes) -> tuple[str, ...]:
    return cc.sheet_names(_data, filename=name)


def pick_sheet(upload) -> str | None:
    """For a workbook with several sheets, a visible choice of its sheet names before anything is read (the
    page stops until one is chosen); None for a CSV or a one-sheet workbook."""
    try:
        sheets = _sheets(upload.file_id, upload.name, upload.getvalue())
    except cc.DataFormatError:
        return None  # reading the file says what is wrong with it
    if len(sheets) < 2:
        return None
    st.info(t("data.sheet_prompt", count=len(sheets)))
    sheet = st.selectbox(t("data.sheet"), sheets, index=None, placeholder=t("data.sheet_choose"),
                         key=f"sheet_{upload.file_id}")
    if sheet is None:
        st.stop()
    return sheet


@cached(scope="args", max_entries=2)
def _read(file_id: str, name: str, sheet: str | None, _data: bytes) -> cc.RawTable:
    return cc.read_table(_data, filename=name, sheet=sheet)


def read_upload(upload, *, sheet: str | None = None, status=None) -> cc.RawTable:
    """The uploaded file (the chosen sheet of a workbook) as a table. An error stops the page with its message;
    drawn inside ``status`` (the page's "Reading…" box), it opens that box and marks it failed, so the message
    is never hidden in a collapsed box."""
    try:
        return _read(upload.file_id, upload.name, sheet, upload.getvalue())
    except cc.ChurnCoreError as err:
        if status is not None:
            status.update(label=tm("data.read_failed", name=upload.name), state="error", expanded=True)
        st.error(error_text(err))
        st.stop()


def table_key(raw: cc.RawTable) -> str:
    """What identifies an upload as read: its content and, in a workbook, the sheet (two sheets of one file
    share a sha256, and must not share detected roles, checks or widgets)."""
    return raw.sha256 if raw.sheet is None else f"{raw.sha256}:{raw.sheet}"


@cached(scope="args", max_entries=16)
def detect(raw: cc.RawTable, *, target: str | None = None, positive: str | None = None,
           id_column: str | None = None) -> cc.ColumnRoles:
    """Detected roles of the upload, computed once per file (as read) and choice (not on every widget change)."""
    return cc.detect_roles(raw.frame, target=target, positive=positive, id_column=id_column)


@cached(scope="args", max_entries=8)
def inspect(raw: cc.RawTable, roles: cc.ColumnRoles) -> tuple[cc.ColumnRoles, cc.ValidationReport]:
    """The checks of the upload under this role mapping, computed once per file and mapping."""
    return cc.inspect_table(raw, roles=roles)


def _pick(label: str, options: list, default, *, key: str, help_text: str | None = None):
    choices = [NONE, *options]
    index = choices.index(default) if default in choices else 0
    choice = st.selectbox(label, choices, index=index, key=key, help=help_text)
    return None if choice == NONE else choice


def role_mapping(raw: cc.RawTable) -> cc.ColumnRoles:
    """Auto-detected roles, every one editable; returns the mapping as the analyst left it."""
    frame, key = raw.frame, f"map_{raw.sha256[:10]}_{raw.sheet or ''}"
    columns = list(frame.columns)
    with guard():
        detected = detect(raw)
    left, middle, right = st.columns(3)
    with left:
        target = _pick(t("data.role.target"), columns, detected.target, key=f"{key}_target",
                       help_text=t("data.role.target_help"))
        positive = None
        if target is not None:
            values = [str(v) for v in frame[target].dropna().astype(str).str.strip().str.lower().unique()[:20]]
            guess = detect(raw, target=target).positive_label if target != detected.target \
                else detected.positive_label
            positive = _pick(t("data.role.positive"), values, guess, key=f"{key}_positive_{target}")
        id_column = _pick(t("data.role.id"), columns, detected.id, key=f"{key}_id")
    with guard():
        base = detect(raw, target=target, positive=positive, id_column=id_column)
    numeric = [c for c in base.numeric]
    with middle:
        flags = st.multiselect(t("data.role.plan_flags"), [c for c in columns if c not in (target, id_column)],
                               default=list(base.plan_flags), key=f"{key}_flags",
                               placeholder=t("common.choose"))
        calls = _pick(t("data.role.service_calls"), numeric, base.service_calls, key=f"{key}_calls")
        tenure = _pick(t("data.role.tenure"), numeric, base.tenure, key=f"{key}_tenure")
    with right:
        # Any numeric column can be the value (balance, revenue, salary... as the analyst decides), if its values
        # can be money: numbers, almost never negative.
        value = st.multiselect(t("data.role.value"), numeric, default=list(base.value), key=f"{key}_value",
                               help=t("data.role.value_help"), placeholder=t("common.choose"))
        for column in list(value):
            problem = cc.value_column_problem(frame[column])
            if problem is not None:
                st.warning(tm("data.value_rejected", column=column, why=t(f"data.value_why.{problem}")))
                value.remove(column)
        if not value:
            st.caption(t("data.no_value_column"))
        ignored = st.multiselect(t("data.role.ignored"), [c for c in columns if c not in (target, id_column)],
                                 default=list(base.ignored), key=f"{key}_ignored", help=t("data.role.ignored_help"),
                                 placeholder=t("common.choose"))
    return base.remap(plan_flags=tuple(flags), service_calls=calls, tenure=tenure, value=tuple(value),
                      ignored=tuple(ignored))


def currency_choice(raw: cc.RawTable, *, name: str) -> str:
    """The currency of the file's money: the one chosen before for a dataset of this name, else the one its
    data suggests. Stored with the dataset when it is saved."""
    stored = state.store().named_setting(name, "currency")
    default = stored if stored is not None else cc.detect_currency(raw.frame)
    options = cc.CURRENCIES if default in cc.CURRENCIES else (*cc.CURRENCIES, default)
    return st.selectbox(t("data.currency"), options, index=options.index(default),
                        key=f"currency_{raw.sha256[:10]}_{name}",
                        format_func=wording(options, lambda c: c or t("roi.currency.none")),
                        help=t("data.currency_help"))


def active_currency() -> None:
    """The active dataset's currency, changeable (every page and export uses it)."""
    version = state.active_version()
    current = state.currency()
    options = cc.CURRENCIES if current in cc.CURRENCIES else (*cc.CURRENCIES, current)
    st.session_state["data_currency"] = current  # the stored setting (the ROI page may have changed it)
    st.selectbox(tm("data.currency_active", name=version.name), options, key="data_currency",
                 format_func=wording(options, lambda c: c or t("roi.currency.none")), help=t("data.currency_help"),
                 on_change=_on_currency)


def _on_currency() -> None:
    actions.set_currency(st.session_state["data_currency"])


def report_view(raw: cc.RawTable, report: cc.ValidationReport) -> None:
    """Counts, then every issue in the user's language: errors first (they block saving), then warnings."""
    kpi_row([(t("data.kpi.rows"), fmt.count(report.rows), None),
             (t("data.kpi.columns"), fmt.count(report.columns), None),
             (t("data.kpi.churn_rate"), fmt.pct(report.churn_rate), None),
             (t("data.kpi.format"), f"{raw.file_format.upper()} · {raw.encoding or '–'}"
              + (f" · '{raw.delimiter}'" if raw.delimiter and raw.delimiter != "," else ""), None)])
    for issue in report.errors:
        st.error(issue_text(issue), icon=":material/block:")
    for issue in report.warnings:
        st.warning(issue_text(issue), icon=":material/warning:")
    if report.ok and not report.warnings:
        st.success(t("data.no_issues"))


@cached(scope="path", max_entries=4)
def _drift(version: int, raw: cc.RawTable, roles: cc.ColumnRoles):
    from churn_core.drift import drift_report

    reference = state.dataset(version)
    return drift_report(reference, raw.frame, roles=reference.roles, current_roles=roles)


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"= {value:.3f}"


def drift_view(raw: cc.RawTable, roles: cc.ColumnRoles) -> None:
    """PSI and p-value of each shared feature against the champion's training data, the churn rate when both
    have the target; missing and extra columns listed."""
    champion = state.champion()
    if champion is None:
        st.info(t("data.drift_no_champion"))
        return
    version = state.run_dataset_version(champion.run_id)
    try:
        report = _drift(version, raw, roles)
    except cc.ChurnCoreError as err:
        st.warning(error_text(err))
        return
    if report.shifted:
        takeaway(tm("data.drift_shifted", count=len(report.shifted), columns=", ".join(report.shifted[:6])))
    else:
        takeaway(t("data.drift_stable", version=version))
    churn = report.churn_rate
    if churn is not None:
        st.markdown(t("data.drift_churn_changed" if churn.changed else "data.drift_churn_same",
                      current=fmt.pct(churn.current), reference=fmt.pct(churn.reference), p=_p(churn.p_value)))
    if report.missing_columns:
        st.warning(tm("data.drift_missing", columns=", ".join(report.missing_columns)))
    if report.extra_columns:
        st.caption(tm("data.drift_extra", columns=", ".join(report.extra_columns)))
    table = report.features
    view = pd.DataFrame({t("col.column"): table["feature"], "PSI": table["psi"], "p": table["p_value"],
                         t("col.status"): [("⚠ " if s == "shifted" else "") + t(f"drift.{s}") for s in table["status"]],
                         t("data.ref_mean"): [fmt.mean(v) for v in table["reference_mean"]],
                         t("data.new_mean"): [fmt.mean(v) for v in table["current_mean"]]})
    st.dataframe(view, hide_index=True, width="stretch", height=min(400, 35 * (len(view) + 1) + 3),
                 column_config={"PSI": st.column_config.NumberColumn(format="%.3f"),
                                "p": st.column_config.NumberColumn(format="%.3f")})
    st.caption(t("data.drift_caption", p_threshold=f"{report.p_threshold:.2g}", count=len(table)))


def versions_table() -> int | None:
    """The stored versions: name, file, rows, date and target. An analyst picks one to make active or to train
    again on; returns the version to train again on, or None."""
    with guard():
        versions = state.datasets().to_frame()
    if versions.empty:
        return None
    st.subheader(t("data.versions"))
    view = pd.DataFrame({t("col.version"): versions["version"], t("col.name"): versions["name"],
                         t("col.file"): versions["source_file"], t("col.rows"): versions["rows"],
                         t("col.created"): versions["created_at"].dt.strftime("%Y-%m-%d %H:%M"),
                         t("col.target"): versions["target"].fillna("–"),
                         t("col.data_kind"): versions["kind"].map(lambda k: t(f"data.kind.{k}")),
                         t("col.active"): versions["active"].map({True: "✓", False: ""})})
    st.dataframe(view.iloc[::-1], hide_index=True, width="stretch")
    if not auth.is_analyst():
        return None
    retrain = version_picker(versions)
    delete_version(versions)
    return retrain


def version_picker(versions: pd.DataFrame) -> int | None:
    """An analyst makes any stored version active, or trains on it again. Returns the version to train again
    on while it stays picked, else None."""
    rows = versions.set_index("version")
    options = [int(v) for v in rows.index[::-1]]
    active = next((int(v) for v in rows.index[rows["active"]]), options[0])

    # Worded now, in the page's language (a format function may be called outside the script run).
    labels = {v: t("data.version_option", version=v, name=rows.loc[v, "name"], file=rows.loc[v, "source_file"] or "–",
                   rows=fmt.count(rows.loc[v, "rows"]), created=rows.loc[v, "created_at"].strftime("%Y-%m-%d %H:%M"),
                   target=rows.loc[v, "target"] or "–")
              + (" · " + t("data.kind.events") if rows.loc[v, "kind"] == "events" else "") for v in options}
    version = st.selectbox(t("data.pick_version"), options, index=options.index(active), format_func=labels.get,
                           key="version_pick")
    name = rows.loc[version, "name"]
    left, right = st.columns(2)
    if rows.loc[version, "active"]:
        st.caption(tm("data.is_active", name=name, version=version))
    else:
        with guard():
            fit = state.champion_fit(state.dataset(version).frame.columns)
        if not fit.can_score:
            st.warning(tm("data.version_cannot_score", columns=", ".join(fit.missing)))
        if left.button(t("data.activate_version"), key="activate_version", icon=":material/check_circle:"):
            with guard():
                actions.activate(version)  # and scored in the background when the champion can
            st.toast(tm("data.activated", name=name, version=version))
            st.rerun()  # the sidebar, drawn before this page, shows the new active dataset
    if right.button(t("data.retrain_version"), key="retrain_version", icon=":material/model_training:"):
        st.session_state["retrain_pick"] = version
    return version if st.session_state.get("retrain_pick") == version else None


def delete_version(versions: pd.DataFrame) -> None:
    """An analyst deletes a version nothing depends on, after saying so explicitly."""
    candidates = versions.loc[~versions["active"], "version"].tolist()[::-1]
    if not candidates:
        return
    names = dict(zip(versions["version"], versions["name"]))
    with st.popover(t("data.delete"), icon=":material/delete:"):
        words = wording(candidates, lambda v: t("data.delete_line", version=v, name=names[v]))
        keep_choice("delete_pick", candidates, candidates[0])
        version = st.selectbox(t("data.delete_pick"), candidates, key="delete_pick", format_func=words)
        sure = st.checkbox(t("data.delete_confirm", version=version), key="delete_sure")
        if st.button(t("data.delete_button"), type="primary", disabled=not sure, key="delete_button"):
            with guard():
                gone = actions.delete_version(int(version))
            st.session_state.pop("delete_sure", None)
            st.toast(tm("data.deleted", version=gone.version, name=gone.name))
            st.rerun()
