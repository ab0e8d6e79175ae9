"""The demo picker: a newcomer tries either bundled demo, the telecom customer table or the after-sales
visit log. Shown at the top of the Overview on a first visit (only the bundled telecom data stored, no model
trained yet) and always on the Data page."""

from __future__ import annotations

import streamlit as st

import churn_core as cc

from . import actions, state
from .i18n import t, tm
from .widgets import guard, takeaway

DEMOS = {"telecom": ("demo.telecom", ":material/table_chart:"),
         "aftersales": ("demo.aftersales", ":material/directions_car:")}


def first_visit() -> bool:
    """Only the bundled telecom data is stored and nothing was trained yet."""
    versions = state.datasets().versions
    return (len(versions) == 1 and versions[0].source_file == cc.BUNDLED_CSV.name and versions[0].kind == "snapshot"
            and not state.runs())


def demo_picker(*, always: bool = False) -> None:
    """"Try a demo" and one button per demo (the active one greyed out); on a first visit only, unless
    ``always``. Picking one stores it as a version (or finds the stored one) and makes it active."""
    with guard():
        if not always and not first_visit():
            return
        active = state.active_version()
    current = "aftersales" if active.name == "aftersales_demo" and active.kind == "events" else \
        "telecom" if active.source_file == cc.BUNDLED_CSV.name else None
    with st.container(border=True, key="demo_picker"):
        intro, *buttons = st.columns([2, 3, 3], vertical_alignment="center")
        with intro:
            takeaway(t("demo.prompt"))
        for column, (name, (label, icon)) in zip(buttons, DEMOS.items()):
            if column.button(t(label), key=f"demo_{name}", icon=icon, disabled=name == current,
                             help=t(f"{label}_help"), width="stretch"):
                with st.spinner(t("demo.loading")), guard():
                    version = actions.load_demo(name)
                st.toast(tm("demo.loaded", name=version.name, version=version.version))
                st.rerun()
