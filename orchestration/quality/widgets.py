"""The dashboard widgets whose marts are validated: one Great Expectations suite per widget mart.

`sources` are the landing-zone sources whose files feed the widget. They decide which
quarantined records and unreadable files count against it and which snapshots its freshness
expectation looks at. Every mart carries the warehouse as-of date, which comes from the referral
snapshots; that alone does not make `referrals` a feeding source (the solutions outlook is fed by
solution snapshots only).
"""

from __future__ import annotations

from dataclasses import dataclass

REFERRALS, SOLUTIONS, TRAFFIC = "referrals", "solutions", "marketplace_traffic"
SOURCES = (REFERRALS, SOLUTIONS, TRAFFIC)


@dataclass(frozen=True)
class Widget:
    name: str
    """Person-readable widget name (`mart_widget_refresh.widget`)."""
    mart: str
    """The dbt model in schema `marts`; also the name of its GX expectation suite."""
    sources: tuple[str, ...]
    grain: tuple[str, ...]
    """The mart's key columns: named next to every unexpected row in the validation results."""


WIDGETS: tuple[Widget, ...] = (
    Widget(
        "Solutions outlook", "mart_solutions_outlook", (SOLUTIONS,),
        ("organization_id", "co_sell_status"),
    ),
    Widget(
        "Referrals", "mart_referrals_daily", (REFERRALS,),
        ("organization_id", "date", "referral_category"),
    ),
    Widget("Co-sell opportunities", "mart_cosell_daily", (REFERRALS,), ("organization_id", "date")),
    Widget("Leads", "mart_leads_daily", (REFERRALS, TRAFFIC), ("organization_id", "date")),
    Widget(
        "Referral distribution", "mart_referral_distribution", (REFERRALS,),
        ("organization_id", "referral_category", "status", "substatus"),
    ),
    Widget(
        "QRP performance", "mart_qrp_monthly_kpis", (REFERRALS,),
        ("organization_id", "program", "country", "month"),
    ),
    Widget(
        "QRP performance history", "mart_qrp_kpi_history", (REFERRALS,),
        ("organization_id", "as_of_date", "program", "country", "month"),
    ),
    Widget(
        "Referral acceptance time", "mart_acceptance_time_distribution", (REFERRALS,),
        ("organization_id", "date", "referral_kind", "bucket"),
    ),
    Widget(
        "Referral win time", "mart_win_time_distribution", (REFERRALS,),
        ("organization_id", "date", "referral_kind", "bucket"),
    ),
    Widget(
        "Revenue", "mart_revenue_daily", (REFERRALS,), ("organization_id", "date", "referral_kind")
    ),
    Widget(
        "Overview headline numbers", "mart_overview_summary", (REFERRALS, TRAFFIC),
        ("organization_id", "time_range", "metric"),
    ),
)

WIDGETS_BY_MART = {w.mart: w for w in WIDGETS}
