"""ROI: the business case of a retention programme, model-driven targeting, and a one-page export."""

import streamlit as st

from ui import roi_views as views
from ui import state
from ui.i18n import t
from ui.widgets import guard, page_header

page_header("roi.title", "roi.caption")
with guard():
    views.init()
mode = views.toolbar()
has_model = views.uses_model(views.stored("start"), state.model_fit())
views.keep_source(has_model=has_model)

if mode == "analyst":
    with st.expander(t("roi.h_inputs"), expanded=True):
        views.analyst_inputs(has_model=has_model)
else:
    views.presentation_sliders(source=views.stored("source"))

with guard():
    result = views.compute()

if mode == "presentation":
    views.big_numbers(result)
    views.exports(result)  # next to the big numbers: above the fold on a 1920×1080 screen
    if result.curve is None:
        views.model_absence(result, analyst=False)
    chart = views.cash_chart(result, big=True) if result.curve is None else views.curve_chart(result, big=True)
    st.plotly_chart(chart, key="roi_curve_big")
    views.summary_block(result)
    st.stop()

views.big_numbers(result)
st.markdown(views.summary(result))
if result.curve is None:
    views.model_absence(result, analyst=True)
    st.plotly_chart(views.cash_chart(result), key="roi_cash")
else:
    views.model_note(result)
    st.plotly_chart(views.curve_chart(result), key="roi_curve")
    views.threshold_button(result)
    st.subheader(t("roi.h_strategies"))
    views.strategies(result)
st.subheader(t("roi.h_tornado"))
views.tornado(result)
st.subheader(t("roi.h_scenarios"))
views.scenarios(result)
views.exports(result)
