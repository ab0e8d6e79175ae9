"""Event logs (visits, orders): reading with role detection, validation, rolling-window labels and as-of
features, and a seeded after-sales demo log. See :mod:`churn_core.events.log`, :mod:`churn_core.events.labels`
and :mod:`churn_core.events.demo`."""

from .dataset import EventDataset, event_dataset, lapsed_customers
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

__all__ = ["STAGES", "AfterSalesDemo", "Cutoffs", "EventLog", "EventRoles", "EventWindow", "LabelledEvents",
           "attach_customers", "cutoffs", "generate_visits", "label_and_features", "parse_times", "read_events",
           "suggest_window", "validate_events", "WindowSuggestion",
           "EventDataset", "event_dataset", "lapsed_customers",
           "Backtest", "ScoreHistory", "TierMigration", "backtest", "score_as_of", "score_history", "tier_migration",
           "history_dates", "score_back"]
