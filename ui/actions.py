"""Every write the UI makes, in one place: save, activate or delete a dataset version, train, promote or roll
back the champion, save a scenario or a threshold, keep more explanations, launch a campaign.

Pages and views call these, never the store's write methods (tests/app/test_actions.py scans for it); reads
stay in ``ui.state``. Each action writes through churn_core, then tells ``ui.cache`` what it changed
(``cache.changed()``: the rest of the script run reads the new active version and champion, and reads scoped to
the store are read again; the results keyed by the active version or the champion follow by their keys), and
starts scoring in the background where the Risk page will need it (``state.prepare_scores``). Errors are
churn_core's (``ChurnCoreError``): the caller shows them with ``ui.widgets.guard``.

Every action is the analyst's: each checks the role on the server first and raises :class:`NotAllowed` for a
viewer, whatever the page shows or a replayed widget message asks (viewers only read; their page views may
compute and store scores, which is a cache, not a change).
"""

from __future__ import annotations

import churn_core as cc

from . import auth, cache, state


class NotAllowed(cc.ChurnCoreError, PermissionError):
    """A viewer asked for a write only an analyst may make."""


def _analyst(action: str) -> None:
    if not auth.is_analyst():
        raise NotAllowed(f"Only an analyst can {action}. Sign in as an analyst in the sidebar, or ask one.",
                         code="analyst_only", action=action)


def save_dataset(raw: cc.RawTable, *, roles: cc.ColumnRoles, name: str, activate: bool,
                 currency: str | None = None) -> cc.DatasetVersion:
    """Store the upload as a new dataset version (the same file and roles reuse theirs), with its currency when
    given; with ``activate`` it becomes the active dataset, and is scored by the champion in the background when
    the champion can."""
    _analyst("save dataset")
    can_score = state.champion_fit(raw.frame.columns).can_score
    version = state.store().save_dataset(cc.load_dataset(raw, roles=roles, name=name), activate=activate)
    if currency is not None:
        state.store().set_currency(version.version, currency)
    cache.changed()
    if activate and can_score:
        state.prepare_scores()
    return version


def activate(version: int) -> cc.DatasetVersion:
    """Make a stored version the active dataset; scored by the champion in the background when it can."""
    _analyst("activate")
    activated = state.store().activate(version)
    cache.changed()
    if state.champion_fit(state.active_dataset().frame.columns).can_score:
        state.prepare_scores()  # the Risk page then reads stored scores
    return activated


def delete_version(version: int) -> cc.DatasetVersion:
    """Delete a dataset version nothing depends on (the store refuses otherwise)."""
    _analyst("delete version")
    gone = state.store().delete_dataset(version)
    cache.changed()
    return gone


def train(dataset: cc.Dataset, *, progress=None, **options) -> tuple[int, object]:
    """Train on a stored dataset version (``cc.run_training``); returns the run id and the training result."""
    _analyst("train")
    try:
        return cc.run_training(state.store(), dataset, progress=progress, **options)
    finally:
        cache.changed()  # a run is recorded, complete or failed


def promote(run_id: int, model: str, *, activate: int | None = None) -> cc.Champion:
    """Promote ``model`` of run ``run_id``; with ``activate``, make that dataset version active too (a champion
    scores the active dataset); then score the active dataset in the background."""
    _analyst("promote")
    champion = state.store().promote(run_id, model)
    if activate is not None:
        state.store().activate(activate)
    cache.changed()
    state.prepare_scores(run_id=run_id, model=model)
    return champion


def rollback() -> cc.Champion:
    """Return to the champion before the current one, and score the active dataset with it in the background."""
    _analyst("rollback")
    back = state.store().rollback()
    cache.changed()
    state.prepare_scores(run_id=back.run_id, model=back.model)
    return back


def save_scenario(name: str, *, inputs: dict, settings: dict) -> cc.Scenario:
    """Save ROI inputs under ``name`` (a new version each time), with the active dataset and champion."""
    _analyst("save scenario")
    champ = state.champion()
    saved = state.store().save_scenario(name, inputs=inputs, settings=settings,
                                        dataset_version=state.active_version().version,
                                        run_id=champ.run_id if champ else None, model=champ.model if champ else None)
    cache.changed()
    return saved


def save_threshold(curve: cc.ProfitCurve, economics: cc.Economics):
    """Keep the profit-optimal threshold of ``curve`` on the champion's run (the Risk page's profit cut)."""
    _analyst("save threshold")
    champ = state.champion()
    e = economics
    saved = state.store().save_threshold(champ.run_id, champ.model, threshold=curve.optimal_threshold,
                                         rate=curve.optimal_rate,
                                         assumptions={"clv": e.clv, "incentive_cost": e.incentive_cost,
                                                      "contact_cost": e.contact_cost, "alpha": e.alpha, "beta": e.beta})
    cache.changed()
    return saved


def explain_more(scored: cc.ScoredCustomers, *, limit: int) -> None:
    """Explain the next ``limit`` riskiest unexplained customers and keep their reasons; the cached scores of
    the active dataset are read again (same key, more reasons)."""
    _analyst("explain more")
    cc.explain_rows(scored, cc.unexplained_rows(scored, limit=limit), model=state.champion_model(),
                    store=state.store())
    state.scored_by_champion.clear()
    state.scored_under_policy.clear()
    cache.changed()


def set_currency(symbol: str) -> None:
    """Choose the active dataset's currency (kept for every version of it; every page and export uses it)."""
    _analyst("set currency")
    state.store().set_currency(state.active_version().version, symbol)
    cache.changed()


def set_value_per_customer(value: float | None) -> None:
    """The value per customer for an active dataset without a value column (None forgets it)."""
    _analyst("set value per customer")
    state.store().set_value_per_customer(state.active_version().version, value)
    cache.changed()


def save_events(log: cc.EventLog, *, window: cc.EventWindow, name: str, suggested: bool = False,
                currency: str | None = None) -> cc.DatasetVersion:
    """Store a visit log as a new event dataset version under ``window`` (``suggested``: the window is the
    one churn_core suggests for the log, and is recorded as such), with its currency when given; it becomes
    the active dataset. The same log and window reuse their version."""
    _analyst("save events")
    events = cc.event_dataset(log, window=None if suggested else window, name=name)
    version = state.store().save_events(events, activate=True)
    if currency is not None:
        state.store().set_currency(version.version, currency)
    cache.changed()
    return version


def launch_campaign(selection: cc.RiskSelection, *, spec: cc.CampaignSpec):
    """Store a retention campaign drawn from a Risk-page selection (``cc.launch_campaign``): its members, arms
    and actions; the Campaigns page and the last finished campaign are read again."""
    _analyst("launch campaign")
    launched = cc.launch_campaign(selection, store=state.store(), spec=spec, created_by=auth.role())
    cache.changed()  # every "store"-scoped read (the Campaigns page's list, the last finished campaign) reads again
    return launched


def load_demo(name: str) -> cc.DatasetVersion:
    """Store a bundled demo ("telecom" or "aftersales", ``cc.ensure_demo``) as one more version, or find the
    stored one, and make it active.

    Not the analyst's alone: a viewer may load a demo too. It adds a version (never replaces one) and changes
    only which version is active, which any analyst can change back; nothing an analyst uploaded is lost.
    """
    version = cc.ensure_demo(state.store(), name)
    cache.changed()
    return version


def record_outcomes(data, *, campaign_id: int, source: str, filename: str | None = None,
                    mapping: dict[str, str] | None = None, allow_changes: bool = False):
    """Check and store a batch of campaign outcomes as its next version (``cc.campaigns.record_outcomes``).
    Bad rows raise ``OutcomeError`` and changed final results ``OutcomeConflictError`` unless
    ``allow_changes``: then nothing is stored."""
    from churn_core import campaigns as cmp

    _analyst("record outcomes")
    try:
        return cmp.record_outcomes(data, store=state.store(), campaign_id=campaign_id, source=source,
                                   filename=filename, mapping=mapping, recorded_by=auth.role(),
                                   allow_changes=allow_changes)
    finally:
        cache.changed()


def observe_campaign(campaign_id: int, *, version: int, allow_changes: bool = False):
    """Store every campaign customer's result as observed on the stored visit log ``version``."""
    from churn_core import campaigns as cmp

    _analyst("observe campaign")
    try:
        return cmp.observe_campaign(state.store(), campaign_id, version=version, recorded_by=auth.role(),
                                    allow_changes=allow_changes)
    finally:
        cache.changed()


def simulate_demo(campaign_id: int):
    """Play a campaign on the after-sales demo forward (churn_core.campaigns.play_demo_campaign): the later visit
    log is stored as a new version (the active dataset stays), the calls and the observed results as outcomes."""
    from churn_core import campaigns as cmp

    _analyst("simulate campaign")
    try:
        return cmp.play_demo_campaign(state.store(), campaign_id, recorded_by=auth.role())
    finally:
        cache.changed()
