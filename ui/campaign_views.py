"""The Campaigns page's widgets: the list, one campaign's assignment, progress and measured effect, and
recording its outcomes (upload, editor, visit logs). Reads are ``ui.state``'s, writes ``ui.actions``'."""

from __future__ import annotations

import hashlib
import math

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import churn_core as cc
from churn_core import campaigns as cmp

from . import actions, auth, fmt, state
from .cache import cached
from .i18n import current_language, error_text, has_key, t, tm, worded, wording
from .widgets import keep_choice

PICK_KEY = "campaigns_pick"
CONFLICT_KEY = "campaigns_conflict"  # a batch refused for changing final results, waiting for consent
FLASH_KEY = "campaigns_flash"  # what the last store did, shown after the rerun


def _dash(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def _points(x: float | None, *, sign: bool = True) -> str:
    return "–" if _dash(x) else f"{x * 100:{'+' if sign else ''}.1f}"


def currency(campaign) -> str:
    """The campaign's currency (kept at launch), else the active dataset's."""
    return campaign.currency or state.currency()


def _cash(x, campaign) -> str:
    return fmt.cash(None if _dash(x) else float(x), currency(campaign), lang=current_language())


def _state(campaign) -> str:
    measured = state.campaign_report(campaign.id) if campaign.outcome_version else None
    return cmp.campaign_state(campaign, measured)


# -- the list ---------------------------------------------------------------------------------------------

def campaign_list(campaigns: tuple) -> None:
    """Every campaign, newest first: who, when, how many per arm, the outcome version and its state."""
    word = worded("campaigns.state.")
    view = pd.DataFrame({
        t("campaigns.c_id"): [c.id for c in campaigns],
        t("campaigns.c_name"): [c.name for c in campaigns],
        t("campaigns.c_owner"): [c.owner or "–" for c in campaigns],
        t("campaigns.c_created"): [c.created_at.strftime("%Y-%m-%d %H:%M") for c in campaigns],
        t("campaigns.c_start"): [str(c.as_of or c.start) for c in campaigns],
        t("campaigns.c_contact"): [c.n_contact for c in campaigns],
        t("campaigns.c_control"): [c.n_control for c in campaigns],
        t("campaigns.c_outcomes"): [f"v{c.outcome_version}" if c.outcome_version else "–" for c in campaigns],
        t("campaigns.c_state"): [word(_state(c)) for c in campaigns],
    })
    st.dataframe(view, hide_index=True, width="stretch")


def pick_campaign(campaigns: tuple):
    """The campaign shown below: kept across reruns, ``?campaign=<id>`` on first visit, else the newest."""
    by_id = {c.id: c for c in campaigns}
    ids = list(by_id)
    default = ids[0]
    asked = st.query_params.get("campaign", "")
    if PICK_KEY not in st.session_state and asked.isdigit() and int(asked) in by_id:
        default = int(asked)
    keep_choice(PICK_KEY, ids, default)
    chosen = st.selectbox(t("campaigns.pick"), ids, key=PICK_KEY, format_func=wording(
        ids, lambda i: t("campaigns.pick_label", id=i, name=by_id[i].name, created=by_id[i].created_at.date())))
    return by_id[chosen]


# -- one campaign: assignment and progress ----------------------------------------------------------------

@cached(scope="store", worded=True, max_entries=8)
def _assignment_view(campaign_id: int) -> pd.DataFrame:
    members = state.campaign_members(campaign_id)
    tiers = list(dict.fromkeys(members["tier"].astype(str)))
    rows = []
    for tier in tiers:
        part = members[members["tier"].astype(str) == tier]
        due = part.loc[part["arm"] == "contact", "due_date"]
        actions_ = part["action"].astype(str).value_counts().index[:2]
        rows.append({
            t("campaigns.c_tier"): t(f"risk.tier.{tier}") if has_key(f"risk.tier.{tier}") else tier,
            t("campaigns.c_contact"): int((part["arm"] == "contact").sum()),
            t("campaigns.c_control"): int((part["arm"] == "control").sum()),
            t("campaigns.c_action"): ", ".join(t(f"action.{a}") if has_key(f"action.{a}") else a for a in actions_),
            t("campaigns.c_due"): "–" if due.dropna().empty else
            f"{due.min().date()} – {due.max().date()}",
        })
    return pd.DataFrame(rows)


def assignment(campaign) -> None:
    """How the customers were split: seed, control share, start, cost, and the counts per tier and arm."""
    st.markdown(tm("campaigns.assignment_line", seed=campaign.seed, share=fmt.pct(campaign.control_share, digits=0),
                   start=str(campaign.start), as_of=str(campaign.as_of or "–"),
                   cost=fmt.cash(campaign.contact_cost, currency(campaign), lang=current_language()),
                   run=campaign.run_id or "–", model=t(f"model.{campaign.model}") if campaign.model else "–"))
    st.dataframe(_assignment_view(campaign.id), hide_index=True, width="stretch")


def progress(report) -> None:
    """How many customers have a final result per arm, how many are pending, and the share reached."""
    arms = (report.contacted, report.control)
    view = pd.DataFrame({
        t("campaigns.c_arm"): [t("campaigns.arm.contact"), t("campaigns.arm.control")],
        t("campaigns.c_assigned"): [a.assigned for a in arms],
        t("campaigns.c_final"): [a.n for a in arms],
        t("campaigns.c_pending"): [a.pending for a in arms],
        t("campaigns.c_final_share"): [a.n / a.assigned if a.assigned else 0.0 for a in arms],
    })
    st.dataframe(view, hide_index=True, width="stretch", column_config={
        t("campaigns.c_final_share"): st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)})
    assigned = report.contacted.assigned
    if report.cost_assumed:
        st.caption(t("campaigns.reached_unknown"))
    else:
        st.caption(t("campaigns.reached", reached=fmt.count(report.reached), assigned=fmt.count(assigned),
                     share=fmt.pct(report.reached / assigned if assigned else None)))


# -- one campaign: the measured effect --------------------------------------------------------------------

def takeaway_text(report, campaign) -> str:
    """The result in one plain sentence: saved (with the net value), cannot tell from zero, harm, or no
    results yet."""
    if report.verdict == "no_results":
        return t("campaigns.takeaway.no_results")
    saved, up = report.customers_saved, report.uplift
    level = fmt.pct(up.level, digits=0)
    if report.verdict == "saved":
        key = "campaigns.takeaway.saved" if report.net is not None else "campaigns.takeaway.saved_no_value"
        return tm(key, saved=fmt.expected(saved.estimate), low=fmt.expected(saved.low), high=fmt.expected(saved.high),
                 level=level, net=_cash(None if report.net is None else report.net.estimate, campaign))
    key = "campaigns.takeaway.harm" if report.verdict == "harm" else "campaigns.takeaway.no_effect"
    return t(key, uplift=_points(up.estimate), low=_points(up.low), high=_points(up.high), level=level,
             contact=fmt.pct(report.contacted.churn_rate), control=fmt.pct(report.control.churn_rate))


def _card(column, label: str, value: str, interval: str | None = None) -> None:
    column.metric(label, value, border=True)
    if interval:
        column.caption(interval)


def effect_kpis(report, campaign) -> None:
    """Churn per arm, uplift, customers and value saved (each with its interval), and the ROI."""
    con, ctl, up, saved = report.contacted, report.control, report.uplift, report.customers_saved
    level = fmt.pct(up.level, digits=0)
    between = lambda lo, hi: tm("campaigns.interval", level=level, low=lo, high=hi)  # noqa: E731
    first = st.columns(3)
    _card(first[0], t("campaigns.kpi.contact_rate"), fmt.pct(con.churn_rate),
          between(fmt.pct(con.ci_low), fmt.pct(con.ci_high)))
    _card(first[1], t("campaigns.kpi.control_rate"), fmt.pct(ctl.churn_rate),
          between(fmt.pct(ctl.ci_low), fmt.pct(ctl.ci_high)))
    _card(first[2], t("campaigns.kpi.uplift"), t("campaigns.points", points=_points(up.estimate)),
          between(_points(up.low), _points(up.high)))
    second = st.columns(3)
    _card(second[0], t("campaigns.kpi.saved"), fmt.expected(None if _dash(saved.estimate) else saved.estimate),
          between(fmt.expected(saved.low), fmt.expected(saved.high)))
    net = report.net
    _card(second[1], t("campaigns.kpi.net"), _cash(None if net is None else net.estimate, campaign),
          None if net is None else between(_cash(net.low, campaign), _cash(net.high, campaign)))
    _card(second[2], t("campaigns.kpi.roi"), fmt.pct(report.roi, digits=0),
          tm("campaigns.cost_line", cost=_cash(report.cost, campaign),
            assumed=t("campaigns.cost_assumed") if report.cost_assumed else ""))


@cached(scope="store", worded=True, max_entries=8)
def _arms_figure(campaign_id: int) -> go.Figure:
    report = state.campaign_report(campaign_id)
    arms = (report.contacted, report.control)
    rates = [a.churn_rate * 100 for a in arms]
    fig = go.Figure(go.Bar(
        x=[t("campaigns.arm.contact"), t("campaigns.arm.control")], y=rates, marker_color=["#2a9d8f", "#9aa5b1"],
        error_y={"type": "data", "symmetric": False, "array": [(a.ci_high - a.churn_rate) * 100 for a in arms],
                 "arrayminus": [(a.churn_rate - a.ci_low) * 100 for a in arms]},
        text=[fmt.pct(a.churn_rate) for a in arms], textposition="inside", insidetextanchor="start",
        customdata=[[a.n, a.churned] for a in arms],
        hovertemplate="%{x}: %{y:.1f}%<br>n=%{customdata[0]:,}, %{customdata[1]:,} " + t("campaigns.lost")
        + "<extra></extra>"))
    fig.update_layout(title=t("campaigns.chart_title", contact=fmt.pct(report.contacted.churn_rate),
                              control=fmt.pct(report.control.churn_rate)),
                      yaxis_title=t("common.churn_rate") + " (%)", height=360, margin={"t": 60, "b": 30})
    return fig


def arms_chart(report) -> None:
    if report.verdict == "no_results":
        return
    st.plotly_chart(_arms_figure(report.campaign_id), key="campaign_arms")


def _group_view(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    def name(key: str) -> str:
        prefix = "risk.tier." if column == "tier" else "action."
        return t(prefix + key) if has_key(prefix + key) else key

    few = t("campaigns.too_few")
    return pd.DataFrame({
        t(f"campaigns.c_{column}"): [name(str(k)) for k in frame[column]],
        t("campaigns.c_n_contact"): frame["n_contact"].astype(int),
        t("campaigns.c_n_control"): frame["n_control"].astype(int),
        t("campaigns.c_contact_rate"): [fmt.pct(x) for x in frame["contact_rate"]],
        t("campaigns.c_control_rate"): [fmt.pct(x) for x in frame["control_rate"]],
        t("campaigns.c_uplift"): [few if f else _points(u) for f, u in zip(frame["too_few"], frame["uplift"])],
        t("campaigns.c_interval"): ["" if f else f"{_points(lo)} – {_points(hi)}"
                                    for f, lo, hi in zip(frame["too_few"], frame["uplift_low"], frame["uplift_high"])],
    })


def group_tables(report) -> None:
    """The effect per tier and per action, "too few customers" where an arm has fewer than 30 results."""
    st.markdown(t("campaigns.by_tier"))
    st.dataframe(_group_view(report.by_tier, "tier"), hide_index=True, width="stretch")
    st.markdown(t("campaigns.by_action"))
    st.dataframe(_group_view(report.by_action, "action"), hide_index=True, width="stretch")
    st.caption(t("campaigns.groups_caption"))


def scorecard(report) -> None:
    """The pilot's figures beside the playbook's targets; our passive retention is the control's."""
    found = {row["metric"]: row for row in report.scorecard.to_dict("records")}
    rows = []
    for metric in ("flagged_churn_rate", "lead_time_days", "retention_after_contact", "passive_retention"):
        row = found.get(metric)
        value = "–" if row is None else (fmt.ratio(row["value"]) if metric == "lead_time_days"
                                         else fmt.pct(row["value"]))
        met = None if row is None else row["met"]
        rows.append({t("campaigns.c_metric"): t(f"campaigns.score.{metric}"), t("campaigns.c_value"): value,
                     t("campaigns.c_target"): t(f"campaigns.target.{metric}"),
                     t("campaigns.c_n"): "–" if row is None else fmt.count(row["n"]),
                     t("campaigns.c_met"): "–" if met is None else t("common.yes" if met else "common.no")})
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if "lead_time_days" not in found:
        st.caption(t("campaigns.lead_time_logs_only"))


def demo_button(campaign) -> None:
    """On a campaign drawn from the bundled after-sales demo and not finished: "Simulate the next months"
    plays it forward with the demo's generator (analysts only) and says what the simulation's true effect was,
    to hold the measured interval against."""
    if not auth.is_analyst() or campaign.outcome_version or not state.is_demo_campaign(campaign.id):
        return
    st.info(t("campaigns.demo_note"))
    if st.button(t("campaigns.demo_button"), key=f"campaign_demo_{campaign.id}", help=t("campaigns.demo_help"),
                 type="primary"):
        with st.spinner(t("campaigns.demo_running")):
            played = actions.simulate_demo(campaign.id)
        st.session_state[FLASH_KEY] = [("success", tm("campaigns.demo_done", version=played.log_version,
                                                       reached=fmt.count(played.reached),
                                                       truth=fmt.pct(played.true_uplift)))]
        st.rerun()


# -- outcomes ---------------------------------------------------------------------------------------------

def flash() -> None:
    """What the last store did (kept across its rerun)."""
    for kind, text_ in st.session_state.pop(FLASH_KEY, []):
        getattr(st, kind)(text_)


def problem_text(problem) -> str:
    """One kind of bad row, worded: how many rows, which, and the fix."""
    return tm(f"campaigns.problem.{problem.code}", rows=fmt.count(problem.rows),
              examples="; ".join(problem.examples))


def _record(call, *, payload: dict) -> None:
    """Run a store (``call(allow_changes)``): bad rows are worded one message per kind, changed final results
    wait for consent, anything stored is flashed after a rerun."""
    try:
        recorded = call(False)
    except cmp.OutcomeError as err:
        st.error(t("campaigns.not_stored"))
        for problem in err.report.problems:
            (st.error if problem.blocking else st.warning)(problem_text(problem))
        return
    except cmp.OutcomeConflictError as err:
        st.session_state[CONFLICT_KEY] = {**payload, "report": err.report}
        st.rerun()
    except cc.ChurnCoreError as err:
        st.error(error_text(err))
        return
    _stored(recorded)


def _stored(recorded) -> None:
    messages = [("success", t("campaigns.stored", version=recorded.batch.version, rows=fmt.count(recorded.batch.rows)))
                if recorded.batch is not None else ("info", t("campaigns.nothing_changed"))]
    messages += [("warning", problem_text(p)) for p in recorded.check.warnings]
    st.session_state[FLASH_KEY] = messages
    st.session_state.pop(CONFLICT_KEY, None)
    st.rerun()


def _call(payload: dict):
    kwargs = {k: v for k, v in payload.items() if k not in ("kind", "report")}
    if payload["kind"] == "observe":
        return lambda allow: actions.observe_campaign(allow_changes=allow, **kwargs)
    return lambda allow: actions.record_outcomes(allow_changes=allow, **kwargs)


def conflict(campaign) -> None:
    """A batch that would change final results: the changes, and consent to store them as a new version."""
    pending = st.session_state.get(CONFLICT_KEY)
    if not pending or pending.get("campaign_id") != campaign.id:
        return
    changes = pending["report"]
    st.warning(t("campaigns.conflict", count=fmt.count(len(changes))))
    word = worded("campaigns.result.")
    st.dataframe(pd.DataFrame({t("campaigns.c_customer"): changes["customer_id"],
                               t("campaigns.c_before"): [word(v) for v in changes["before"]],
                               t("campaigns.c_after"): [word(v) for v in changes["after"]]}),
                 hide_index=True, width="stretch")
    store_col, cancel_col = st.columns(2)
    if store_col.button(t("campaigns.store_changes"), type="primary", key="campaign_store_changes"):
        try:
            recorded = _call(pending)(True)
        except cc.ChurnCoreError as err:
            st.error(error_text(err))
            return
        _stored(recorded)
    if cancel_col.button(t("campaigns.cancel_changes"), key="campaign_cancel_changes"):
        st.session_state.pop(CONFLICT_KEY, None)
        st.rerun()


def upload(campaign) -> None:
    """The call centre's sheet: its columns mapped (detected, editable), checked, and stored as a version."""
    file = st.file_uploader(t("campaigns.upload"), type=["csv", "xlsx", "xls"], key=f"campaign_upload_{campaign.id}")
    if file is None:
        return
    data = file.getvalue()
    try:
        raw, found = state.outcome_sheet(data, file.name)
    except cc.ChurnCoreError as err:
        st.error(error_text(err))
        return
    st.caption(t("campaigns.mapping_caption", rows=fmt.count(len(raw))))
    options = ["", *map(str, raw.columns)]
    name = wording(options, lambda c: c or t("campaigns.no_column"))
    digest = hashlib.sha256(data).hexdigest()[:8]
    mapping = {}
    for column, field in zip(st.columns(3) * 3, cmp.FIELDS):
        key = f"campaign_map_{campaign.id}_{digest}_{field}"
        keep_choice(key, options, found.get(field, ""))
        mapping[field] = column.selectbox(t(f"campaigns.field.{field}"), options, format_func=name, key=key)
    mapping = {f: c for f, c in mapping.items() if c}
    if st.button(t("campaigns.check_store"), type="primary", key=f"campaign_check_{campaign.id}"):
        if "customer_id" not in mapping:
            st.error(t("campaigns.need_id"))
            return
        payload = {"kind": "record", "data": raw, "campaign_id": campaign.id, "source": "upload",
                   "filename": file.name, "mapping": mapping}
        _record(_call(payload), payload=payload)


@cached(scope="store", max_entries=4)
def _editable(campaign_id: int) -> pd.DataFrame:
    members = state.campaign_members(campaign_id)[["customer_id", "arm", "tier"]].astype({"customer_id": str})
    outcomes = state.campaign_outcomes(campaign_id).drop(columns="version").astype({"customer_id": str})
    return members.merge(outcomes, on="customer_id", how="left")


def changed_rows(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """The edited rows (in the outcome columns) whose values differ from the stored ones."""
    cols = list(cmp.FIELDS[1:])
    as_text = lambda f: f[cols].astype("string").fillna("").reset_index(drop=True)  # noqa: E731
    differs = (as_text(before) != as_text(after)).any(axis=1).to_numpy()
    return after.loc[differs, list(cmp.FIELDS)].reset_index(drop=True)


def editor(campaign) -> None:
    """Every campaign customer's current outcome, editable in place, saved as a new version."""
    before = _editable(campaign.id)
    st.caption(t("campaigns.editor_caption"))
    word = worded("campaigns.result.")
    config = {"customer_id": st.column_config.TextColumn(t("campaigns.field.customer_id")),
              "arm": st.column_config.TextColumn(t("campaigns.c_arm")),
              "tier": st.column_config.TextColumn(t("campaigns.c_tier")),
              "contacted": st.column_config.CheckboxColumn(t("campaigns.field.contacted")),
              "contact_date": st.column_config.DateColumn(t("campaigns.field.contact_date")),
              "result": st.column_config.SelectboxColumn(t("campaigns.field.result"), options=list(cmp.RESULTS),
                                                         format_func=word)}
    for field in ("channel", "agent", "action_taken", "feedback", "failure_reason"):
        config[field] = st.column_config.TextColumn(t(f"campaigns.field.{field}"))
    after = st.data_editor(before, hide_index=True, num_rows="fixed", disabled=["customer_id", "arm", "tier"],
                           column_config=config, key=f"campaign_editor_{campaign.id}_{campaign.outcome_version}")
    if st.button(t("campaigns.save_edits"), key=f"campaign_save_edits_{campaign.id}"):
        rows = changed_rows(before, after)
        if rows.empty:
            st.info(t("campaigns.no_edits"))
            return
        payload = {"kind": "record", "data": rows, "campaign_id": campaign.id, "source": "editor"}
        _record(_call(payload), payload=payload)


def visit_logs(campaign) -> None:
    """Read every member's result from a later visit log (campaigns drawn from a visit log only)."""
    if campaign.window_days is None:
        st.caption(t("campaigns.logs_not_events"))
        return
    logs = [v.version for v in state.observable_logs(campaign.id)]
    if not logs:
        st.caption(t("campaigns.no_logs", start=str(campaign.start)))
        return
    keep_choice(f"campaign_log_{campaign.id}", logs, logs[0])
    version = st.selectbox(t("campaigns.pick_log"), logs, key=f"campaign_log_{campaign.id}",
                           format_func=wording(logs, lambda v: f"v{v}"))
    if st.button(t("campaigns.observe", version=version), key=f"campaign_observe_{campaign.id}"):
        payload = {"kind": "observe", "campaign_id": campaign.id, "version": version}
        _record(_call(payload), payload=payload)


def call_sheet_download(campaign) -> None:
    st.download_button(t("campaigns.download_sheet"), state.call_sheet_csv(campaign.id, current_language()),
                       file_name=f"campaign_{campaign.id}_call_sheet.csv", mime="text/csv",
                       key=f"campaign_sheet_{campaign.id}")


def _batch_file(batch) -> str:
    """The file a version came from; an observation names the visit-log version it read (stored as "v<n>")."""
    if batch.source == "observed" and batch.file_name:
        return t("campaigns.observed_file", version=batch.file_name.lstrip("v"))
    return batch.file_name or "–"


def history(campaign) -> None:
    """Every outcome version: when, by whom, how, from which file, how many rows and replaced results."""
    batches = state.outcome_batches(campaign.id)
    if not batches:
        st.caption(t("campaigns.no_versions"))
        return
    word = worded("campaigns.source.")
    st.dataframe(pd.DataFrame({
        t("campaigns.c_version"): [f"v{b.version}" for b in reversed(batches)],
        t("campaigns.c_recorded"): [b.recorded_at.strftime("%Y-%m-%d %H:%M") for b in reversed(batches)],
        t("campaigns.c_by"): [b.recorded_by or "–" for b in reversed(batches)],
        t("campaigns.c_source"): [word(b.source) for b in reversed(batches)],
        t("campaigns.c_file"): [_batch_file(b) for b in reversed(batches)],
        t("campaigns.c_rows"): [b.rows for b in reversed(batches)],
        t("campaigns.c_replaced"): [b.replaced for b in reversed(batches)],
    }), hide_index=True, width="stretch")
