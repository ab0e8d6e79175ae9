"""Event logs (visits, orders): reading with role detection, validation, rolling-window labels and as-of
features, and a seeded after-sales demo log. See :mod:`churn_core.events.log`, :mod:`churn_core.events.labels`
and :mod:`churn_core.events.demo`; descriptive analyses (churn by lifecycle stage, RFM segments, cohort retention,
time to lapse, recency ratios) in :mod:`churn_core.events.analysis` and their figures in
:mod:`churn_core.events.figures` (loaded on first use: plotly is not imported with this package);
out-of-time training against a recency rule in :mod:`churn_core.events.training`."""

from .analysis import (
    RFM_SEGMENTS,
    CohortRetention,
    RecencyRatio,
    RFMSegments,
    StageChurn,
    ThresholdRatio,
    TimeToLapse,
    churn_by_stage,
    cohort_retention,
    kaplan_meier,
    recency_ratio,
    rfm_segments,
    segment_name,
    segment_strategy,
    time_to_lapse,
)
from .dataset import EventDataset, event_dataset, event_types, lapsed_customers
from .demo import BUNDLED_CUSTOMERS, BUNDLED_VISITS, AfterSalesDemo, bundled_aftersales, generate_visits
from .labels import (
    STAGES,
    Cutoffs,
    EventWindow,
    LabelledEvents,
    WindowSuggestion,
    cutoffs,
    label_and_features,
    suggest_window,
)
from .log import EventLog, EventRoles, attach_customers, parse_times, read_events, validate_events
from .population import CutoffPopulation, cutoff_population
from .scoring import (
    Backtest,
    ScoreHistory,
    TierMigration,
    backtest,
    history_dates,
    score_as_of,
    score_back,
    score_history,
    tier_migration,
)

__all__ = ["BUNDLED_CUSTOMERS", "BUNDLED_VISITS", "CutoffPopulation", "bundled_aftersales", "cutoff_population",
           "STAGES", "AfterSalesDemo", "Cutoffs", "EventLog", "EventRoles", "EventWindow", "LabelledEvents",
           "attach_customers", "cutoffs", "generate_visits", "label_and_features", "parse_times", "read_events",
           "suggest_window", "validate_events", "WindowSuggestion",
           "EventDataset", "event_dataset", "event_types", "lapsed_customers",
           "Backtest", "ScoreHistory", "TierMigration", "backtest", "score_as_of", "score_history", "tier_migration",
           "history_dates", "score_back",
           "RFM_SEGMENTS", "CohortRetention", "RecencyRatio", "RFMSegments", "StageChurn", "ThresholdRatio",
           "TimeToLapse", "churn_by_stage", "cohort_retention", "kaplan_meier", "recency_ratio", "rfm_segments",
           "segment_name", "segment_strategy", "time_to_lapse", "cohort_heatmap_figure", "survival_figure",
           "Condition", "OutOfTimeResult", "RecencyBaseline", "Rule", "RuleEvaluation", "RuleSet", "TimeSplit",
           "default_rules", "evaluate_rules", "recency_baseline", "time_split", "train_out_of_time"]

_FIGURES = ("cohort_heatmap_figure", "survival_figure")
# Training imports scikit-learn and XGBoost: loaded on first use, so reading a log stays light.
_TRAINING = ("Condition", "OutOfTimeResult", "RecencyBaseline", "Rule", "RuleEvaluation", "RuleSet", "TimeSplit",
             "default_rules", "evaluate_rules", "recency_baseline", "time_split", "train_out_of_time")


def __getattr__(name: str):
    if name in _FIGURES:
        from . import figures

        return getattr(figures, name)
    if name in _TRAINING:
        from . import training

        return getattr(training, name)
    raise AttributeError(f"module 'churn_core.events' has no attribute '{name}'")
