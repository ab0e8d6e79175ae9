"""Retention campaigns: a control group, outcomes recorded, and the effect measured instead of assumed.

:mod:`~churn_core.campaigns.design` assigns a call list to contact or control (stratified by tier, seeded)
and checks the sample size; :mod:`~churn_core.campaigns.outcomes` reads, checks and merges the call
centre's outcomes, or observes them on a later visit log; :mod:`~churn_core.campaigns.measure` turns them
into churn rates, the uplift with its interval, customers and value saved and the ROI
(:mod:`~churn_core.campaigns.stats` holds the intervals); :mod:`~churn_core.campaigns.service` runs all of it
on a store."""

from .demo import (
    APP_DEMO_EFFECT,
    PlayedCampaign,
    SimulatedCampaign,
    is_demo_campaign,
    play_demo_campaign,
    simulate_campaign,
)
from .design import ARMS, DEFAULT_CONTROL_SHARE, CampaignPlan, CampaignSpec, campaign_candidates, plan_campaign
from .measure import (
    ArmResult,
    CampaignReport,
    campaign_report,
    measured_case_inputs,
    measured_likelihoods,
)
from .outcomes import (
    FIELDS,
    RESULTS,
    OutcomeChange,
    OutcomeCheck,
    OutcomeConflictError,
    OutcomeError,
    OutcomeProblem,
    check_outcomes,
    detect_outcome_columns,
    merge_outcomes,
    observe_outcomes,
    read_outcomes,
)
from .service import (
    LaunchedCampaign,
    RecordedOutcomes,
    call_sheet,
    campaign_state,
    last_finished,
    launch_campaign,
    observable_logs,
    observe_campaign,
    record_outcomes,
    report,
)
from .stats import (
    Interval,
    SampleSizeCheck,
    detectable_uplift,
    difference,
    newcombe,
    proportion,
    sample_size_check,
    wilson,
)

__all__ = ["APP_DEMO_EFFECT", "PlayedCampaign", "SimulatedCampaign", "is_demo_campaign", "play_demo_campaign",
           "simulate_campaign", "ARMS", "DEFAULT_CONTROL_SHARE", "CampaignPlan", "CampaignSpec",
           "campaign_candidates", "plan_campaign", "ArmResult", "CampaignReport", "campaign_report",
           "measured_case_inputs", "measured_likelihoods", "FIELDS", "RESULTS", "OutcomeChange", "OutcomeCheck",
           "OutcomeConflictError", "OutcomeError", "OutcomeProblem", "check_outcomes", "detect_outcome_columns",
           "merge_outcomes", "observe_outcomes", "read_outcomes", "LaunchedCampaign", "RecordedOutcomes",
           "call_sheet", "campaign_state", "last_finished", "launch_campaign", "observable_logs", "observe_campaign",
           "record_outcomes", "report", "Interval", "SampleSizeCheck", "detectable_uplift", "difference", "newcombe",
           "proportion", "sample_size_check", "wilson"]
