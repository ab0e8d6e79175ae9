"""Every user-visible string, in English and Simplified Chinese, behind one lookup: ``t(key, **params)``.

Errors and validation issues from churn_core carry a ``code`` and ``params``; they
are worded here by ``error.<code>`` / ``issue.<code>`` keys, falling back to
churn_core's English message for a code this table does not know.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

LANGUAGES = {"en": "English", "zh": "中文"}
DEFAULT_LANGUAGE = "en"

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "app.title": "Churn Radar",
        "nav.overview": "Overview",
        "nav.drivers": "Drivers",
        "sidebar.language": "Language",
        "sidebar.dataset": "Active dataset",
        "sidebar.dataset_line": "**{name}** · v{version} · {rows} rows",
        "sidebar.roles": "Target: `{target}` · churn value: `{positive}`",
        "common.few": "few customers",
        "common.overall": "overall",
        "common.customers": "customers",
        "common.churn_rate": "Churn rate",
        "common.threshold": "churn jumps at",
        "common.missing_role": "This dataset has no {role} column, so this view is not available. "
                               "Map one in the role mapping.",
        "role.service_calls": "service-call",
        "role.tenure": "tenure",
        "role.state": "US state",
        "col.customers": "Customers",
        "col.churners": "Churners",
        "col.churn_rate": "Churn rate",
        "col.ci": "95% interval",
        "col.lift": "Lift vs overall",
        "col.share": "Share of base",
        "col.segment": "Segment",
        "col.small": "Few customers",
        "col.column": "Column",
        "col.kind": "Kind",
        "col.correlation": "Correlation with churn",
        "col.mean_churned": "Mean (churned)",
        "col.mean_retained": "Mean (retained)",
        "col.effect_size": "Effect size (Cohen's d)",
        "col.band": "Band",
        "overview.title": "Churn overview",
        "overview.caption": "Who leaves, where, and how much value goes with them.",
        "kpi.customers": "Customers",
        "kpi.churners": "Churned",
        "kpi.churn_rate": "Churn rate",
        "kpi.churn_rate_help": "95% Wilson interval: {low} – {high}",
        "kpi.value_at_risk": "Value lost to churn",
        "kpi.value_at_risk_help": "Sum of the value column ({columns}) over churned customers: {share} of all value.",
        "overview.plans": "Churn by plan",
        "overview.plan_chart": "Churn by {column}",
        "overview.service": "Service calls",
        "overview.service_chart": "Churn by {column}",
        "overview.tenure": "Tenure",
        "overview.tenure_chart": "Churn by {column} band",
        "overview.map": "Churn by state",
        "overview.map_chart": "Churn rate by US state",
        "overview.segments": "Risk segments",
        "overview.segments_caption": "Rule-based segments from the telecom churn report; they overlap.",
        "overview.segments_skipped": "Not applicable to this dataset: {names}.",
        "overview.value_tiers": "Value tiers",
        "takeaway.contrast": "{column} = {high} churns at {high_rate}, {ratio}× {low} ({low_rate}; n={n}).",
        "takeaway.contrast_noratio": "{column} = {high} churns at {high_rate} (n={n}); {low} at {low_rate}.",
        "takeaway.threshold": "Customers with {threshold} or more {column} churn at {above}, {ratio}× the rest "
                              "({below}; n={n}).",
        "takeaway.no_threshold": "No clear jump in churn along {column}: no split is backed by enough customers.",
        "takeaway.band": "Churn is highest in the {high} band ({high_rate}, n={n}) and lowest in {low} ({low_rate}).",
        "takeaway.state": "{high} has the highest churn ({high_rate}, n={n}); {low} the lowest ({low_rate}).",
        "takeaway.few_suffix": " Few customers: treat with care.",
        "takeaway.segments": "{name} churns at {rate}, {lift}× the overall rate (n={n}).",
        "takeaway.value_tiers": "The top {share} of customers by value churn at {top_rate} against {rest_rate} "
                                "for the rest; they carry {risk_share} of the value lost.",
        "takeaway.crosstab": "Highest: {high} at {high_rate} (n={n}); lowest: {low} at {low_rate}.",
        "takeaway.drivers_numeric": "The strongest linear driver is {column} (r = {r}); churned customers "
                                    "average {churned} against {retained} for retained ones.",
        "takeaway.drivers_flag": "The strongest linear driver is {column} (r = {r}): {churned} of churned "
                                 "customers have it against {retained} of retained ones.",
        "drivers.title": "Churn drivers",
        "drivers.caption": "Break churn down by any column, cross two of them, and rank what moves with churn.",
        "drivers.by_column": "Churn by column",
        "drivers.pick_column": "Column",
        "drivers.binned_note": "Numeric column with many values: shown in 10 equal-sized bins.",
        "drivers.crosstab": "Cross tab",
        "drivers.rows": "Rows",
        "drivers.columns": "Columns",
        "drivers.crosstab_chart": "Churn rate: {rows} × {columns}",
        "drivers.same_column": "Pick two different columns.",
        "drivers.ranking": "Driver ranking",
        "drivers.ranking_chart": "Correlation with churn (churn = 1)",
        "drivers.ranking_caption": "Point-biserial correlation; plan flags coded 1 = yes. Correlation is not "
                                   "cause: use it to choose what to look at.",
        "drivers.kind.numeric": "numeric",
        "drivers.kind.flag": "plan flag",
        "segment.dual_high_risk": "Dual high risk (international plan and 3+ service calls)",
        "segment.repeated_complaints": "Repeated complaints (3+ service calls)",
        "segment.heavy_day_users": "Heavy day users (day charge over 40)",
        "segment.international_plan": "International plan",
        "tier.top": "Top {share} by value",
        "tier.rest": "Everyone else",
        "error.generic": "Something is wrong with the data: {message}",
        "error.no_target": "This dataset has no churn target column, so churn cannot be counted. Map a target "
                           "column in the role mapping.",
        "error.no_active_dataset": "No dataset is active yet. Import one on the Data page.",
        "error.store_locked": "The database is busy with another Churn Radar process. Wait a moment and reload.",
    },
    "zh": {
        "app.title": "流失雷达",
        "nav.overview": "总览",
        "nav.drivers": "驱动因素",
        "sidebar.language": "语言",
        "sidebar.dataset": "当前数据集",
        "sidebar.dataset_line": "**{name}** · 版本 {version} · {rows} 行",
        "sidebar.roles": "目标列：`{target}` · 流失取值：`{positive}`",
        "common.few": "客户较少",
        "common.overall": "整体",
        "common.customers": "客户数",
        "common.churn_rate": "流失率",
        "common.threshold": "流失跃升点",
        "common.missing_role": "该数据集没有{role}列，因此无法显示此视图。请在列角色映射中指定。",
        "role.service_calls": "客服来电",
        "role.tenure": "在网时长",
        "role.state": "美国州",
        "col.customers": "客户数",
        "col.churners": "流失客户",
        "col.churn_rate": "流失率",
        "col.ci": "95% 区间",
        "col.lift": "相对整体倍数",
        "col.share": "占客户比例",
        "col.segment": "细分群体",
        "col.small": "客户较少",
        "col.column": "列",
        "col.kind": "类型",
        "col.correlation": "与流失的相关系数",
        "col.mean_churned": "均值（流失）",
        "col.mean_retained": "均值（留存）",
        "col.effect_size": "效应量（Cohen's d）",
        "col.band": "区间",
        "overview.title": "流失总览",
        "overview.caption": "谁在流失、集中在哪里、带走了多少价值。",
        "kpi.customers": "客户数",
        "kpi.churners": "流失客户",
        "kpi.churn_rate": "流失率",
        "kpi.churn_rate_help": "95% Wilson 区间：{low} – {high}",
        "kpi.value_at_risk": "流失带走的价值",
        "kpi.value_at_risk_help": "流失客户的价值列（{columns}）之和：占全部价值的 {share}。",
        "overview.plans": "按套餐看流失",
        "overview.plan_chart": "按 {column} 的流失率",
        "overview.service": "客服来电",
        "overview.service_chart": "按 {column} 的流失率",
        "overview.tenure": "在网时长",
        "overview.tenure_chart": "按 {column} 区间的流失率",
        "overview.map": "按州的流失",
        "overview.map_chart": "美国各州流失率",
        "overview.segments": "风险细分群体",
        "overview.segments_caption": "来自电信流失报告的规则细分；各群体之间有重叠。",
        "overview.segments_skipped": "不适用于该数据集：{names}。",
        "overview.value_tiers": "价值分层",
        "takeaway.contrast": "{column} 为 {high} 的客户流失率 {high_rate}，是 {low}（{low_rate}）的 {ratio} 倍（n={n}）。",
        "takeaway.contrast_noratio": "{column} 为 {high} 的客户流失率 {high_rate}（n={n}）；{low} 为 {low_rate}。",
        "takeaway.threshold": "{column} 达到 {threshold} 次及以上的客户流失率 {above}，是其余客户（{below}）的 "
                              "{ratio} 倍（n={n}）。",
        "takeaway.no_threshold": "{column} 上没有明显的流失跃升点：没有客户数足够支撑的切分。",
        "takeaway.band": "{high} 区间流失率最高（{high_rate}，n={n}），{low} 区间最低（{low_rate}）。",
        "takeaway.state": "{high} 州流失率最高（{high_rate}，n={n}）；{low} 州最低（{low_rate}）。",
        "takeaway.few_suffix": " 客户较少，请谨慎解读。",
        "takeaway.segments": "{name}的流失率为 {rate}，是整体的 {lift} 倍（n={n}）。",
        "takeaway.value_tiers": "价值最高的 {share} 客户流失率 {top_rate}，其余客户为 {rest_rate}；"
                                "他们占流失价值的 {risk_share}。",
        "takeaway.crosstab": "最高：{high}，{high_rate}（n={n}）；最低：{low}，{low_rate}。",
        "takeaway.drivers_numeric": "线性关系最强的驱动因素是 {column}（r = {r}）；流失客户均值 {churned}，留存客户 {retained}。",
        "takeaway.drivers_flag": "线性关系最强的驱动因素是 {column}（r = {r}）：{churned} 的流失客户开通了它，留存客户为 {retained}。",
        "drivers.title": "流失驱动因素",
        "drivers.caption": "按任意列拆分流失，交叉两列，并排序与流失相关的因素。",
        "drivers.by_column": "按列看流失",
        "drivers.pick_column": "列",
        "drivers.binned_note": "取值较多的数值列：按 10 个等量区间显示。",
        "drivers.crosstab": "交叉分析",
        "drivers.rows": "行",
        "drivers.columns": "列",
        "drivers.crosstab_chart": "流失率：{rows} × {columns}",
        "drivers.same_column": "请选择两个不同的列。",
        "drivers.ranking": "驱动因素排序",
        "drivers.ranking_chart": "与流失的相关系数（流失 = 1）",
        "drivers.ranking_caption": "点二列相关系数；套餐标志按 是 = 1 编码。相关不等于因果：用它决定先看什么。",
        "drivers.kind.numeric": "数值",
        "drivers.kind.flag": "套餐标志",
        "segment.dual_high_risk": "双重高风险（国际套餐且客服来电 3 次以上）",
        "segment.repeated_complaints": "反复投诉（客服来电 3 次以上）",
        "segment.heavy_day_users": "白天重度用户（白天话费超过 40）",
        "segment.international_plan": "国际套餐",
        "tier.top": "价值前 {share}",
        "tier.rest": "其余客户",
        "error.generic": "数据有问题：{message}",
        "error.no_target": "该数据集没有流失目标列，无法统计流失。请在列角色映射中指定目标列。",
        "error.no_active_dataset": "尚无当前数据集。请在数据页导入一个。",
        "error.store_locked": "数据库正被另一个流失雷达进程使用。请稍候再刷新。",
    },
}


def current_language() -> str:
    """The session's language: ``?lang=`` in the URL, else the sidebar choice, else English."""
    lang = st.session_state.get("lang")
    if lang not in LANGUAGES:
        lang = st.query_params.get("lang", DEFAULT_LANGUAGE)
        lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        st.session_state["lang"] = lang
    return lang


def t(key: str, **params: Any) -> str:
    """The string ``key`` in the session's language, formatted with ``params``."""
    lang = current_language()
    text = STRINGS[lang].get(key) or STRINGS[DEFAULT_LANGUAGE].get(key)
    if text is None:
        raise KeyError(f"No translation for '{key}'. Add it to ui/i18n.py in every language.")
    return text.format(**params) if params else text


def has_key(key: str) -> bool:
    return key in STRINGS[DEFAULT_LANGUAGE]


def error_text(err: Exception) -> str:
    """A churn_core error in the user's language (its English message for codes not listed here)."""
    code = getattr(err, "code", "error")
    if has_key(f"error.{code}"):
        return t(f"error.{code}", **{k: v for k, v in getattr(err, "params", {}).items()})
    return str(err)
