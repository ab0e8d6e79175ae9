"""Campaigns: what each retention campaign did, measured against its control group, and its outcomes recorded."""

import streamlit as st

from ui import auth, state
from ui.campaign_views import (
    arms_chart,
    assignment,
    call_sheet_download,
    campaign_list,
    conflict,
    demo_button,
    editor,
    effect_kpis,
    flash,
    group_tables,
    history,
    pick_campaign,
    progress,
    scorecard,
    takeaway_text,
    upload,
    visit_logs,
)
from ui.i18n import t, tm
from ui.widgets import guard, page_header, takeaway

page_header("campaigns.title", "campaigns.caption")
with guard():
    campaigns = state.campaigns()
if not campaigns:
    st.info(t("campaigns.empty"))
    st.page_link("pages/risk.py", label=t("campaigns.go_risk"), icon=":material/crisis_alert:")
    st.stop()

flash()
st.subheader(t("campaigns.list"))
campaign_list(campaigns)
campaign = pick_campaign(campaigns)
with guard():
    report = state.campaign_report(campaign.id)

st.header(tm("campaigns.one", id=campaign.id, name=campaign.name))
st.subheader(t("campaigns.assignment"))
assignment(campaign)
st.subheader(t("campaigns.progress"))
progress(report)

st.subheader(t("campaigns.effect"))
takeaway(takeaway_text(report, campaign))
demo_button(campaign)  # the after-sales demo: play the calls and the next months of visits forward
st.caption(t("campaigns.itt"))
if report.verdict != "no_results":
    effect_kpis(report, campaign)
    arms_chart(report)
    group_tables(report)
st.subheader(t("campaigns.scorecard"))
scorecard(report)

st.subheader(t("campaigns.outcomes"))
call_sheet_download(campaign)
st.markdown(t("campaigns.versions"))
history(campaign)
if not auth.is_analyst():
    st.caption(t("campaigns.analysts_only"))
    st.stop()
with guard():
    conflict(campaign)
    tab_upload, tab_editor, tab_logs = st.tabs([t("campaigns.tab.upload"), t("campaigns.tab.editor"),
                                                t("campaigns.tab.logs")])
    with tab_upload:
        upload(campaign)
    with tab_editor:
        editor(campaign)
    with tab_logs:
        visit_logs(campaign)
