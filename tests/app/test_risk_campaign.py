"""The Risk page's "Create a campaign from this list": preview with the sample-size check, launch, call sheet."""

from __future__ import annotations

import churn_core as cc
from churn_core.campaigns import sample_size_check
from tests.app.conftest import texts
from tests.app.test_roles import open_page, with_password

TIERS = ["high", "medium", "watch", "low"]  # the bundled data leaves the upper tiers nearly empty


def open_risk(app, lang: str | None = None):
    if lang:
        app.session_state["lang"] = lang
    return app.run().switch_page("pages/risk.py").run()


def active_scores(db):
    store = cc.Store(db)
    scores = store.load_scores(store.list_score_sets()[0].id)
    return scores[scores["status"] == "active"]


def counts_table(at, column: str = "Held back"):
    """The preview's customers per tier and arm (AppTest does not keep a dataframe's key)."""
    (table,) = [d.value for d in at.dataframe if column in d.value.columns]
    return table


def test_an_analyst_previews_and_launches_a_campaign(trained_app, trained_app_db):
    from churn_core.scoring import assign_tiers

    at = open_risk(trained_app)
    assert not at.exception, at.exception
    assert "Create a campaign from this list" in [e.label for e in at.expander]
    at.multiselect(key="camp_tiers").set_value(TIERS).run()
    at.selectbox(key="camp_action_medium").set_value("senior_agent").run()
    assert not at.exception, at.exception

    scores = active_scores(trained_app_db)
    tier = assign_tiers(scores["probability"].to_numpy())
    chosen = scores[[k in TIERS for k in tier]]
    counts = counts_table(at)
    assert counts["Contacted"].sum() + counts["Held back"].sum() == len(chosen)
    check = sample_size_check(int(counts["Contacted"].sum()), int(counts["Held back"].sum()),
                              base_rate=float(chosen["probability"].mean()))
    line = (f"With {check.n_contact:,} contacted and {check.n_control:,} held back, the campaign can detect a drop in "
            f"churn of {check.detectable * 100:.1f} points (from {check.base_rate:.0%}) at 80% power.")
    assert line in texts(at)
    # Out-of-sample probabilities of the bundled data are low outside the top tiers: thousands of customers, yet
    # only a drop of more than half their churn rate could be detected, and the page says so before launch.
    assert check.reason == "effect_too_large"
    assert [w.value for w in at.warning] == [
        f"Too small to learn much: only a drop of more than half the churn rate could be detected "
        f"({check.n_contact:,} contacted, {check.n_control:,} held back). Include more customers or hold back a "
        "larger share."]

    at.button(key="camp_launch").click().run()
    assert not at.exception, at.exception
    store = cc.Store(trained_app_db)
    (campaign,) = store.list_campaigns()
    assert f"Campaign {campaign.id}" in " ".join(s.value for s in at.success)
    members = store.campaign_members(campaign.id)
    assert len(members) == len(chosen)
    for key, part in members.groupby("tier"):
        held = (part["arm"] == "control").sum()
        assert held == max(1, round(0.2 * len(part))), key  # 20% held back in each tier
    assert (members.loc[members["tier"] == "medium", "action"] == "senior_agent").all()
    assert (members.loc[members["tier"] == "high", "action"] != "senior_agent").any()
    sheet = cc.call_sheet(store, campaign.id)
    assert len(sheet) == (members["arm"] == "contact").sum() and set(sheet["assignment"]) == {"contact"}
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Call sheet (CSV)" in labels and "Call sheet (Excel)" in labels


def test_a_list_too_small_says_so_before_launch(trained_app):
    at = open_risk(trained_app)
    at.multiselect(key="camp_tiers").set_value(["high"]).run()
    assert not at.exception, at.exception
    assert counts_table(at)["Held back"].sum() < 30
    assert any("Too few customers to learn much" in w.value for w in at.warning)


def test_a_viewer_sees_no_launch(trained_app, trained_app_db):
    at = open_page(with_password(trained_app), "pages/risk.py")
    assert not at.exception, at.exception
    assert "Create a campaign from this list" not in [e.label for e in at.expander]
    assert "Analysts can create a retention campaign from this list." in texts(at)
    assert not [b for b in at.button if b.key == "camp_launch"]


def test_the_launch_speaks_chinese_and_keeps_its_choices_across_a_switch(trained_app):
    at = open_risk(trained_app)
    at.multiselect(key="camp_tiers").set_value(TIERS).run()
    at.sidebar.radio(key="lang_choice").set_value("zh").run()
    assert not at.exception, at.exception
    assert "基于此名单创建活动" in [e.label for e in at.expander]
    assert at.multiselect(key="camp_tiers").value == TIERS
    shown = texts(at)
    assert "本活动能以 80% 的检验效能发现流失率下降" in shown and "With " not in shown
    assert len(counts_table(at, "保留（对照）")) == len(TIERS)
    at.sidebar.radio(key="lang_choice").set_value("en").run()
    assert not at.exception, at.exception
    assert "the campaign can detect a drop in churn of" in texts(at)
