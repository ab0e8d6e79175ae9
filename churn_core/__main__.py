"""Command-line interface for scheduled jobs and scripts.

    python -m churn_core describe --data FILE [--target COL] [--crosstab A B] --format json
    python -m churn_core import --data FILE [--name NAME] [--db PATH]
    python -m churn_core datasets [--db PATH] --format json
    python -m churn_core train --data FILE [--target COL] [--promote] [--db PATH] --format json
    python -m churn_core train --events FILE [--customers FILE] [--id COL] [--time COL] [--amount COL] [--type COL]
                               [--window DAYS] [--lookback DAYS] [--promote] [--db PATH] --format json
                               [--engine local|dask [--scheduler tcp://HOST:8786] [--workers N]]
    python -m churn_core score [--data FILE] --out FILE.csv [--lang en|zh] [--explain auto|all|none|N] [--db PATH]
    python -m churn_core score --events FILE [--as-of DATE] --out FILE.csv [--db PATH]
    python -m churn_core score --events FILE --engine dask [--scheduler tcp://HOST:8786] [--workers N]
                               [--out FILE.csv] [--out-parquet URL]
    python -m churn_core drift --data FILE [--db PATH] --format json
    python -m churn_core roi --customers N --baseline-churn F --target-churn F --ltv X [--investment X]
                             [--annual-cost X] [--years N] [--lifetime-years N] [--preset NAME]
                             [--pdf FILE] [--png FILE] [--lang en|zh] [--currency SYMBOL] [--db FILE] --format json
    python -m churn_core campaign create --name N [--owner O] [--control 0.2] [--tier critical,high] [--seed S]
                                         [--start YYYY-MM-DD] [--contact-cost X] [--action TIER=ACTION ...]
                                         --out calls.csv|calls.xlsx [--lang en|zh] [--db PATH] --format json
    python -m churn_core campaign sheet --campaign ID --out calls.csv [--db PATH]
    python -m churn_core campaign outcomes --campaign ID --data FILE [--map FIELD=COLUMN ...] [--replace] --format json
    python -m churn_core campaign observe --campaign ID [--events-version V] [--replace] --format json
    python -m churn_core campaign list [--db PATH] --format json
    python -m churn_core campaign report --campaign ID [--db PATH] --format json

Exit codes: 0 success; 1 the input or an option is wrong (message on stderr; an outcome sheet refused also
lists each kind of bad row, or the final results it would change, and prints them as JSON with --format json);
2 the command line itself is wrong; 3 the database cannot be used (locked, damaged, another program's,
from a newer Churn Radar) or the disk is full.
"""

from __future__ import annotations

import os

# Before any OpenMP library (XGBoost, scikit-learn) loads: spinning OpenMP threads were the biggest
# measured slowdown on a shared 2-core machine (a 200k fit took 13.7-42.8 s against 2.6-5.6 s passive).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from typing import Any  # noqa: E402

from . import analysis  # noqa: E402
from .dataset import load_dataset  # noqa: E402
from .errors import ChurnCoreError, NotFoundError, ParameterError, StoreError  # noqa: E402
from .store import Store  # noqa: E402

MODEL_NAMES = ("logistic_regression", "random_forest", "xgboost")  # churn_core.modeling's, without importing it
PRESET_NAMES = ("telecom_8k", "telecom_12k", "base_200k")  # churn_core.roi.PRESETS

EXIT_INPUT, EXIT_STORE = 1, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m churn_core", description="Churn Radar command line.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    def data_options(p: argparse.ArgumentParser, *, required: bool = True) -> None:
        p.add_argument("--data", required=required, help="CSV or XLSX file")
        p.add_argument("--target", help="the churn column (detected when omitted)")
        p.add_argument("--positive", help="the target value that means churn (detected when omitted)")
        p.add_argument("--sheet", help="the sheet of an XLSX workbook")

    describe = sub.add_parser("describe", help="descriptive churn analysis of a file")
    data_options(describe)
    describe.add_argument("--crosstab", nargs=2, metavar=("COL_A", "COL_B"), help="add a cross tab of two columns")
    describe.add_argument("--min-group", type=int, default=30, help="groups smaller than this are flagged")
    describe.add_argument("--format", choices=("json", "text"), default="text")

    imp = sub.add_parser("import", help="store a file as a new dataset version and make it active")
    data_options(imp)
    imp.add_argument("--name", help="dataset name (default: the file name)")
    imp.add_argument("--no-activate", action="store_true", help="store without making it active")
    imp.add_argument("--db", help="database file (default $CHURN_RADAR_DB or data/churn.duckdb)")
    imp.add_argument("--format", choices=("json", "text"), default="text")

    listing = sub.add_parser("datasets", help="list stored dataset versions")
    listing.add_argument("--db", help="database file (default $CHURN_RADAR_DB or data/churn.duckdb)")
    listing.add_argument("--format", choices=("json", "text"), default="text")

    def event_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--events", help="a visit or order log (CSV, XLSX or Parquet): one row per event")
        p.add_argument("--customers", help="an optional customer table joined to the log by id")
        for role in ("id", "time", "amount", "type"):
            p.add_argument(f"--{role}", help=f"the log's {role} column (detected when omitted)")

    def engine_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--engine", choices=("local", "dask"), default="local",
                       help="visit logs: where XGBoost trains and scores: this process (local, the default) or a "
                            "Dask cluster (dask)")
        p.add_argument("--scheduler", help="with --engine dask: the tcp://HOST:8786 address of a running Dask "
                                           "scheduler (default: a LocalCluster on this machine)")
        p.add_argument("--workers", type=int, default=2,
                       help="with --engine dask and no --scheduler: the LocalCluster's worker processes (default 2)")

    train = sub.add_parser("train", help="store a file (or a visit log) as a dataset version and train the models "
                                         "on it (a visit log out of time)")
    data_options(train, required=False)
    event_options(train)
    train.add_argument("--window", type=int, help="visit logs: the label window H in days (default: fitted to the "
                                                  "gaps between visits)")
    train.add_argument("--visit-types", nargs="+", metavar="TYPE",
                       help="visit logs: the event types that count as a visit (default: every event)")
    train.add_argument("--lookback", type=int, default=365,
                       help="visit logs: a customer with no event in this many days has lapsed (default 365)")
    train.add_argument("--promote", action="store_true",
                       help="make the best model (cross-validated mean of --choose-by) the champion and the file the "
                            "active dataset, and score it")
    train.add_argument("--choose-by", choices=("roc_auc", "pr_auc", "profit"), default="roc_auc",
                       help="the cross-validated mean that picks the champion (default roc_auc)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--models", nargs="+", choices=MODEL_NAMES, default=list(MODEL_NAMES),
                       help="which models to train (default: all three)")
    engine_options(train)
    train.add_argument("--db", help="database file (default $CHURN_RADAR_DB or data/churn.duckdb)")
    train.add_argument("--format", choices=("json", "text"), default="text")

    score = sub.add_parser("score", help="score a file (or the active dataset) with the champion model: "
                                         "probability, risk tier, priority, top-3 reasons and action")
    score.add_argument("--data", help="CSV or XLSX file, with or without a target column (default: the active "
                                      "dataset, whose scores are then kept in the database)")
    score.add_argument("--sheet", help="the sheet of an XLSX workbook")
    event_options(score)
    score.add_argument("--as-of", help="visit logs: score as of this date (default: the log's last date)")
    score.add_argument("--out", help="the CSV file to write")
    score.add_argument("--out-parquet", metavar="URL",
                       help="with --engine dask: write the scores as partitioned Parquet to this folder or fsspec URL "
                            "and keep it as the version's score set")
    engine_options(score)
    score.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the reasons and actions")
    score.add_argument("--explain", default="auto",
                       help="whose reasons to compute: auto (the riskiest first, within --explain-budget), all, "
                            "none, or a number of customers")
    score.add_argument("--explain-budget", type=float, default=20.0, help="seconds for 'auto' (default 20)")
    score.add_argument("--db", help="database file (default $CHURN_RADAR_DB or data/churn.duckdb)")
    score.add_argument("--format", choices=("json", "text"), default="text")

    drift = sub.add_parser("drift", help="compare a file with the champion's training data: PSI and p-value per "
                                         "feature, shifted features, and the churn rate when both have the target")
    data_options(drift)
    drift.add_argument("--db", help="database file (default $CHURN_RADAR_DB or data/churn.duckdb)")
    drift.add_argument("--format", choices=("json", "text"), default="text")

    roi = sub.add_parser("roi", help="the business case of a retention programme: customers saved, value "
                                     "retained, total cost, net benefit, ROI (a fraction: 16.9 = 1690%%; a "
                                     "saved customer's whole lifetime value counts when saved, as in the "
                                     "published cases) and payback in months (that value spread over the "
                                     "customer lifetime)")
    roi.add_argument("--preset", choices=PRESET_NAMES, help="start from a published case; other options override it")
    for flag, kind, text in (
            ("--customers", int, "customers in the base"),
            ("--baseline-churn", float, "annual churn rate today, e.g. 0.145"),
            ("--target-churn", float, "annual churn rate the programme aims for"),
            ("--retention-success", float, "instead of --target-churn: share of contacted customers kept"),
            ("--contacted", float, "customers contacted a year (for per-customer costs and --retention-success)"),
            ("--ltv", float, "lifetime value of a customer"),
            ("--annual-value", float, "instead of --ltv: value of a customer a year ..."),
            ("--remaining-years", float, "... times the years a customer would have stayed"),
            ("--investment", float, "one-off investment (default 0)"),
            ("--annual-cost", float, "running cost a year (default 0)"),
            ("--contact-cost", float, "cost of contacting one customer (default 0)"),
            ("--incentive-cost", float, "incentive given to one contacted customer (default 0)"),
            ("--years", int, "horizon in years (default 1)"),
            ("--lifetime-years", float, "customer lifetime in years; payback spreads the lifetime value evenly "
                                        "over it (default --remaining-years, else 5)")):
        roi.add_argument(flag, type=kind, help=text)
    roi.add_argument("--pdf", metavar="FILE", help="also write the ROI page's one-page export (A4 landscape) as PDF")
    roi.add_argument("--png", metavar="FILE", help="also write that page as a PNG image")
    roi.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the exported page (default en)")
    roi.add_argument("--currency", help="currency symbol on the exported page (default: the active dataset's "
                                        "stored currency, as on the ROI page; $ without a database)")
    roi.add_argument("--db", help="database whose active dataset's currency the export uses (default "
                                  "$CHURN_RADAR_DB or data/churn.duckdb)")
    roi.add_argument("--format", choices=("json", "text"), default="text")
    _campaign_parser(sub)
    return parser


def _campaign_parser(sub) -> None:
    campaign = sub.add_parser("campaign", help="retention campaigns: launch one with a control group, record the call "
                                               "centre's outcomes, and measure the effect")
    verbs = campaign.add_subparsers(dest="campaign_command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", help="database file (default $CHURN_RADAR_DB or data/churn.duckdb)")
        p.add_argument("--format", choices=("json", "text"), default="text")

    create = verbs.add_parser("create", help="score the active dataset with the champion (a visit log as of its "
                                             "last date), hold back a control group per tier, store the campaign "
                                             "and write the call sheet (the contacted customers only)")
    create.add_argument("--name", required=True, help="the campaign's name (1 to 80 characters)")
    create.add_argument("--owner", default="", help="who runs it")
    create.add_argument("--control", type=float, default=0.2,
                        help="share of each tier held back as the control group, 0.05 to 0.5 (default 0.2)")
    create.add_argument("--tier", help="the risk tiers to include, comma separated, e.g. critical,high (default: "
                                       "every tier of the active customers)")
    create.add_argument("--seed", type=int, help="seed of the random assignment (default: drawn and recorded)")
    create.add_argument("--start", help="the first day of calls, YYYY-MM-DD (default today; a visit log: "
                        "the day it is scored as of, from which results are counted)")
    create.add_argument("--contact-cost", type=float, default=5.0, help="cost of contacting one customer (default 5)")
    create.add_argument("--action", nargs="+", action="extend", default=[], metavar="TIER=ACTION",
                        help="the action for every customer of a tier, e.g. critical=retention_call (default: each "
                             "customer's recommended action)")
    create.add_argument("--out", required=True, help="the call sheet to write: .csv, or .xlsx for a workbook")
    create.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the recommended actions")
    create.add_argument("--explain", default="none",
                        help="whose reasons to compute when the dataset is not scored yet: none (default), auto, all "
                             "or a number of customers (the call sheet does not show reasons)")
    common(create)

    sheet = verbs.add_parser("sheet", help="write a stored campaign's call sheet again")
    sheet.add_argument("--campaign", type=int, required=True, help="the campaign id (campaign list)")
    sheet.add_argument("--out", required=True, help="the call sheet to write: .csv, or .xlsx for a workbook")
    sheet.add_argument("--lang", choices=("en", "zh"), default="en", help="language of the recommended actions")
    common(sheet)

    outcomes = verbs.add_parser("outcomes", help="check the call centre's outcome sheet and store it as the next "
                                                 "outcome version (a sheet with bad rows is refused whole)")
    outcomes.add_argument("--campaign", type=int, required=True, help="the campaign id (campaign list)")
    outcomes.add_argument("--data", required=True, help="the outcome sheet (CSV or XLSX)")
    outcomes.add_argument("--map", nargs="+", action="extend", default=[], metavar="FIELD=COLUMN",
                          help="the sheet's column for an outcome field, when not detected, e.g. result=Outcome")
    outcomes.add_argument("--replace", action="store_true",
                          help="store results that change final results already stored (refused without it)")
    common(outcomes)

    observe = verbs.add_parser("observe", help="read every campaign customer's result from a later stored visit log")
    observe.add_argument("--campaign", type=int, required=True, help="the campaign id (campaign list)")
    observe.add_argument("--events-version", type=int,
                         help="the stored visit-log version to read (default: the newest that runs past the start)")
    observe.add_argument("--replace", action="store_true", help="store results that change final results")
    common(observe)

    listing = verbs.add_parser("list", help="list the stored campaigns with their state")
    common(listing)

    report = verbs.add_parser("report", help="the measured effect: churn per arm, uplift, customers and value "
                                             "saved, cost and ROI")
    report.add_argument("--campaign", type=int, required=True, help="the campaign id (campaign list)")
    common(report)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    command = args.command if args.command != "campaign" else f"campaign {args.campaign_command}"
    try:
        result = _COMMANDS[command](args)
    except StoreError as err:  # also a damaged, foreign or newer database, and a full disk
        print(f"error: {_one_line(err)}", file=sys.stderr)
        return EXIT_STORE
    except ChurnCoreError as err:
        print(f"error: {_one_line(err)}", file=sys.stderr)
        details = _error_details(err)
        if details is not None:  # every problem of an outcome sheet, or the results it would change
            print(_details_text(details), file=sys.stderr)
            if args.format == "json":
                json.dump(details, sys.stdout, ensure_ascii=False, indent=2, default=str)
                sys.stdout.write("\n")
        return EXIT_INPUT
    except OSError as err:  # a write the library did not foresee failed (a full disk, a folder it may not write)
        print(f"error: {_one_line(err)}. Nothing more was written; free some space or check the folder's "
              "permissions and run the command again.", file=sys.stderr)
        return EXIT_STORE
    if args.format == "json":
        json.dump(result, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(_text(command, result))
    return 0


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _load(args: argparse.Namespace):
    return load_dataset(args.data, target=args.target, positive=args.positive, sheet=args.sheet)


def _describe(args: argparse.Namespace) -> dict[str, Any]:
    dataset = _load(args)
    desc = analysis.describe(dataset, crosstab=tuple(args.crosstab) if args.crosstab else None,
                             min_group=args.min_group)
    out = desc.to_dict()
    out["dataset"] = {"name": dataset.name, "rows": dataset.n_rows, "roles": dataset.roles.to_dict(),
                      "warnings": [i.message for i in dataset.report.warnings]}
    return out


def _import(args: argparse.Namespace) -> dict[str, Any]:
    dataset = _load(args)
    if args.name:
        from dataclasses import replace
        dataset = replace(dataset, name=args.name)
    version = Store(args.db).save_dataset(dataset, activate=not args.no_activate)
    return {**version.__dict__, "warnings": [i.message for i in dataset.report.warnings]}


def _datasets(args: argparse.Namespace) -> dict[str, Any]:
    return {"datasets": [v.__dict__ for v in Store(args.db).list_datasets().versions]}


def _one_source(args: argparse.Namespace) -> None:
    if bool(args.data) == bool(getattr(args, "events", None)):
        if args.command == "score" and not args.data:
            return
        raise ParameterError("Give either --data (a customer table) or --events (a visit log), not "
                             f"{'both' if args.data else 'neither'}.", code="bad_parameter", name="data",
                             value=args.data)


def _read_log(args: argparse.Namespace):
    from .events import read_events

    return read_events(args.events, id=args.id, time=args.time, amount=args.amount, type=args.type,
                       customers=args.customers)


def _train(args: argparse.Namespace) -> dict[str, Any]:
    from .modeling import run_training

    _one_source(args)
    _engine_usable(args)
    if args.events:
        return _train_events(args)
    store = Store(args.db)
    version = store.save_dataset(_load(args), activate=args.promote)
    run_id, result = run_training(store, store.load_dataset(version.version), promote=args.promote, seed=args.seed,
                                  models=tuple(args.models), choose_by=args.choose_by)
    champion = store.champion()
    scored = None
    if args.promote:  # the Risk page then only reads stored scores
        from .scoring import score_dataset

        scored = score_dataset(store.load_dataset(version.version), store=store, champion=champion)
    models = [_model_json(m) for m in result.models]
    return {"mode": "snapshot", "run_id": run_id, "dataset_version": version.version, "choose_by": result.choose_by,
            "ranking": [m.name for m in result.ranked()], "top_two_within_noise": result.within_noise(),
            "models": models, "features": list(result.features), "excluded": result.excluded,
            "champion": None if champion is None else {"run_id": champion.run_id, "model": champion.model},
            "score_set": None if scored is None else scored.score_set}


_METRIC_KEYS = ("roc_auc", "pr_auc", "precision", "recall", "f1", "accuracy", "brier", "log_loss", "threshold")


def _model_json(m) -> dict[str, Any]:
    """One model of a training result as `train` prints it: test metrics, CV means, interval."""
    return {"name": m.name, **{k: getattr(m.holdout, k) for k in _METRIC_KEYS},
            "cv_roc_auc_mean": m.cv_mean("roc_auc"), "cv_roc_auc_sd": float(m.cv["roc_auc"].std(ddof=1)),
            "cv_pr_auc_mean": m.cv_mean("pr_auc"), "roc_auc_ci_low": m.roc_auc_ci[0],
            "roc_auc_ci_high": m.roc_auc_ci[1],
            "log_loss_uncalibrated": None if m.uncalibrated is None else m.uncalibrated.log_loss}


def _log_currency(log) -> str:
    """The currency a visit log's own files suggest, as the Data page detects it on an upload: the log's source
    headers ("amount_cny" is "¥") and values, then the customer table's. The built customer table renames the
    amount (spend_365d), so detecting on it alone would say "$" for a CNY log."""
    import pandas as pd

    from .events.log import AMOUNT, ID, TIME, TYPE
    from .money import detect_currency

    roles = log.roles
    names = {ID: roles.id, TIME: roles.time, AMOUNT: roles.amount, TYPE: roles.type}
    frames = [log.frame.head(200).rename(columns={k: v for k, v in names.items() if v is not None})]
    if log.customers is not None:
        frames.append(log.customers.head(200).add_prefix("customers."))
    return detect_currency(pd.concat([frame.reset_index(drop=True) for frame in frames], axis=1))


def _train_events(args: argparse.Namespace) -> dict[str, Any]:
    from .events import EventWindow, event_dataset
    from .modeling import auc_difference_within_noise, run_training

    store = Store(args.db)
    log = _read_log(args)
    window = None  # fitted to the gaps between visits
    if args.window is not None or args.lookback != 365 or args.visit_types:
        from .events import suggest_window

        visits = tuple(args.visit_types) if args.visit_types else None
        days = args.window if args.window is not None else suggest_window(
            log, base=EventWindow(visit_types=visits)).window.window_days
        window = EventWindow(window_days=days, lookback_days=args.lookback, visit_types=visits)
    built = event_dataset(log, window=window)
    version = store.save_events(built, activate=args.promote)
    if store.dataset_setting(version.version, "currency") is None:  # a currency chosen before for the name stays
        store.set_currency(version.version, _log_currency(log))
    with _engine(args) as engine:
        if engine.is_dask and store.parquet_url("events", version.version) is None:
            from .scale.parquet import parquet_root, save_events_parquet  # the workers read the log in place

            save_events_parquet(store, version.version, log, f"{parquet_root(store)}/events/v{version.version}")
        run_id, result = run_training(store, store.load_dataset(version.version), promote=args.promote,
                                      seed=args.seed, models=tuple(args.models),
                                      **({"engine": engine} if engine.is_dask else {}))
    summary = store.get_run(run_id).params["summary"]
    champion = store.champion()
    scored = None
    if args.promote:  # the Risk page then reads stored scores, and the history back to the test cut-off
        from .events import score_as_of, score_back

        scored = score_as_of(store, version.version, champion=champion)
        score_back(store, version.version, champion=champion)
    ranked = result.ranked()
    boots = [m.boot_auc for m in ranked[:2]]
    models = [_model_json(m) for m in result.models]
    baseline = summary["baseline"]
    return {"mode": "events", "run_id": run_id, "dataset_version": version.version, "choose_by": result.choose_by,
            "ranking": [m.name for m in ranked],
            "top_two_within_noise": auc_difference_within_noise(*boots) if len(boots) == 2 else None,
            "models": models, "features": list(result.features), "excluded": {},
            "population": summary["population"],
            "baseline": {"rule": baseline["rule"], "roc_auc": baseline["roc_auc"],
                         "precision": baseline["precision"], "recall": baseline["recall"],
                         "ranking_auc": baseline["ranking_auc"]},
            "lift": summary["lift"], "verdict": summary["verdict"], "rules": summary["rules"],
            "deciles": summary["deciles"],
            "champion": None if champion is None else {"run_id": champion.run_id, "model": champion.model},
            "score_set": None if scored is None else scored.score_set,
            "engine": summary.get("engine", "local"), "engine_notes": summary.get("engine_notes", {})}


def _engine_usable(args: argparse.Namespace) -> None:
    """--engine dask (and --scheduler, --workers, --out-parquet) only with a visit log; scoring needs an output."""
    if args.engine == "dask" and not getattr(args, "events", None) and args.command == "train":
        raise ParameterError("--engine dask trains visit logs: pass --events FILE (a customer table trains locally).",
                             code="bad_parameter", name="engine", value="dask")
    if args.scheduler and args.engine != "dask":
        raise ParameterError(f"--scheduler {args.scheduler} needs --engine dask.", code="bad_parameter",
                             name="scheduler", value=args.scheduler)
    if args.command != "score":
        return
    if args.out_parquet and args.engine != "dask":
        raise ParameterError("--out-parquet writes a Dask scoring: add --engine dask, or write a CSV with --out.",
                             code="bad_parameter", name="out_parquet", value=args.out_parquet)
    if not args.out and not args.out_parquet:
        raise ParameterError("Say where the scores go: --out FILE.csv" + (" or --out-parquet URL"
                             if args.engine == "dask" else "") + ".", code="bad_parameter", name="out", value=None)
    if args.engine == "dask" and args.data:
        raise ParameterError("--engine dask scores visit logs: pass --events FILE (a customer table scores "
                             "locally).", code="bad_parameter", name="engine", value="dask")


def _engine(args: argparse.Namespace):
    """The engine the command runs on (:func:`churn_core.scale.open_engine`), open for the command's work."""
    from .scale import open_engine

    if args.engine == "dask" and not args.verbose:  # distributed logs every cluster event at INFO on its own
        logging.getLogger("distributed").setLevel(logging.WARNING)
    return open_engine(args.engine, scheduler=args.scheduler, n_workers=args.workers)


def _events_champion(store: Store):
    """The champion, which must have been trained on a visit log, with the version it was trained on."""
    champion = store.champion()
    if champion is None:
        raise NotFoundError("No champion model yet. Train one with `python -m churn_core train --events FILE "
                            "--promote` first.", code="no_champion")
    trained_on = store.get_run(champion.run_id).dataset_version
    if store.events_meta(trained_on) is None:
        raise ParameterError(f"The champion (run {champion.run_id}) was trained on a customer table, not a visit "
                             "log, so it cannot score one as of a date. Train on a visit log first.",
                             code="champion_not_events", run=champion.run_id)
    return champion, trained_on


def _score_events(args: argparse.Namespace, store: Store, explain) -> dict[str, Any]:
    """Score a visit log as of a date with the champion, store the scoring, and write one row per eligible
    customer: the call list's columns plus as_of, days_since_last_event and lifecycle_stage."""
    from .errors import SchemaError
    from .events import event_dataset, score_as_of
    from .events.scoring import as_of_table, window_of
    from .risk import RiskFilter, call_list, filter_customers
    from .scoring import score_customers, write_csv

    champion, trained_on = _events_champion(store)
    window = window_of(store, trained_on)
    base = store.load_dataset(trained_on)
    stored = True
    if args.engine == "dask" and args.events and _parquet_log(args.events):  # the nightly path at scale
        return _score_parquet_log(args, store, champion=champion, trained_on=trained_on, window=window, base=base)
    if args.events:
        log = _read_log(args)
        try:
            version = store.save_events(event_dataset(log, window=window), activate=False).version
        except SchemaError:  # too short to label: scored, not stored as a version
            version, stored = None, False
    else:
        version = store.active_version().version if store.active_version() else None
        if version is None or store.events_meta(version) is None:
            raise ParameterError("The active dataset is not a visit log. Pass --events FILE.",
                                 code="not_event_dataset", version=version)
        log = store.load_events(version)
    if args.engine == "dask":
        return _score_events_dask(args, store, champion=champion, log=log, version=version if stored else None,
                                  window=window, base=base)
    options = dict(explain=explain, explain_budget_s=args.explain_budget, champion=champion)
    if stored:
        scored = score_as_of(store, version, as_of=args.as_of, log=log, **options)
    else:
        table = as_of_table(log, window=window, as_of=args.as_of or log.last_date, base=base)
        scored = score_customers(table, store=store, **options)
    table = scored.dataset
    out = call_list(filter_customers(scored, where=RiskFilter(status="all")), lang=args.lang, sort=None,
                    currency=store.currency(version if stored else trained_on))  # "Spent ¥2,300 in the last..."
    extra = table.frame[["days_since_last_event", "lifecycle_stage"]].reset_index(drop=True)
    out.insert(1, "as_of", table.events.cutoff.date().isoformat())
    for col in extra.columns:
        out[col] = extra[col].astype(object).where(extra[col].notna(), None).to_numpy()
    path = write_csv(out, args.out)
    tiers = scored.frame["tier"].value_counts().reindex([t.key for t in scored.policy.tiers]).fillna(0)
    return {"mode": "events", "out": str(path), "rows": len(scored.frame), "run_id": scored.run_id,
            "model": scored.model, "scoring": scored.scoring, "as_of": table.events.cutoff.date().isoformat(),
            "window_days": table.events.window_days, "lookback_days": table.events.lookback_days,
            "lapsed": table.events.lapsed, "dataset_version": version, "score_set": scored.score_set,
            "explained": scored.explained, "seconds": scored.seconds,
            "base_probability": scored.base_probability, "tiers": {k: int(v) for k, v in tiers.items()},
            "probability_of": f"no visit in the next {table.events.window_days} days",
            "stored": stored and scored.score_set is not None}


def _score_events_dask(args: argparse.Namespace, store: Store, *, champion, log, version: int | None, window,
                       base) -> dict[str, Any]:
    """Score a visit log as of a date on the Dask engine (:func:`churn_core.scale.scoring.score_dask`): the
    features here, the model per partition on the workers; --out writes the scores as CSV, --out-parquet as
    partitioned Parquet kept as the version's score set."""
    import pandas as pd

    from .events.scoring import as_of_table
    from .scale.scoring import save_dask_scores, score_dask
    from .scoring import champion_model, write_csv

    stored_day = store.load_dataset(version).events.as_of if version is not None else None
    _, model = champion_model(store, champion=champion)
    with _engine(args) as engine:
        if stored_day is not None and (args.as_of is None or pd.Timestamp(args.as_of).normalize() == stored_day):
            table = store.load_as_of(version)  # the as-of table stored with the version, as score_as_of reads it
        else:  # the features on the workers, one customer bucket a task
            table = as_of_table(log, window=window, as_of=args.as_of or log.last_date, version=version, base=base,
                                engine=engine)
        features = _dask_features(table)
        scores = score_dask(features, model=model, engine=engine, as_of=table.events.cutoff,
                            value="__value__" if "__value__" in features else None, out_url=args.out_parquet)
    if args.out_parquet and version is not None:
        scores = save_dask_scores(store, scores, run_id=champion.run_id, model=champion.model,
                                  dataset_version=version)
    path = write_csv(scores.to_frame(), args.out) if args.out else None
    return {"mode": "events", "engine": "dask", "out": None if path is None else str(path),
            "out_parquet": args.out_parquet, "rows": scores.rows, "partitions": scores.partitions,
            "run_id": champion.run_id, "model": champion.model, "as_of": table.events.cutoff.date().isoformat(),
            "dataset_version": version, "score_set": scores.score_set, "seconds": scores.seconds,
            "base_probability": scores.base_probability, "stored": scores.score_set is not None,
            "probability_of": f"no visit in the next {table.events.window_days} days"}


def _parquet_log(path: str) -> bool:
    """Whether ``path`` is an event log written as bucketed Parquet (churn_core.scale.write_events_parquet)."""
    from .scale.parquet import META, _filesystem, _join

    fs, root = _filesystem(str(path))
    return fs.exists(_join(root, META))


def _score_parquet_log(args: argparse.Namespace, store: Store, *, champion, trained_on: int, window,
                       base) -> dict[str, Any]:
    """Score a bucketed Parquet log on the Dask engine without reading it into this process: the features on
    the workers (one bucket a task), the model per partition, the scores as Parquet registered as a score set
    of the champion's own version, dated as of the day (the Risk page then pages through it in DuckDB). Not
    stored as a dataset version: a log this size stays in its Parquet."""
    from .events.scoring import as_of_table
    from .scale.parquet import open_events_parquet
    from .scale.scoring import save_dask_scores, score_dask
    from .scoring import champion_model, write_csv

    source = open_events_parquet(args.events)
    _, model = champion_model(store, champion=champion)
    with _engine(args) as engine:
        table = as_of_table(source, window=window, as_of=args.as_of or source.last_date, base=base, engine=engine)
        features = _dask_features(table)
        scores = score_dask(features, model=model, engine=engine, as_of=table.events.cutoff,
                            value="__value__" if "__value__" in features else None, out_url=args.out_parquet)
    if args.out_parquet:
        scores = save_dask_scores(store, scores, run_id=champion.run_id, model=champion.model,
                                  dataset_version=trained_on)
    path = write_csv(scores.to_frame(), args.out) if args.out else None
    return {"mode": "events", "engine": "dask", "source": "parquet", "events": source.rows,
            "customers": source.customers, "out": None if path is None else str(path),
            "out_parquet": args.out_parquet, "rows": scores.rows, "partitions": scores.partitions,
            "run_id": champion.run_id, "model": champion.model, "as_of": table.events.cutoff.date().isoformat(),
            "dataset_version": trained_on, "score_set": scores.score_set, "seconds": scores.seconds,
            "base_probability": scores.base_probability, "stored": scores.score_set is not None,
            "probability_of": f"no visit in the next {table.events.window_days} days"}


def _dask_features(table):
    """The as-of features to score (customer_id, the model's inputs, ``__value__``: the customer's value)."""
    frame = table.frame.assign(customer_id=table.ids().astype(str).to_numpy())
    value = table.value()
    return frame.assign(__value__=value.to_numpy()) if value is not None else frame


def _score(args: argparse.Namespace) -> dict[str, Any]:
    from .risk import RiskFilter, call_list, filter_customers
    from .scoring import score_customers, score_dataset, write_csv

    _one_source(args)
    _engine_usable(args)
    store = Store(args.db)
    explain = int(args.explain) if args.explain.isdigit() else args.explain
    active = store.active_version() if not args.data else None
    if args.events or args.as_of or (active is not None and active.kind == "events"):
        return _score_events(args, store, explain)
    options = dict(store=store, explain=explain, explain_budget_s=args.explain_budget)
    if args.data:
        scored = score_customers(load_dataset(args.data, sheet=args.sheet, require_target=False), **options)
    else:
        scored = score_dataset(store.load_dataset(), **options)
    path = write_csv(call_list(filter_customers(scored, where=RiskFilter(status="all")), lang=args.lang,
                               sort=None), args.out)
    tiers = scored.frame["tier"].value_counts().reindex([t.key for t in scored.policy.tiers]).fillna(0)
    return {"out": str(path), "rows": len(scored.frame), "run_id": scored.run_id, "model": scored.model,
            "scoring": scored.scoring, "active": int(scored.active.sum()), "churned": scored.churned,
            "explained": scored.explained, "score_set": scored.score_set, "seconds": scored.seconds,
            "base_probability": scored.base_probability, "tiers": {k: int(v) for k, v in tiers.items()}}


def _drift(args: argparse.Namespace) -> dict[str, Any]:
    from .drift import drift_report

    store = Store(args.db)
    champion = store.champion()
    if champion is None:
        raise NotFoundError("No champion model yet, so there is no training data to compare the file with. Train a "
                            "model and promote it (`python -m churn_core train --data FILE --promote`).",
                            code="no_champion")
    version = store.get_run(champion.run_id).dataset_version
    reference = store.load_dataset(version)
    current = load_dataset(args.data, target=args.target, positive=args.positive, sheet=args.sheet,
                           require_target=False)
    report = drift_report(reference, current)
    return {**report.to_dict(), "dataset_version": version,
            "champion": {"run_id": champion.run_id, "model": champion.model}, "data": current.name}


def _roi(args: argparse.Namespace) -> dict[str, Any]:
    from .roi import PRESETS, CaseInputs, business_case

    values = PRESETS[args.preset].to_dict() if args.preset else {}
    given = {"customers": args.customers, "baseline_churn": args.baseline_churn, "target_churn": args.target_churn,
             "retention_success": args.retention_success, "contacted": args.contacted, "ltv": args.ltv,
             "annual_value": args.annual_value, "remaining_years": args.remaining_years,
             "investment": args.investment, "annual_cost": args.annual_cost, "contact_cost": args.contact_cost,
             "incentive_cost": args.incentive_cost, "horizon_years": args.years,
             "lifetime_years": args.lifetime_years}
    values.update({k: v for k, v in given.items() if v is not None})
    if args.retention_success is not None and args.target_churn is None:
        values["target_churn"] = None
    if args.annual_value is not None and args.ltv is None:
        values["ltv"] = None
    missing = [f"--{k.replace('_', '-')}" for k in ("customers", "baseline_churn") if values.get(k) is None]
    if missing:
        raise ParameterError(f"The roi command needs {' and '.join(missing)}, which was not given. Add it, or "
                             f"start from a published case with --preset {PRESET_NAMES[0]}.",
                             code="roi_missing_inputs", names=missing)
    case = business_case(CaseInputs(**values))
    return {**case.to_dict(), **_roi_exports(case, args)}


def _roi_exports(case, args: argparse.Namespace) -> dict[str, str]:
    """Write the ROI page's one-page export of ``case`` to --pdf / --png; their paths by format."""
    if not (args.pdf or args.png):
        return {}
    import datetime as dt
    from pathlib import Path

    from . import onepager, roi_page

    currency = args.currency if args.currency is not None else _stored_currency(args.db)
    source = "manual" if case.inputs.target_churn is not None else "reach"
    page = roi_page.one_page(case, subtitle=roi_page.case_subtitle(args.preset, date=dt.date.today().isoformat(),
                                                                   lang=args.lang),
                             lang=args.lang, currency=currency, source=source)
    written = {}
    for kind, path, render in (("pdf", args.pdf, onepager.render_pdf), ("png", args.png, onepager.render_png)):
        if path:
            try:
                Path(path).write_bytes(render(page))
            except OSError as err:
                raise ParameterError(f"The --{kind} file {path!r} cannot be written ({err.strerror}). Give a path "
                                     "in a folder that exists and that you may write to.",
                                     code="unwritable_file", path=str(path)) from err
            written[kind] = str(path)
    return written


def _stored_currency(db: str | None) -> str:
    """The active dataset's currency in the database (never created for this); "$" without one."""
    from .store import resolve_db_path

    path = resolve_db_path(db)
    if not path.exists():
        return "$"
    store = Store(path)
    active = store.active_version()
    return "$" if active is None else store.currency(active.version)


# -- campaigns ----------------------------------------------------------------------------------------------

def _active_scored(store: Store, *, explain: str | int = "auto", explain_budget: float = 20.0):
    """The active dataset scored by the champion as `score` and the Risk page score it (a visit log as of its
    last date); a score set the champion already made is read back instead of scored again."""
    from .scoring import score_dataset

    active = store.active_version()
    if active is not None and active.kind == "events":
        from .events import score_as_of

        return score_as_of(store, active.version, explain=explain, explain_budget_s=explain_budget)
    return score_dataset(store.load_dataset(), store=store, explain=explain, explain_budget_s=explain_budget)


def _pairs(values: Sequence[str], flag: str) -> list[tuple[str, str]]:
    """``["a=b", ...]`` as pairs; anything else is refused naming the flag."""
    out = []
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            raise ParameterError(f"Each {flag} value must be written KEY=VALUE, e.g. {flag} critical=retention_call. "
                                 f"Got {value!r}.", code="bad_parameter", name=flag.lstrip("-"), value=value)
        out.append((key.strip(), rest.strip()))
    return out


def _known(values: Sequence[str], known: Sequence[str], flag: str) -> None:
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ParameterError(f"{flag} names tiers the risk policy does not have: {unknown}. The tiers are "
                             f"{list(known)}.", code="bad_parameter", name=flag.lstrip("-"), value=", ".join(unknown))


def _day(text: str | None):
    import datetime as dt

    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ParameterError(f"--start must be a day written YYYY-MM-DD, e.g. 2026-10-01. Got {text!r}.",
                             code="bad_parameter", name="start", value=text) from None


def _sheet_path(path: str):
    """The call sheet's path, checked before anything is stored: .csv or .xlsx, in a folder that can be written."""
    from pathlib import Path

    out = Path(path)
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise ParameterError(f"The call sheet must be a .csv or .xlsx file. Got {path!r}; end the name with .csv "
                             "or .xlsx.", code="bad_parameter", name="out", value=str(path))
    folder = out.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ParameterError(f"The call sheet {path!r} cannot be written ({err.strerror}). Give a path in a folder "
                             "you may write to.", code="unwritable_file", path=str(path)) from err
    if not os.access(folder, os.W_OK):
        raise ParameterError(f"The call sheet {path!r} cannot be written (the folder is read-only). Give a path in "
                             "a folder you may write to.", code="unwritable_file", path=str(path))
    return out


def _write_sheet(store: Store, campaign_id: int, path, *, lang: str) -> tuple[str, int]:
    """Write the campaign's call sheet (the contacted arm only) as CSV, or XLSX for a .xlsx name."""
    from .campaigns import call_sheet
    from .scoring import write_csv, xlsx_bytes

    sheet = call_sheet(store, campaign_id, lang=lang)
    try:
        if path.suffix.lower() == ".xlsx":
            path.write_bytes(xlsx_bytes(sheet, sheet="calls"))
        else:
            write_csv(sheet, path)
    except OSError as err:
        raise ParameterError(f"Campaign {campaign_id} is stored, but its call sheet {str(path)!r} could not be "
                             f"written ({err.strerror}). Write it again with `python -m churn_core campaign sheet "
                             f"--campaign {campaign_id} --out FILE`.", code="unwritable_file", path=str(path)) from err
    return str(path), len(sheet)


def _num(value) -> float | None:
    import math

    return None if value is None or not math.isfinite(float(value)) else float(value)


def _campaign_create(args: argparse.Namespace) -> dict[str, Any]:
    from .campaigns import CampaignSpec, launch_campaign
    from .risk import RiskFilter, filter_customers

    out = _sheet_path(args.out)
    actions = _pairs(args.action, "--action")
    start = _day(args.start)
    store = Store(args.db)
    explain = int(args.explain) if args.explain.isdigit() else args.explain
    scored = _active_scored(store, explain=explain)
    events = scored.dataset.events
    if args.start is None and events is not None:  # a visit log: results are counted from the day it was scored as of
        start = events.as_of.date()
    spec = CampaignSpec(name=args.name, owner=args.owner, control_share=args.control, seed=args.seed,
                        actions=tuple(actions), start=start, contact_cost=args.contact_cost)
    known = [t.key for t in scored.policy.tiers]
    tiers = tuple(t.strip() for t in (args.tier or "").split(",") if t.strip())
    _known(tiers, known, "--tier")
    _known([tier for tier, _ in actions], known, "--action")
    launched = launch_campaign(filter_customers(scored, where=RiskFilter(tiers=tiers)), store=store, spec=spec)
    campaign, check = launched.campaign, launched.plan.check
    path, rows = _write_sheet(store, campaign.id, out, lang=args.lang)
    per_tier = {str(r["tier"]): {"contact": int(r["contact"]), "control": int(r["control"])}
                for r in launched.plan.counts.to_dict("records")}
    return {"campaign": campaign.id, "name": campaign.name, "owner": campaign.owner, "start": str(campaign.start),
            "dataset_version": campaign.dataset_version, "run_id": campaign.run_id, "model": campaign.model,
            "as_of": None if campaign.as_of is None else str(campaign.as_of), "contact": check.n_contact,
            "control": check.n_control, "per_tier": per_tier, "seed": campaign.seed,
            "control_share": campaign.control_share, "contact_cost": campaign.contact_cost,
            "window_days": campaign.window_days, "detectable_uplift": _num(check.detectable),
            "detectable_relative": _num(check.relative), "base_rate": _num(check.base_rate),
            "too_small": bool(check.too_small), "reason": check.reason, "out": path, "rows": rows}


def _campaign_sheet(args: argparse.Namespace) -> dict[str, Any]:
    out = _sheet_path(args.out)
    store = Store(args.db)
    path, rows = _write_sheet(store, store.campaign(args.campaign).id, out, lang=args.lang)
    return {"campaign": args.campaign, "out": path, "rows": rows}


def _recorded(campaign_id: int, recorded) -> dict[str, Any]:
    change, batch = recorded.change, recorded.batch
    return {"campaign": campaign_id, "version": None if batch is None else batch.version, "new": change.new,
            "updated": change.updated, "unchanged": change.unchanged, "replaced": len(change.replaced),
            "warnings": [_problem(p) for p in recorded.check.warnings]}


def _problem(p) -> dict[str, Any]:
    return {"code": p.code, "rows": p.rows, "examples": list(p.examples)}


def _campaign_outcomes(args: argparse.Namespace) -> dict[str, Any]:
    from pathlib import Path

    from .campaigns import record_outcomes

    mapping = dict(_pairs(args.map, "--map")) or None
    store = Store(args.db)
    recorded = record_outcomes(args.data, store=store, campaign_id=args.campaign, source="cli",
                               filename=Path(args.data).name, mapping=mapping, allow_changes=args.replace)
    return _recorded(args.campaign, recorded)


def _campaign_observe(args: argparse.Namespace) -> dict[str, Any]:
    from .campaigns import observable_logs, observe_campaign

    store = Store(args.db)
    campaign = store.campaign(args.campaign)
    if campaign.window_days is None:
        raise ParameterError(f"Campaign {campaign.id} was not drawn from a visit log, so its results cannot be "
                             "observed on one. Record the call centre's results with `campaign outcomes`.",
                             code="campaign_not_events", campaign=campaign.id)
    versions = [v.version for v in observable_logs(store, campaign.id)]
    version = args.events_version if args.events_version is not None else (versions[0] if versions else None)
    if version not in versions:
        raise ParameterError(f"Campaign {campaign.id} started on {campaign.start}; its results can only be observed "
                             f"on a stored visit log that runs past that day: versions {versions}. Got "
                             f"{version}. Store a later log first (`python -m churn_core score --events FILE --out "
                             "FILE.csv` stores it).", code="bad_parameter", name="events_version", value=version)
    recorded = observe_campaign(store, campaign.id, version=version, allow_changes=args.replace)
    results = store.campaign_outcomes(campaign.id)["result"].astype(str).value_counts()
    return {**_recorded(campaign.id, recorded), "events_version": version,
            "results": {k: int(results.get(k, 0)) for k in ("retained", "lost", "pending")}}


def _campaign_list(args: argparse.Namespace) -> dict[str, Any]:
    from .campaigns import campaign_state, report

    store = Store(args.db)
    rows = []
    for c in store.list_campaigns():
        measured = report(store, c.id) if c.outcome_version else None
        rows.append({"id": c.id, "name": c.name, "owner": c.owner, "created_at": str(c.created_at),
                     "start": str(c.start), "state": campaign_state(c, measured), "contact": c.n_contact,
                     "control": c.n_control, "outcome_version": c.outcome_version,
                     "dataset_version": c.dataset_version, "model": c.model, "seed": c.seed,
                     "control_share": c.control_share, "contact_cost": c.contact_cost,
                     "window_days": c.window_days, "verdict": None if measured is None else measured.verdict})
    return {"campaigns": rows}


def _campaign_report(args: argparse.Namespace) -> dict[str, Any]:
    from .campaigns import report

    return report(Store(args.db), args.campaign).to_dict()


def _error_details(err: ChurnCoreError) -> dict[str, Any] | None:
    """Everything wrong with an outcome sheet (one entry per kind of bad row), or the final results it would
    change; None for any other error."""
    if err.code == "outcomes_invalid":
        return {"error": err.code, "problems": [_problem(p) for p in err.report.problems if p.blocking]}
    if err.code == "outcomes_conflict":
        return {"error": err.code, "changed": err.report.astype(str).to_dict("records")}
    return None


def _details_text(details: dict[str, Any]) -> str:
    if "problems" in details:
        return "\n".join(f"  {p['code']}: {p['rows']} rows, e.g. row " + "; row ".join(p["examples"])
                         for p in details["problems"])
    changed = details["changed"]
    lines = [f"  {c['customer_id']}: {c['before']} -> {c['after']}" for c in changed[:20]]
    if len(changed) > 20:
        lines.append(f"  ... and {len(changed) - 20} more")
    return "\n".join(lines + ["Run again with --replace to store them as a new version."])


def _campaign_text(command: str, result: dict[str, Any]) -> str:
    if command == "campaign create":
        lines = [f"campaign {result['campaign']} '{result['name']}': {result['contact']} to call, {result['control']} "
                 f"held back as the control group (seed {result['seed']}), starting {result['start']}"]
        lines += [f"  {tier}: {n['contact']} to call, {n['control']} held back" for tier, n in
                  result["per_tier"].items()]
        if result["detectable_uplift"] is not None:
            lines.append(f"smallest drop in churn it can detect: {result['detectable_uplift'] * 100:.1f} percentage "
                         f"points (expected churn without calls {result['base_rate']:.1%})")
        if result["too_small"]:
            lines.append(f"warning: too small to measure the effect ({result['reason']})")
        lines.append(f"call sheet ({result['rows']} customers): {result['out']}")
        return "\n".join(lines) + "\n"
    if command == "campaign sheet":
        return f"call sheet of campaign {result['campaign']} ({result['rows']} customers): {result['out']}\n"
    if command in ("campaign outcomes", "campaign observe"):
        counts = (f"{result['new']} new, {result['updated']} updated, {result['unchanged']} unchanged, "
                  f"{result['replaced']} final results replaced")
        head = (f"campaign {result['campaign']}: nothing changed ({counts})" if result["version"] is None else
                f"campaign {result['campaign']}: stored as outcome version {result['version']} ({counts})")
        lines = [head] + [f"warning: {w['code']}: {w['rows']} rows, e.g. row {w['examples'][0]}"
                          for w in result["warnings"]]
        if "results" in result:
            lines.append("results: " + ", ".join(f"{k} {v}" for k, v in result["results"].items()))
        return "\n".join(lines) + "\n"
    if command == "campaign list":
        rows = [f"{c['id']:>4}  {c['name']}  {c['state']}  {c['contact']} to call, {c['control']} control, "
                f"start {c['start']}, outcome version {c['outcome_version']}" for c in result["campaigns"]]
        return "\n".join(rows or ["no campaigns stored"]) + "\n"
    return _report_text(result)


def _report_text(r: dict[str, Any]) -> str:
    def rate(x) -> str:
        return "n/a" if x is None else f"{x:.1%}"

    def arm(name: str, a: dict) -> str:
        return (f"  {name:<10} {a['churned']} of {a['n']} churned, {rate(a['churn_rate'])} (95% CI "
                f"{rate(a['ci_low'])}–{rate(a['ci_high'])}); {a['pending']} pending")

    u, saved = r["uplift"], r["customers_saved"]
    lines = [f"campaign {r['campaign']} '{r['name']}': {r['verdict']}" + ("" if r["finished"] else " (still running)"),
             arm("contacted", r["contacted"]), arm("control", r["control"]),
             f"  uplift {rate(u['estimate'])} (95% CI {rate(u['ci_low'])}–{rate(u['ci_high'])})"]
    if saved["estimate"] is not None:
        lines.append(f"  customers saved {saved['estimate']:,.1f} (95% CI {saved['ci_low']:,.1f}–"
                     f"{saved['ci_high']:,.1f})")
    if r["value_saved"] is not None and r["value_saved"]["estimate"] is not None:
        lines.append(f"  value saved {r['value_saved']['estimate']:,.0f}")
    assumed = " (every assigned customer costed as called)" if r["cost_assumed"] else ""
    roi = "n/a" if r["roi"] is None else f"{r['roi']:.0%}"
    lines.append(f"  cost {r['cost']:,.0f}{assumed}; ROI {roi}")
    return "\n".join(lines) + "\n"


_COMMANDS = {"describe": _describe, "import": _import, "datasets": _datasets, "train": _train, "score": _score,
             "drift": _drift, "roi": _roi, "campaign create": _campaign_create, "campaign sheet": _campaign_sheet,
             "campaign outcomes": _campaign_outcomes, "campaign observe": _campaign_observe,
             "campaign list": _campaign_list, "campaign report": _campaign_report}


def _text(command: str, result: dict[str, Any]) -> str:
    if command.startswith("campaign "):
        return _campaign_text(command, result)
    if command == "describe":
        o = result["overall"]
        lines = [f"{result['dataset']['name']}: {o['customers']} customers, {o['churners']} churned "
                 f"({o['churn_rate']:.2%}, 95% CI {o['ci_low']:.2%}–{o['ci_high']:.2%})"]
        for col, levels in result["by_category"].items():
            if len(levels) <= 12:
                lines.append(f"  {col}: " + ", ".join(f"{lv['value']} {lv['churn_rate']:.2%} (n={lv['customers']})"
                                                       for lv in levels))
        for col, t in result["thresholds"].items():
            if t["threshold"] is not None:
                lines.append(f"  {col} >= {t['threshold']:g}: {t['rate_at_or_above']:.2%} vs {t['rate_below']:.2%}")
        for seg in result["segments"]:
            lines.append(f"  segment {seg['name']}: {seg['churn_rate']:.2%} (n={seg['customers']})")
        lines += [f"  warning: {w}" for w in result["dataset"]["warnings"]]
        return "\n".join(lines) + "\n"
    if command == "import":
        verb = "already stored as" if result["reused"] else "stored as"
        return f"{result['name']}: {verb} version {result['version']} ({result['rows']} rows)" + (
            ", active\n" if result["active"] else "\n")
    if command == "train":
        lines = [f"run {result['run_id']} on dataset v{result['dataset_version']}"]
        lines += [f"  {m['name']:<20} roc_auc {m['roc_auc']:.3f}  f1 {m['f1']:.3f}  threshold {m['threshold']:.2f}"
                  for m in result["models"]]
        champion = result["champion"]
        lines.append("champion: " + ("none" if champion is None else f"run {champion['run_id']} {champion['model']}"))
        return "\n".join(lines) + "\n"
    if command == "roi":
        roi = "n/a (nothing spent)" if result["roi"] is None else f"{result['roi']:.0%}"
        payback = "not within the horizon" if result["payback_months"] is None else \
            f"{result['payback_months']:.1f} months"
        return (f"customers saved {result['customers_saved']:,.0f}; value retained {result['value_retained']:,.0f}; "
                f"total cost {result['total_cost']:,.0f}; net benefit {result['net_benefit']:,.0f}; ROI {roi} "
                f"(whole lifetime value counted when saved); payback {payback} (value spread over "
                f"{result['lifetime_years']:g} years)\n" + "".join(f"{kind}: {result[kind]}\n"
                                                                for kind in ("pdf", "png") if kind in result))
    if command == "drift":
        return _drift_text(result)
    if command == "score":
        tiers = ", ".join(f"{k} {v}" for k, v in result["tiers"].items())
        return (f"scored {result['rows']} rows with run {result['run_id']} {result['model']} "
                f"({result['explained']} explained; {tiers}): {result['out']}\n")
    rows = [f"{'*' if d['active'] else ' '} v{d['version']}  {d['name']}  {d['rows']} rows  {d['created_at']}"
            for d in result["datasets"]]
    return "\n".join(rows or ["no datasets stored"]) + "\n"


def _drift_text(result: dict[str, Any]) -> str:
    champion = result["champion"]
    lines = [f"{result['data']} ({result['current_rows']} rows) against dataset v{result['dataset_version']} "
             f"({result['reference_rows']} rows), the training data of run {champion['run_id']} {champion['model']}",
             f"  {'feature':<32} {'PSI':>7} {'p-value':>9}  status"]
    lines += [f"  {f['name']:<32} {f['psi']:>7.3f} {_p(f['p_value']):>9}  {f['status']}" for f in result["features"]]
    churn = result["churn_rate"]
    lines.append("churn rate: not compared (the file has no target)" if churn is None else
                 f"churn rate: {churn['reference']:.2%} in the training data, {churn['current']:.2%} here "
                 f"(p = {_p(churn['p_value'])})")
    lines.append(f"shifted (PSI >= {result['alert']:g} and p < {result['p_threshold']:.2g}): "
                 + (", ".join(result["shifted"]) or "none"))
    if result["missing_columns"]:
        lines.append("missing here: " + ", ".join(result["missing_columns"]))
    return "\n".join(lines) + "\n"


def _p(value: float) -> str:
    return "< 1e-300" if value < 1e-300 else f"{value:.2g}"


if __name__ == "__main__":
    sys.exit(main())
