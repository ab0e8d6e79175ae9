"""The Risk page's "Create a campaign from this list": tiers, arms and actions chosen, the sample size checked
before launch, the campaign stored, and the call centre's sheet (the contacted arm only) to download.

Analysts only: a viewer sees one line saying who can launch. The preview is the plan that is launched: the same
customers, the same seed (kept in the session until a launch draws the next one)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from pathlib import Path

import pandas as pd
import streamlit as st

import churn_core as cc
from churn_core.campaigns import campaign_candidates, plan_campaign
from churn_core.scoring import FALLBACK_ACTIONS

from . import actions, auth, fmt, state
from .i18n import current_language, error_text, t, tm, worded, wording
from .widgets import keep_choice

RECOMMENDED = "recommended"  # the per-tier choice that keeps each customer's own recommended action
DEFAULT_TIERS = ("critical", "high")
SEED_KEY, LAUNCHED_KEY = "camp_seed", "camp_launched"
CAMPAIGNS_PAGE = Path(__file__).resolve().parents[1] / "pages" / "campaigns.py"


def launch_panel(selection: cc.RiskSelection, *, where: cc.RiskFilter, contact_cost: float) -> None:
    """Under the call list: an expander to launch a campaign from the filtered ``selection`` (``where``)."""
    if not auth.is_analyst():
        st.caption(t("risk.campaign.viewer"))
        return
    scored = selection.scored
    present = set(campaign_candidates(selection)["tier"].astype(str))
    tiers = [tr.key for tr in scored.policy.tiers if tr.key in present]
    with st.expander(t("risk.campaign.launch_title"), icon=":material/campaign:",
                     expanded=LAUNCHED_KEY in st.session_state):
        if not tiers:
            st.caption(t("risk.campaign.no_customers"))
            return
        spec = _spec_widgets(scored, tiers=tiers, contact_cost=contact_cost)
        chosen = st.session_state.get("camp_tiers") or []
        if spec is None or not chosen:
            if not chosen:
                st.caption(t("risk.campaign.pick_tiers"))
            return
        restricted = cc.filter_customers(scored, where=dataclasses.replace(where, tiers=tuple(chosen)))
        try:
            plan = plan_campaign(campaign_candidates(restricted), spec=spec)
        except cc.ChurnCoreError as err:
            st.warning(error_text(err))
            return
        preview(plan)
        if st.button(t("risk.campaign.launch"), type="primary", key="camp_launch"):
            try:
                launched = actions.launch_campaign(restricted, spec=spec)
            except cc.ChurnCoreError as err:
                st.error(error_text(err))
                return
            st.session_state[LAUNCHED_KEY] = launched.campaign.id
            st.session_state[SEED_KEY] = _new_seed()  # the next campaign draws its own arms
        launched_block()


def _new_seed() -> int:
    return secrets.randbelow(2 ** 31)


def _spec_widgets(scored: cc.ScoredCustomers, *, tiers: list[str], contact_cost: float) -> cc.CampaignSpec | None:
    """Name, owner, control share, tiers, an action per tier, start day and contact cost; the spec they make
    (None, with the reason shown, when one is not valid)."""
    lang, policy = current_language(), scored.policy
    st.session_state.setdefault(SEED_KEY, _new_seed())
    a, b = st.columns(2)
    default_name = t("risk.campaign.default_name", date=dt.date.today().isoformat())
    name = a.text_input(t("risk.campaign.name"), value=default_name, max_chars=80, key="camp_name")
    owner = b.text_input(t("risk.campaign.owner"), max_chars=80, key="camp_owner")
    a, b, c = st.columns(3)
    share = a.slider(t("risk.campaign.control_share"), 5, 50, 20, 1, format="%d%%", key="camp_control",
                     help=t("risk.campaign.control_help"))
    events = scored.dataset.events
    start = b.date_input(t("risk.campaign.start"), value=pd.Timestamp(events.as_of).date() if events is not None
                         else dt.date.today(), key="camp_start")
    cost = c.number_input(t("risk.campaign.contact_cost"), min_value=0.0, value=float(contact_cost), step=0.5,
                          key="camp_cost", help=t("money.entered", amount=fmt.entered(
                              st.session_state.get("camp_cost", contact_cost), state.currency())))
    keep_choice("camp_tiers", tiers, [k for k in DEFAULT_TIERS if k in tiers])
    chosen = st.multiselect(t("risk.campaign.tiers"), tiers, format_func=worded("risk.tier."), key="camp_tiers",
                            help=t("risk.campaign.tiers_help"))
    keys = list(dict.fromkeys([*(r.key for r in policy.playbook),
                               *(k for k in FALLBACK_ACTIONS.values() if k != "none")]))
    options = [RECOMMENDED, *keys]
    words = wording(options, lambda k: t("risk.campaign.as_recommended") if k == RECOMMENDED
                    else policy.action_text(k, lang=lang))
    overrides = []
    for column, tier in zip(st.columns(max(len(chosen), 1)), chosen):
        keep_choice(f"camp_action_{tier}", options, RECOMMENDED)
        action = column.selectbox(t("risk.campaign.action_for", tier=t(f"risk.tier.{tier}")), options,
                                  format_func=words, key=f"camp_action_{tier}")
        if action != RECOMMENDED:
            overrides.append((tier, action))
    try:
        return cc.CampaignSpec(name=name, owner=owner, control_share=share / 100, seed=st.session_state[SEED_KEY],
                               actions=tuple(overrides), start=start, contact_cost=float(cost))
    except cc.ChurnCoreError as err:
        st.warning(error_text(err))
        return None


def preview(plan: cc.CampaignPlan) -> None:
    """Customers per tier and arm, and whether the campaign is large enough to show an effect."""
    counts = plan.counts
    st.dataframe(pd.DataFrame({t("risk.campaign.c_tier"): [t(f"risk.tier.{k}") for k in counts["tier"]],
                               t("risk.campaign.c_contact"): counts["contact"],
                               t("risk.campaign.c_control"): counts["control"]}), hide_index=True, width="content")
    st.markdown(detectable_text(plan.check))
    if plan.check.too_small:
        st.warning(t(f"risk.campaign.too_small.{plan.check.reason}", contact=fmt.count(plan.check.n_contact),
                     control=fmt.count(plan.check.n_control)))


def detectable_text(check) -> str:
    """"With 1,234 contacted and 309 held back, the campaign can detect a drop in churn of 6.1 points (from 45%)
    at 80% power." """
    return t("risk.campaign.detectable", contact=fmt.count(check.n_contact), control=fmt.count(check.n_control),
             points=f"{check.detectable * 100:.1f}", base=fmt.pct(check.base_rate, digits=0),
             power=fmt.pct(check.power, digits=0))


def launched_block() -> None:
    """After a launch: the campaign's id, where to follow it, and the call centre's sheet."""
    campaign_id = st.session_state.get(LAUNCHED_KEY)
    if campaign_id is None:
        return
    campaign = state.store().campaign(campaign_id)
    st.success(tm("risk.campaign.launched", id=campaign.id, name=campaign.name))
    if CAMPAIGNS_PAGE.is_file():  # the Campaigns page follows results; absent from an install without it
        st.page_link("pages/campaigns.py", label=t("risk.campaign.open_page"), icon=":material/campaign:")
    lang = current_language()
    sheet = lambda: cc.call_sheet(state.store(), campaign.id, lang=lang)  # noqa: E731 (built when clicked)
    a, b, _ = st.columns([1, 1, 3])
    a.download_button(t("risk.campaign.sheet_csv"), data=lambda: cc.csv_bytes(sheet()),
                      file_name=f"campaign_{campaign.id}_calls.csv", mime="text/csv", key="camp_sheet_csv",
                      on_click="ignore")
    b.download_button(t("risk.campaign.sheet_xlsx"), data=lambda: cc.xlsx_bytes(sheet(), sheet="calls"),
                      file_name=f"campaign_{campaign.id}_calls.xlsx", key="camp_sheet_xlsx", on_click="ignore",
                      mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
