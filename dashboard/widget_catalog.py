"""The nine widgets of the Referrals overview page (marts.md), in page order: how each is shown.

What a widget *is* — its name, its mart, the mart's grain and the landing-zone sources that feed
it — is defined once, in the mart's dbt `config.meta` (`orchestration.quality.widgets`); which marts
it reads is its dbt exposure. This catalog names each card's mart and adds only what the page
needs besides: a short description, whether the time range applies, the headline numbers and a
note. tests/test_widget_definitions.py keeps the three (meta, exposures, this catalog) in step.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration import contract
from orchestration.quality.widgets import WIDGETS_BY_MART

SUMMARY = "mart_overview_summary"


@dataclass(frozen=True)
class HeadlineMetric:
    metric: str
    """A `mart_overview_summary.metric`, also the column name the custom-range query returns."""
    label: str
    kind: str  # count | percent | usd (formatting.FORMATS)


@dataclass(frozen=True)
class WidgetSpec:
    key: str
    """The card's id on the page (HTML ids, chart names, PDF)."""
    mart: str
    """The mart the widget's own numbers come from; its dbt `meta` defines the widget."""
    description: str
    time_bound: bool
    headline: tuple[HeadlineMetric, ...] = ()
    """Headline numbers: from the summary for a standard range, else summed from `mart`."""
    note: str | None = None

    @property
    def title(self) -> str:
        """The widget's name, as its mart's dbt `meta` (`widget`) gives it."""
        return WIDGETS_BY_MART[self.mart].name


def _count(metric: str, label: str) -> HeadlineMetric:
    return HeadlineMetric(metric, label, "count")


WIDGETS: tuple[WidgetSpec, ...] = (
    WidgetSpec(
        "solutions_outlook",
        "mart_solutions_outlook",
        "Published solutions by co-sell eligibility.",
        time_bound=False,
        note="Azure IP co-sell incentive solutions are not counted again as co-sell ready.",
    ),
    WidgetSpec(
        "referrals",
        "mart_referrals_daily",
        "All referrals created, accepted and marked as won.",
        time_bound=True,
        headline=(
            _count("referrals_total", "Total"),
            _count("referrals_accepted", "Accepted"),
            _count("referrals_won", "Won"),
        ),
    ),
    WidgetSpec(
        "cosell",
        "mart_cosell_daily",
        "Inbound and outbound co-sell deals, accepted by you or by Microsoft, and won.",
        time_bound=True,
        headline=(
            _count("cosell_inbound", "Inbound"),
            _count("cosell_outbound", "Outbound"),
            _count("cosell_accepted", "Accepted"),
            _count("cosell_accepted_by_microsoft", "Accepted by Microsoft"),
            _count("cosell_won", "Won"),
            HeadlineMetric("cosell_win_rate_pct", "Win rate", "percent"),
        ),
        note="Win rate = won / (accepted + outbound) × 100, events in the range; a short range "
        "can exceed 100% (deals accepted earlier, won now).",
    ),
    WidgetSpec(
        "leads",
        "mart_leads_daily",
        "Marketplace profile traffic and the leads received, accepted and won.",
        time_bound=True,
        headline=(
            _count("leads_page_views", "Page views"),
            _count("leads_cta_clicks", "CTA clicks"),
            _count("leads_received", "Received"),
            _count("leads_accepted", "Accepted"),
            _count("leads_won", "Won"),
            HeadlineMetric("leads_win_rate_pct", "Win rate", "percent"),
        ),
        note="Win rate = won / accepted × 100.",
    ),
    WidgetSpec(
        "referral_distribution",
        "mart_referral_distribution",
        "Referrals by their current status, per referral type (a current count, not a funnel).",
        time_bound=False,
    ),
    WidgetSpec(
        "qrp",
        "mart_qrp_monthly_kpis",
        "Monthly Qualified Referral Program KPIs by creation month, coloured by goal status.",
        time_bound=False,
        note="A month's close and win rates are recomputed at every refresh from the referrals' "
        "current states.",
    ),
    WidgetSpec(
        "acceptance_time",
        "mart_acceptance_time_distribution",
        "How long inbound co-sell referrals and leads waited to be accepted (by acceptance date).",
        time_bound=True,
    ),
    WidgetSpec(
        "win_time",
        "mart_win_time_distribution",
        "How long won referrals took from creation to won (by won date).",
        time_bound=True,
    ),
    WidgetSpec(
        "revenue",
        "mart_revenue_daily",
        "Won deal value split between leads and co-sell, and IP co-sell approved value.",
        time_bound=True,
        headline=(
            HeadlineMetric("revenue_won_usd", "Won value", "usd"),
            HeadlineMetric("revenue_ip_cosell_approved_usd", "IP co-sell approved value", "usd"),
        ),
        note="USD, converted at the month of the event.",
    ),
)

REFERRAL_CATEGORIES = {
    "cosell_inbound": "Co-sell inbound",
    "cosell_outbound": "Co-sell outbound",
    "marketplace_lead": "Marketplace leads",
    "qualified_lead": "Qualified leads",
}
# Status / substatus rows of the distribution table, in the life cycle's order.
REFERRAL_STATES = contract.REFERRAL_STATES
SOLUTION_STATUSES = ("In market", "Co-sell ready", "Azure IP co-sell incentive")
REFERRAL_KINDS = {"co-sell": "Co-sell", "lead": "Leads"}
ACCEPTANCE_BUCKETS = ("< 1 day", "1-3 days", "3-7 days", "7-14 days", "14+ days")
WIN_TIME_BUCKETS = (
    "0-30 days",
    "30-60 days",
    "60-90 days",
    "90-180 days",
    "180-365 days",
    "365+ days",
)
QRP_PROGRAMS = ("Contact request", "Digital Sales Opportunity")
QRP_RATES = (
    ("accept_rate", "Accept rate"),
    ("expiry_rate", "Expiry rate"),
    ("close_rate_60d", "Close rate 60d"),
    ("close_rate_180d", "Close rate 180d"),
    ("win_rate", "Win rate"),
)
GOAL_STATUS_CSS = {
    "Goal met": "goal-met",
    "Approaching goal": "goal-approaching",
    "Below goal": "goal-below",
}
