"""Event logs (visits, orders): reading with role detection, validation, rolling-window labels and as-of
features. See :mod:`churn_core.events.log` and :mod:`churn_core.events.labels`."""

from .labels import STAGES, Cutoffs, EventWindow, LabelledEvents, cutoffs, label_and_features
from .log import EventLog, EventRoles, attach_customers, parse_times, read_events, validate_events

# demo: see demo.py (generate_visits)

__all__ = ["STAGES", "Cutoffs", "EventLog", "EventRoles", "EventWindow", "LabelledEvents", "attach_customers",
           "cutoffs", "label_and_features", "parse_times", "read_events", "validate_events"]
