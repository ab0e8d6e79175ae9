"""Churn Radar: page config, language, the sidebar and navigation."""

import os

# Before any OpenMP library (XGBoost, scikit-learn) loads: idle OpenMP threads sleep instead of spinning,
# so a training in this process does not starve every other session of the 2 cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st  # noqa: E402

from ui import auth, cache, widgets  # noqa: E402
from ui.i18n import t  # noqa: E402

cache.begin_run()  # values read once per script run (the language, the active version, the champion) start afresh

st.set_page_config(page_title="Churn Radar", page_icon="📡", layout="wide")
auth.refuse_open_local()  # no sign-in configured and listening beyond this machine: say so, draw nothing else

pages = [
    st.Page("pages/overview.py", title=t("nav.overview"), icon=":material/monitoring:", default=True),
    st.Page("pages/drivers.py", title=t("nav.drivers"), icon=":material/insights:"),
    st.Page("pages/risk.py", title=t("nav.risk"), icon=":material/crisis_alert:"),
    st.Page("pages/campaigns.py", title=t("nav.campaigns"), icon=":material/campaign:"),
    st.Page("pages/roi.py", title=t("nav.roi"), icon=":material/savings:"),
    st.Page("pages/models.py", title=t("nav.models"), icon=":material/model_training:"),
    st.Page("pages/data.py", title=t("nav.data"), icon=":material/upload_file:"),
]
navigation = st.navigation(pages)
st.sidebar.title(t("app.title"))
widgets.dataset_sidebar()
widgets.language_switch()
auth.sidebar()
with widgets.guard():  # a store error no page caught (a database damaged mid-run): its message, not a traceback
    navigation.run()
