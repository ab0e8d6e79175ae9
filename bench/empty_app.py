"""The app's shell around an empty page: app.py's page config, sidebar and navigation, no content.

bench/pages.py times its warm rerun as the baseline the real pages are compared with.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st  # noqa: E402

from ui import auth, widgets  # noqa: E402
from ui.i18n import t  # noqa: E402

st.set_page_config(page_title="Churn Radar", layout="wide")
navigation = st.navigation([st.Page(lambda: st.title("Empty page"), title="Empty", url_path="empty")])
st.sidebar.title(t("app.title"))
widgets.dataset_sidebar()
widgets.language_switch()
auth.sidebar()
navigation.run()
