"""Churn Radar's core library: loading, validation, storage and churn analysis.

Plain Python, no Streamlit. Importing it has no side effects. The public API is
what this module re-exports.
"""

from ._io import DEFAULT_MAX_BYTES, RawTable, read_table, sheet_names
from ._labels import format_amount
from .analysis import (
    DEFAULT_SEGMENTS,
    BandChurn,
    CategoryChurn,
    Clause,
    Contrast,
    CrossTab,
    Description,
    DriverRanking,
    Highlights,
    OverallChurn,
    Segment,
    SegmentTable,
    ThresholdResult,
    ValueTiers,
    churn_by_category,
    contrast,
    count_columns,
    cross_tab,
    describe,
    driver_ranking,
    leakage_columns,
    overall_churn,
    segment_churn,
    segment_masks,
    strongest_drivers,
    tenure_bands,
    tenure_unit,
    threshold_analysis,
    value_tiers,
)
from .dataset import BUNDLED_CSV, Dataset, inspect_table, load_dataset
from .errors import (
    ChurnCoreError,
    DatabaseDamagedError,
    DatabaseForeignError,
    DatabaseNewerError,
    DataFormatError,
    DiskFullError,
    LargeScoresError,
    NotFoundError,
    ParameterError,
    SchemaError,
    StoreError,
    ValidationError,
)
from .money import CURRENCIES, check_currency, detect_currency, value_column_problem
from .roles import ColumnRoles, detect_roles
from .store import (
    DEMOS,
    Champion,
    DatasetList,
    DatasetVersion,
    ModelEntry,
    ModelRun,
    RunThreshold,
    Scenario,
    ScoreSet,
    Store,
    ensure_active_dataset,
    ensure_demo,
    resolve_db_path,
)
from .validation import Issue, ValidationReport, validate

# Modeling pulls in scikit-learn and xgboost; import it on first use so the app and `describe` start fast.
_LAZY = {
    "ChurnFeatures": "features", "FeatureStep": "features", "feature_steps": "features",
    "MODEL_NAMES": "modeling", "Metrics": "modeling", "ModelResult": "modeling", "TrainingResult": "modeling",
    "build_model": "modeling", "choose_threshold": "modeling", "evaluate": "modeling",
    "expected_calibration_error": "modeling", "train_models": "modeling", "run_training": "modeling",
    "OOFCalibratedClassifier": "modeling",
    "CalibrationCurve": "evaluation", "Confusion": "evaluation", "Curve": "evaluation", "Gains": "evaluation",
    "calibration_bins": "evaluation", "confusion_at": "evaluation", "gains_table": "evaluation",
    "pr_curve_points": "evaluation", "roc_curve_points": "evaluation", "threshold_sweep": "evaluation",
    "Importance": "explain", "importance": "explain", "shap_values": "explain",
    "ArtifactError": "artifacts", "load_model": "artifacts", "save_model": "artifacts",
    "ColumnFit": "scoring", "column_fit": "scoring",
    "DEFAULT_PLAYBOOK": "scoring", "DEFAULT_TIERS": "scoring", "PlaybookRule": "scoring", "RiskPolicy": "scoring",
    "RiskTier": "scoring", "ScoredCustomers": "scoring", "apply_policy": "scoring", "assign_tiers": "scoring",
    "csv_bytes": "scoring", "explain_rows": "scoring", "neutralise_formulas": "scoring", "score_customers": "scoring",
    "score_dataset": "scoring", "unexplained_rows": "scoring", "write_csv": "scoring", "xlsx_bytes": "scoring",
    "CustomerProfile": "risk", "RiskFilter": "risk", "RiskSelection": "risk", "ScoreComparison": "risk",
    "SimilarCustomers": "risk", "call_list": "risk", "call_list_for_people": "risk", "PeopleExport": "risk",
    "compare_scores": "risk", "customer_profile": "risk",
    "filter_customers": "risk", "in_words": "risk", "explanation_in_words": "risk", "Scorer": "scoring",
    "build_scorer": "scoring", "statuses": "scoring", "BetaCalibration": "modeling", "bootstrap_auc": "modeling",
    "CustomerExplanation": "explain", "Reasons": "explain", "explain_customer": "explain",
    "explain_customers": "explain",
    "PRESETS": "roi", "STRATEGIES": "roi", "BusinessCase": "roi", "CaseInputs": "roi", "Economics": "roi",
    "ProfitCurve": "roi", "Sensitivity": "roi", "StrategyComparison": "roi", "business_case": "roi",
    "compare_strategies": "roi", "max_profit": "roi", "profit_curve": "roi", "sensitivity": "roi",
    "summary_text": "roi", "roi_note": "roi", "DEFAULT_LIFETIME_YEARS": "roi", "targeting_inputs": "roi",
    "OutOfSample": "roi", "out_of_sample": "roi", "ModelFit": "roi", "model_fit": "roi",
    "INVESTMENT_PER_CUSTOMER": "roi", "ANNUAL_COST_PER_CUSTOMER": "roi", "default_costs": "roi",
    "Chart": "onepager", "ExportError": "onepager", "OnePage": "onepager", "find_font": "onepager",
    "render_pdf": "onepager", "render_png": "onepager",
    "ChampionComparison": "reports", "ModelReport": "reports", "Winner": "reports",
    "ChurnRateChange": "drift", "DriftReport": "drift", "drift_report": "drift", "psi": "drift",
    "EventLog": "events", "EventRoles": "events", "read_events": "events", "attach_customers": "events",
    "validate_events": "events", "EventWindow": "events", "Cutoffs": "events", "LabelledEvents": "events",
    "cutoffs": "events", "label_and_features": "events", "generate_visits": "events", "AfterSalesDemo": "events",
    "suggest_window": "events", "WindowSuggestion": "events",
    "scored_as_of": "scoring",
    "EventDataset": "events", "event_dataset": "events", "lapsed_customers": "events",
    "Backtest": "events", "ScoreHistory": "events", "TierMigration": "events", "backtest": "events",
    "score_as_of": "events", "score_history": "events", "tier_migration": "events", "history_dates": "events",
    "score_back": "events",
    "StageChurn": "events", "RFMSegments": "events", "CohortRetention": "events", "TimeToLapse": "events",
    "RecencyRatio": "events", "ThresholdRatio": "events", "churn_by_stage": "events", "rfm_segments": "events",
    "cohort_retention": "events", "time_to_lapse": "events", "recency_ratio": "events",
    "cohort_heatmap_figure": "events", "survival_figure": "events",
    "TimeSplit": "events", "time_split": "events", "RecencyBaseline": "events", "recency_baseline": "events",
    "Condition": "events", "Rule": "events", "RuleSet": "events", "RuleEvaluation": "events",
    "default_rules": "events", "evaluate_rules": "events", "OutOfTimeResult": "events", "train_out_of_time": "events",
    "BUNDLED_VISITS": "events", "BUNDLED_CUSTOMERS": "events", "bundled_aftersales": "events",
    "CutoffPopulation": "events", "cutoff_population": "events", "event_types": "events",
    "CampaignPlan": "campaigns", "CampaignSpec": "campaigns", "CampaignReport": "campaigns",
    "launch_campaign": "campaigns", "call_sheet": "campaigns", "record_outcomes": "campaigns",
    "observe_campaign": "campaigns", "campaign_report": "campaigns", "measured_case_inputs": "campaigns",
    "measured_likelihoods": "campaigns", "last_finished": "campaigns", "OutcomeError": "campaigns",
    "OutcomeConflictError": "campaigns",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'churn_core' has no attribute '{name}'")


__all__ = [*_LAZY, "CURRENCIES", "check_currency", "detect_currency", "value_column_problem",
    "Champion", "ModelEntry", "ModelRun", "RunThreshold", "Scenario", "ScoreSet", "format_amount",
    "BUNDLED_CSV", "BandChurn", "CategoryChurn", "ChurnCoreError", "Clause", "ColumnRoles", "Contrast", "CrossTab",
    "DEFAULT_MAX_BYTES", "DEFAULT_SEGMENTS", "DataFormatError", "DatabaseDamagedError",
    "DatabaseForeignError", "DatabaseNewerError", "DiskFullError", "Dataset", "DatasetList", "DatasetVersion",
    "Description", "DriverRanking", "Issue", "LargeScoresError", "NotFoundError", "OverallChurn", "ParameterError",
    "RawTable",
    "SchemaError", "Segment", "SegmentTable", "Store", "StoreError", "ThresholdResult", "ValidationError",
    "ValidationReport", "ValueTiers", "churn_by_category", "contrast", "count_columns", "cross_tab", "describe",
    "Highlights", "strongest_drivers", "tenure_unit",
    "DEMOS", "detect_roles", "driver_ranking", "ensure_active_dataset", "ensure_demo",
    "inspect_table", "leakage_columns", "load_dataset",
    "overall_churn", "read_table", "sheet_names", "resolve_db_path", "segment_churn", "segment_masks", "tenure_bands",
    "threshold_analysis", "validate", "value_tiers",
]
