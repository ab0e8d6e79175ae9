"""Who a label window counts at every cut-off: the population preview of an event log before it is stored.

:func:`cutoff_population` labels every cut-off whose window has fully elapsed, and the log's last date
(the as-of day, not labelled yet), under ``window`` (default :class:`EventWindow`), and returns how many
customers each one has seen, how many are eligible (an event within the lookback), how many had already
lapsed, and how many eligible customers churned. The
latest labelled cut-off is the *test cut-off*: the one :func:`~churn_core.events.dataset.event_dataset`
builds the analysis table from.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .dataset import labelled_cutoffs
from .labels import EventWindow, label_and_features
from .log import EventLog


@dataclass(frozen=True, kw_only=True)
class CutoffPopulation:
    """The population per cut-off (columns cutoff, customers, eligible, lapsed, churned, churn_rate, labelled;
    the as-of day last, unlabelled), with the window it was counted under, the test cut-off and the as-of day."""

    population: pd.DataFrame
    window: EventWindow
    test_cutoff: pd.Timestamp
    as_of: pd.Timestamp

    def to_frame(self) -> pd.DataFrame:
        return self.population

    @property
    def test_row(self) -> pd.Series:
        """The test cut-off's row: the eligible customers, churners and churn rate of the analysis table."""
        return self.population.loc[self.population["cutoff"] == self.test_cutoff].iloc[0]


def cutoff_population(log: EventLog, *, window: EventWindow | None = None) -> CutoffPopulation:
    """Count the population of every labelled cut-off and of the log's last date under ``window``.

    Raises SchemaError (code ``events_too_short``) when no cut-off has its window fully elapsed: the log is
    shorter than the minimum history plus the label window.
    """
    window = EventWindow() if window is None else window
    labelled_cuts = labelled_cutoffs(log, window=window)
    as_of = log.last_date
    labelled = label_and_features(log, window=window, cutoffs=[*labelled_cuts.dates, as_of])
    population = labelled.population.sort_values("cutoff").reset_index(drop=True)
    return CutoffPopulation(population=population, window=window, test_cutoff=labelled_cuts.dates[-1], as_of=as_of)
