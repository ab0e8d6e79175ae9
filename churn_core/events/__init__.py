"""Event logs (visits, orders): reading with role detection, validation, rolling-window labels and as-of
features, and a seeded after-sales demo log. See :mod:`churn_core.events.log`, :mod:`churn_core.events.labels`
and :mod:`churn_core.events.demo`."""

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

__all__ = ["BUNDLED_CUSTOMERS", "BUNDLED_VISITS", "CutoffPopulation", "bundled_aftersales", "cutoff_population",
           "STAGES", "AfterSalesDemo", "Cutoffs", "EventLog", "EventRoles", "EventWindow", "LabelledEvents",
           "attach_customers", "cutoffs", "generate_visits", "label_and_features", "parse_times", "read_events",
           "suggest_window", "validate_events", "WindowSuggestion"]
