"""ui.state.memo and the frozen figures: a warm rerun reuses views, and never serves one for other inputs."""

from __future__ import annotations

import json

import plotly.graph_objects as go
from streamlit.testing.v1 import AppTest


def _memo_script():
    import streamlit as st

    from ui.state import memo

    calls = st.session_state.setdefault("calls", [])

    def view(x):
        calls.append(x)
        return f"view of {x}"

    token = (st.session_state.get("token", "a"),)
    st.write(memo(token, view, token[0]))
    st.write(memo(token, view, token[0]))


def test_memo_computes_once_per_token_and_language():
    at = AppTest.from_function(_memo_script)
    at.session_state["token"] = "memo-test-1"
    at.run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["view of memo-test-1"] * 2
    assert at.session_state["calls"] == ["memo-test-1"]  # the second call in the run was served from the cache
    at.run()
    assert at.session_state["calls"] == ["memo-test-1"]  # and so was the rerun
    at.session_state["token"] = "memo-test-2"
    at.run()
    assert at.markdown[0].value == "view of memo-test-2"
    assert at.session_state["calls"] == ["memo-test-1", "memo-test-2"]
    at.session_state["lang"] = "zh"  # the same token in another language is another view
    at.run()
    assert at.session_state["calls"] == ["memo-test-1", "memo-test-2", "memo-test-2"]


def test_a_frozen_figure_sends_the_figure_it_froze_without_its_template():
    from ui.widgets import _FrozenFigure

    fig = go.Figure(go.Bar(x=["a", "b"], y=[0.1, 0.2], marker={"color": "#d1495b"}),
                    layout={"title": {"text": "Churn by plan"}, "template": "plotly_white"})
    frozen = _FrozenFigure(fig)
    assert frozen.to_dict() is frozen.to_dict()  # computed once
    sent, original = frozen.to_dict(), fig.to_dict()
    assert "template" not in sent["layout"] and "template" in original["layout"]
    original["layout"].pop("template")
    assert sent == original  # the data, colours and words unchanged


def _chart_script():
    import pandas as pd
    import streamlit as st

    from churn_core import plots
    from churn_core.plots import Labels
    from ui.widgets import chart

    rate = st.session_state.get("rate", 0.1)
    table = pd.DataFrame({"value": ["no", "yes"], "customers": [100, 50], "churners": [10, int(rate * 50)],
                          "churn_rate": [0.1, rate], "ci_low": [0.05, 0.0], "ci_high": [0.2, 1.0],
                          "lift": [1.0, 2.0], "small": [False, False]})
    chart(plots.rate_bars, table, label="value", overall=0.12, key="bars",
          labels=Labels(title="t", x="x", y="y"), token=("memo-chart", rate))


def test_a_chart_is_redrawn_when_its_token_changes():
    at = AppTest.from_function(_chart_script)
    at.session_state["rate"] = 0.3
    at.run()
    first = json.loads(at.get("plotly_chart")[0].proto.spec)
    at.session_state["rate"] = 0.5
    at.run()
    second = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert not at.exception
    assert first != second
    assert 50.0 in [round(v, 6) for v in _numbers(second)] and 30.0 in [round(v, 6) for v in _numbers(first)]


def _numbers(spec) -> list[float]:
    out = []
    for trace in spec["data"]:
        for axis in ("x", "y"):
            values = trace.get(axis, [])
            if isinstance(values, dict):  # a typed array: plotly's base64 form
                import base64

                import numpy as np
                values = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
            out += [v for v in values if isinstance(v, (int, float))]
    return out
