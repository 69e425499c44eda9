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


# In the dashboard's order. Sources per marts.md: the leads widget and the overview summary also
# read marketplace traffic; the solutions outlook reads solution snapshots only.
WIDGETS: tuple[Widget, ...] = (
    Widget(
        name="Solutions outlook",
        mart="mart_solutions_outlook",
        sources=(SOLUTIONS,),
        grain=("organization_id", "co_sell_status"),
    ),
    Widget(
        name="Referrals",
        mart="mart_referrals_daily",
        sources=(REFERRALS,),
        grain=("organization_id", "date", "referral_category"),
    ),
    Widget(
        name="Co-sell opportunities",
        mart="mart_cosell_daily",
        sources=(REFERRALS,),
        grain=("organization_id", "date"),
    ),
    Widget(
        name="Leads",
        mart="mart_leads_daily",
        sources=(REFERRALS, TRAFFIC),
        grain=("organization_id", "date"),
    ),
    Widget(
        name="Referral distribution",
        mart="mart_referral_distribution",
        sources=(REFERRALS,),
        grain=("organization_id", "referral_category", "status", "substatus"),
    ),
    Widget(
        name="QRP performance",
        mart="mart_qrp_monthly_kpis",
        sources=(REFERRALS,),
        grain=("organization_id", "program", "country", "month"),
    ),
    Widget(
        name="QRP performance history",
        mart="mart_qrp_kpi_history",
        sources=(REFERRALS,),
        grain=("organization_id", "as_of_date", "program", "country", "month"),
    ),
    Widget(
        name="Referral acceptance time",
        mart="mart_acceptance_time_distribution",
        sources=(REFERRALS,),
        grain=("organization_id", "date", "referral_kind", "bucket"),
    ),
    Widget(
        name="Referral win time",
        mart="mart_win_time_distribution",
        sources=(REFERRALS,),
        grain=("organization_id", "date", "referral_kind", "bucket"),
    ),
    Widget(
        name="Revenue",
        mart="mart_revenue_daily",
        sources=(REFERRALS,),
        grain=("organization_id", "date", "referral_kind"),
    ),
    Widget(
        name="Overview headline numbers",
        mart="mart_overview_summary",
        sources=(REFERRALS, TRAFFIC),
        grain=("organization_id", "time_range", "metric"),
    ),
)

WIDGETS_BY_MART = {w.mart: w for w in WIDGETS}
