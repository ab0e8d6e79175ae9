"""ui.cache and the frozen figures: a warm rerun reuses what it computed, and never serves it for other inputs
(another argument, language, active dataset version or champion)."""

from __future__ import annotations

import functools
import json

import pandas as pd
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

import churn_core as cc


def _view_script():
    import streamlit as st

    from ui.cache import cached

    calls = st.session_state.setdefault("calls", [])

    @cached(scope="args", worded=True)
    def view(x):
        calls.append(x)
        return f"view of {x}"

    # the decorator is applied anew each run here; a module-level function keeps one cache for every run
    view = st.session_state.setdefault("view", view)
    token = st.session_state.get("token", "a")
    st.write(view(token))
    st.write(view(token))


def test_a_cached_view_is_computed_once_per_argument_and_language():
    at = AppTest.from_function(_view_script)
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
    at.session_state["lang"] = "zh"  # the same argument in another language is another view
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
          labels=Labels(title="t", x="x", y="y"))


def test_a_chart_is_redrawn_when_its_data_changes():
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


# -- keys ------------------------------------------------------------------------------------------------

def test_arguments_are_keyed_by_value_or_by_identity_and_underscored_ones_are_left_out():
    from ui.cache import cached

    calls = []

    @cached(scope="args", max_entries=4)
    def rows(frame, _note=None, *, sort="id"):
        calls.append(sort)
        return len(frame)

    frame = pd.DataFrame({"a": [1, 2, 3]})
    assert rows(frame, "first", sort="id") == rows(frame, "second", sort="id") == 3
    assert calls == ["id"]  # same frame (by identity) and sort: one computation; _note is not part of the key
    rows(frame, sort="value")
    assert calls == ["id", "value"]  # another value of a hashable argument
    rows(frame.copy(), sort="id")
    assert calls == ["id", "value", "id"]  # an equal but other DataFrame is another argument
    rows.clear()
    rows(frame, sort="id")
    assert calls == ["id", "value", "id", "id"]


def test_an_unknown_scope_is_refused():
    from ui.cache import cached

    with pytest.raises(ValueError, match="'scope' of cached must be among"):
        cached(scope="session")


def test_a_dataset_scoped_read_follows_the_active_version_without_invalidation(app_db, bundled):
    """A new active version is seen on the next read (no clear(), no token), and the same arguments hit the
    cache while the version stays."""
    from ui import state
    from ui.cache import cached

    calls = []

    @cached(scope="dataset")
    def churned(column: str) -> int:
        calls.append(column)
        return int(state.active_dataset().target().sum())

    store = cc.Store(app_db)
    first = store.save_dataset(bundled).version
    assert churned("x") == churned("x") == int(bundled.target().sum()) and calls == ["x"]
    small = cc.load_dataset(bundled.frame.head(200).to_csv(index=False).encode(), filename="small.csv")
    second = store.save_dataset(small).version  # saved and made active by another process (the command line)
    assert second != first
    assert churned("x") == int(small.target().sum()) and calls == ["x", "x"]
    assert churned("x") == int(small.target().sum()) and calls == ["x", "x"]  # cached for the new version
    store.activate(first)
    assert churned("x") == int(bundled.target().sum()) and calls == ["x", "x"]  # the first version's entry again


def _run_script():
    import streamlit as st

    from ui import cache

    cache.begin_run()  # as app.py does
    counter = st.session_state.setdefault("counter", [0])

    @cache.once_per_run
    def read():
        counter[0] += 1
        return counter[0]

    read = st.session_state.setdefault("read", read)
    st.write(f"{read()} {read()}")


def test_once_per_run_computes_once_in_each_script_run():
    at = AppTest.from_function(_run_script)
    at.run()
    assert not at.exception and at.markdown[0].value == "1 1"  # asked twice, computed once
    at.run()
    assert at.markdown[0].value == "2 2"  # the next run computes it again


def test_a_warm_rerun_of_a_page_recomputes_nothing(app, app_db, monkeypatch):
    """The Overview's analysis and its figures are computed on the first run only: the rerun reads them all
    from the cache (the keys are derived from the same active version and the same cached results)."""
    import churn_core.plots as plots

    calls = []

    def spy(fn):
        @functools.wraps(fn)
        def counted(*args, **kwargs):
            calls.append(fn.__name__)
            return fn(*args, **kwargs)
        return counted

    for name in ("rate_bars", "threshold_curve", "state_map"):
        monkeypatch.setattr(plots, name, spy(getattr(plots, name)))
    monkeypatch.setattr(cc, "describe", spy(cc.describe))
    app.run()
    assert not app.exception
    assert "describe" in calls and "rate_bars" in calls  # the first run computes
    calls.clear()
    app.run()
    assert not app.exception and calls == []
