"""Event logs (visits, orders): reading with role detection, validation, rolling-window labels and as-of
features, a seeded after-sales demo log, and out-of-time training against a recency rule. See
:mod:`churn_core.events.log`, :mod:`churn_core.events.labels`, :mod:`churn_core.events.demo` and
:mod:`churn_core.events.training`."""

from .demo import AfterSalesDemo, generate_visits
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

# Training imports scikit-learn and XGBoost: loaded on first use, so reading a log stays light.
_TRAINING = ("Condition", "OutOfTimeResult", "RecencyBaseline", "Rule", "RuleEvaluation", "RuleSet", "TimeSplit",
             "default_rules", "evaluate_rules", "recency_baseline", "time_split", "train_out_of_time")


def __getattr__(name: str):
    if name in _TRAINING:
        from . import training

        return getattr(training, name)
    raise AttributeError(f"module 'churn_core.events' has no attribute '{name}'")


__all__ = ["STAGES", "AfterSalesDemo", "Condition", "Cutoffs", "EventLog", "EventRoles", "EventWindow",
           "LabelledEvents", "OutOfTimeResult", "RecencyBaseline", "Rule", "RuleEvaluation", "RuleSet", "TimeSplit",
           "attach_customers", "cutoffs", "default_rules", "evaluate_rules", "generate_visits", "label_and_features",
           "parse_times", "read_events", "recency_baseline", "suggest_window", "time_split", "train_out_of_time",
           "validate_events", "WindowSuggestion"]
