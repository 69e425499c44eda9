"""Batch builders: each widget mart read into one pandas DataFrame for its GX suite.

The marts are aggregates (the largest, `mart_qrp_kpi_history`, holds ~26 000 rows at 1 000 000
referrals), so each is read whole with DuckDB. A batch is the mart's columns, in mart order,
followed by *prepared columns* that bring in what a cross-table expectation compares with:
facts about the landed data (the as-of date, how old the feeding snapshots are, unreadable
feeding files) and values recomputed from other marts (e.g. the overview summary's value next to
what the daily marts sum to). SQL only prepares these columns; the expectations in
`expectations/` evaluate them. Every prepared column is named in the suite's
`expect_table_columns_to_match_ordered_list`, so a column added to or dropped from a mart still
fails it.

Expectation parameters (`$PARAMETER` in the suites) are derived from the landed data too: the
staleness threshold, the row counts the landed data imply, the number of partner referrals.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import pandas as pd

from orchestration.quality.widgets import REFERRALS, SOURCES, Widget

# Freshness threshold (warn level): a feeding source's newest readable snapshot may be this many
# days older than the as-of date. Snapshots land weekly, so 8 = one missed day of slack.
MAX_STALENESS_ENV = "REFERRAL_INSIGHTS_MAX_STALENESS_DAYS"
DEFAULT_MAX_STALENESS_DAYS = 8


def max_staleness_days(environ: Mapping[str, str] = os.environ) -> int:
    """The threshold from REFERRAL_INSIGHTS_MAX_STALENESS_DAYS (read when a validation runs),
    else the default."""
    raw = (environ.get(MAX_STALENESS_ENV) or "").strip()
    if not raw:
        return DEFAULT_MAX_STALENESS_DAYS
    if not raw.isdigit():
        raise ValueError(f"{MAX_STALENESS_ENV} must be a whole number of days >= 0, got {raw!r}")
    return int(raw)


# Overview summary: 4 time ranges x 17 metrics per organization; solutions outlook: 3 co-sell
# statuses per organization (marts.md). Both exist for every organization once there is an
# as-of date.
ROWS_PER_ORGANIZATION = {"mart_solutions_outlook": 3, "mart_overview_summary": 4 * 17}


@dataclass(frozen=True)
class LandedData:
    """What the raw layer says about the landed files (raw.ingested_files, raw.quarantine)."""

    as_of_date: dt.date | None
    """Latest readable referral snapshot: the warehouse as-of date."""
    newest_snapshot: dict[str, dt.date | None]
    """Per source, the newest snapshot date among its readable files."""
    failed_files: dict[str, int]
    quarantined: dict[str, int]
    organizations: int
    """Non-msft organizations in valid referral, solution or traffic records."""
    partner_referrals: int
    """Distinct partner (non-msft) referral ids among the valid referral records."""

    def quarantined_records(self, widget: Widget) -> int:
        return sum(self.quarantined.get(s, 0) for s in widget.sources)

    def feeding_files_failed(self, widget: Widget) -> int:
        return sum(self.failed_files.get(s, 0) for s in widget.sources)

    def feeding_snapshot_age_days(self, widget: Widget) -> int | None:
        """Days from the stalest feeding source's newest snapshot to the as-of date; None when
        there is no as-of date or a feeding source has no readable snapshot at all."""
        newest = [self.newest_snapshot.get(s) for s in widget.sources]
        if self.as_of_date is None or any(d is None for d in newest):
            return None
        return (self.as_of_date - min(newest)).days

    def expectation_parameters(self, widget: Widget, max_staleness_days: int) -> dict:
        per_org = ROWS_PER_ORGANIZATION.get(widget.mart)
        return {
            "max_staleness_days": max_staleness_days,
            # "not empty when the landing zone holds partner referrals"
            "min_row_count": 1 if self.partner_referrals > 0 else 0,
            "expected_row_count": (
                per_org * self.organizations if per_org and self.as_of_date else 0
            ),
            "landed_partner_referrals": self.partner_referrals,
        }


def read_landed_data(con: duckdb.DuckDBPyConnection) -> LandedData:
    files = con.execute(
        """
        select
            source,
            max(snapshot_date) filter (where status = 'loaded') as newest_snapshot,
            count(*) filter (where status = 'failed') as failed_files
        from raw.ingested_files
        group by source
        """
    ).fetchall()
    quarantined = dict(
        con.execute("select source, count(*) from raw.quarantine group by source").fetchall()
    )
    organizations, partner_referrals = con.execute(
        """
        select
            (select count(distinct organization_id) from (
                select organization_id from raw.referral_snapshots
                union all select organization_id from raw.solution_snapshots
                union all select organization_id from raw.marketplace_traffic
            ) where organization_id <> 'msft'),
            (select count(distinct id) from raw.referral_snapshots
             where organization_id <> 'msft')
        """
    ).fetchall()[0]
    newest = {source: None for source in SOURCES} | {s: d for s, d, _ in files}
    return LandedData(
        as_of_date=newest[REFERRALS],
        newest_snapshot=newest,
        failed_files={s: n for s, _, n in files},
        quarantined=quarantined,
        organizations=organizations,
        partner_referrals=partner_referrals,
    )


# Appended to every batch: the landed-data facts of the widget (one value, repeated per row).
_LANDED_COLUMNS = """
    cast($as_of_date as date) as warehouse_as_of_date,
    cast($feeding_snapshot_age_days as integer) as feeding_snapshot_age_days,
    cast($feeding_files_failed as bigint) as feeding_files_failed
"""
LANDED_COLUMNS = ("warehouse_as_of_date", "feeding_snapshot_age_days", "feeding_files_failed")

_PLAIN = "select m.*, {landed} from marts.{mart} as m order by {grain}"

# The 10 months of a QRP report ending with the month of `as_of`.
_QRP_WINDOW = """
    cast(date_trunc('month', {as_of}) - interval 9 month as date) as qrp_window_first_month,
    cast(date_trunc('month', {as_of}) as date) as qrp_window_last_month
"""
_QRP_COLUMNS = """
    m.referrals_declined + m.referrals_expired + m.referrals_won + m.referrals_lost
        as win_rate_denominator,
    (case when m.accept_rate_status = 'Goal met' then 1 else 0 end)
    + (case when m.expiry_rate_status = 'Goal met' then 1 else 0 end)
    + (case when m.close_rate_60d_status = 'Goal met' then 1 else 0 end)
    + (case when m.close_rate_180d_status = 'Goal met' then 1 else 0 end)
    + (case when m.win_rate_status = 'Goal met' then 1 else 0 end) as goal_met_statuses,
    case when m.country = 'ALL' then sum(case when m.country <> 'ALL' then m.referrals_received end)
        over (partition by {partition}) end as country_rows_received,
"""

_SQL: dict[str, str] = {
    "mart_solutions_outlook": _PLAIN,
    "mart_referrals_daily": _PLAIN,
    "mart_referral_distribution": _PLAIN,
    "mart_acceptance_time_distribution": _PLAIN,
    "mart_win_time_distribution": _PLAIN,
    # The co-sell, leads and revenue widgets count the same events as the Referrals widget.
    "mart_cosell_daily": """
        with referrals_daily as (
            select
                organization_id,
                date,
                sum(case when referral_category = 'cosell_inbound' then referrals_created else 0 end) as inbound,
                sum(case when referral_category = 'cosell_outbound' then referrals_created else 0 end) as outbound,
                sum(case when referral_category = 'cosell_inbound' then referrals_accepted else 0 end) as accepted,
                sum(case when referral_category in ('cosell_inbound', 'cosell_outbound') then referrals_won else 0 end) as won
            from marts.mart_referrals_daily
            group by organization_id, date
        )
        select
            m.*,
            cast(coalesce(r.inbound, 0) as bigint) as referrals_daily_inbound,
            cast(coalesce(r.outbound, 0) as bigint) as referrals_daily_outbound,
            cast(coalesce(r.accepted, 0) as bigint) as referrals_daily_accepted,
            cast(coalesce(r.won, 0) as bigint) as referrals_daily_won,
            {landed}
        from marts.mart_cosell_daily as m
        left join referrals_daily as r
            on r.organization_id = m.organization_id and r.date = m.date
        order by {grain}
    """,
    "mart_leads_daily": """
        with referrals_daily as (
            select
                organization_id,
                date,
                sum(referrals_created) as received,
                sum(referrals_accepted) as accepted,
                sum(referrals_won) as won
            from marts.mart_referrals_daily
            where referral_category in ('marketplace_lead', 'qualified_lead')
            group by organization_id, date
        )
        select
            m.*,
            cast(coalesce(r.received, 0) as bigint) as referrals_daily_leads_received,
            cast(coalesce(r.accepted, 0) as bigint) as referrals_daily_leads_accepted,
            cast(coalesce(r.won, 0) as bigint) as referrals_daily_leads_won,
            {landed}
        from marts.mart_leads_daily as m
        left join referrals_daily as r
            on r.organization_id = m.organization_id and r.date = m.date
        order by {grain}
    """,
    # A deal value or registration whose (currency, month) has no fx rate adds nothing to the
    # sums: a data-quality failure of the revenue widget (raw-contract.md), counted here.
    "mart_revenue_daily": """
        with referrals_daily as (
            select
                organization_id,
                date,
                case when referral_category in ('cosell_inbound', 'cosell_outbound')
                    then 'co-sell' else 'lead' end as referral_kind,
                sum(referrals_won) as won
            from marts.mart_referrals_daily
            group by all
        )
        select
            m.*,
            cast(coalesce(r.won, 0) as bigint) as referrals_daily_won,
            (select count(*) from intermediate.int_revenue_events where is_fx_rate_missing)
                as events_missing_fx_rate,
            {landed}
        from marts.mart_revenue_daily as m
        left join referrals_daily as r
            on r.organization_id = m.organization_id
            and r.date = m.date
            and r.referral_kind = m.referral_kind
        order by {grain}
    """,
    "mart_qrp_monthly_kpis": (
        "select m.*, "
        + _QRP_COLUMNS.format(partition="m.organization_id, m.program, m.month")
        + _QRP_WINDOW.format(as_of="cast($as_of_date as date)")
        + ", {landed} from marts.mart_qrp_monthly_kpis as m order by {grain}"
    ),
    "mart_qrp_kpi_history": (
        "select m.*, "
        + _QRP_COLUMNS.format(partition="m.organization_id, m.as_of_date, m.program, m.month")
        + _QRP_WINDOW.format(as_of="m.as_of_date")
        + ", {landed} from marts.mart_qrp_kpi_history as m order by {grain}"
    ),
    # Each headline number next to what the daily marts sum to over the standard range, the
    # range recomputed from the as-of date (month arithmetic clamps to the month end in DuckDB).
    # Rates as in the pct() macro: round(10000 * n / d) / 100, NULL when d = 0.
    "mart_overview_summary": """
        with ranges as (
            select
                time_range,
                cast(cast($as_of_date as date) - to_months(months) + interval 1 day as date)
                    as range_start,
                cast($as_of_date as date) as range_end
            from (values ('1M', 1), ('3M', 3), ('6M', 6), ('12M', 12)) as t (time_range, months)
        ),
        referral_sums as (
            select r.time_range, d.organization_id,
                sum(d.referrals_created) as created,
                sum(d.referrals_accepted) as accepted,
                sum(d.referrals_won) as won
            from ranges as r
            inner join marts.mart_referrals_daily as d on d.date between r.range_start and r.range_end
            group by all
        ),
        cosell_sums as (
            select r.time_range, d.organization_id,
                sum(d.inbound) as inbound,
                sum(d.outbound) as outbound,
                sum(d.accepted) as accepted,
                sum(d.accepted_by_microsoft) as accepted_by_microsoft,
                sum(d.won) as won
            from ranges as r
            inner join marts.mart_cosell_daily as d on d.date between r.range_start and r.range_end
            group by all
        ),
        leads_sums as (
            select r.time_range, d.organization_id,
                sum(d.page_views) as page_views,
                sum(d.cta_clicks) as cta_clicks,
                sum(d.leads_received) as received,
                sum(d.leads_accepted) as accepted,
                sum(d.leads_won) as won
            from ranges as r
            inner join marts.mart_leads_daily as d on d.date between r.range_start and r.range_end
            group by all
        ),
        revenue_sums as (
            select r.time_range, d.organization_id,
                sum(d.won_value_usd) as won_usd,
                sum(d.ip_cosell_approved_value_usd) as ip_cosell_usd
            from ranges as r
            inner join marts.mart_revenue_daily as d on d.date between r.range_start and r.range_end
            group by all
        ),
        recomputed as (
            select
                m.organization_id,
                m.time_range,
                m.metric,
                case m.metric
                    when 'referrals_total' then coalesce(rs.created, 0)
                    when 'referrals_accepted' then coalesce(rs.accepted, 0)
                    when 'referrals_won' then coalesce(rs.won, 0)
                    when 'cosell_inbound' then coalesce(cs.inbound, 0)
                    when 'cosell_outbound' then coalesce(cs.outbound, 0)
                    when 'cosell_accepted' then coalesce(cs.accepted, 0)
                    when 'cosell_accepted_by_microsoft' then coalesce(cs.accepted_by_microsoft, 0)
                    when 'cosell_won' then coalesce(cs.won, 0)
                    when 'cosell_win_rate_pct' then
                        round(cast(coalesce(cs.won, 0) as double) * 10000
                            / nullif(coalesce(cs.accepted, 0) + coalesce(cs.outbound, 0), 0), 0) / 100
                    when 'leads_page_views' then coalesce(ls.page_views, 0)
                    when 'leads_cta_clicks' then coalesce(ls.cta_clicks, 0)
                    when 'leads_received' then coalesce(ls.received, 0)
                    when 'leads_accepted' then coalesce(ls.accepted, 0)
                    when 'leads_won' then coalesce(ls.won, 0)
                    when 'leads_win_rate_pct' then
                        round(cast(coalesce(ls.won, 0) as double) * 10000
                            / nullif(coalesce(ls.accepted, 0), 0), 0) / 100
                    when 'revenue_won_usd' then coalesce(vs.won_usd, 0)
                    when 'revenue_ip_cosell_approved_usd' then coalesce(vs.ip_cosell_usd, 0)
                end as daily_marts_value,
                case m.metric
                    when 'cosell_win_rate_pct' then coalesce(cs.accepted, 0) + coalesce(cs.outbound, 0)
                    when 'leads_win_rate_pct' then coalesce(ls.accepted, 0)
                end as rate_denominator
            from marts.mart_overview_summary as m
            left join referral_sums as rs
                on rs.organization_id = m.organization_id and rs.time_range = m.time_range
            left join cosell_sums as cs
                on cs.organization_id = m.organization_id and cs.time_range = m.time_range
            left join leads_sums as ls
                on ls.organization_id = m.organization_id and ls.time_range = m.time_range
            left join revenue_sums as vs
                on vs.organization_id = m.organization_id and vs.time_range = m.time_range
        )
        select
            m.*,
            cast(c.rate_denominator as bigint) as rate_denominator,
            m.value - cast(c.daily_marts_value as double) as difference_from_daily_marts,
            r.range_start as expected_range_start,
            {landed}
        from marts.mart_overview_summary as m
        left join recomputed as c
            on c.organization_id = m.organization_id
            and c.time_range = m.time_range
            and c.metric = m.metric
        left join ranges as r on r.time_range = m.time_range
        order by {grain}
    """,
}

_PARAMETER = re.compile(r"\$(\w+)")


def batch_sql(widget: Widget) -> str:
    template = _SQL[widget.mart]
    return template.format(
        landed=_LANDED_COLUMNS,
        mart=widget.mart,
        grain=", ".join(f"m.{c}" for c in widget.grain),
    )


def read_batch(con: duckdb.DuckDBPyConnection, widget: Widget, landed: LandedData) -> pd.DataFrame:
    """The widget's mart as a pandas batch with its prepared columns."""
    sql = batch_sql(widget)
    values = {
        "as_of_date": landed.as_of_date,
        "feeding_snapshot_age_days": landed.feeding_snapshot_age_days(widget),
        "feeding_files_failed": landed.feeding_files_failed(widget),
    }
    # DuckDB refuses named parameters the statement does not use.
    params = {name: values[name] for name in set(_PARAMETER.findall(sql))}
    return con.execute(sql, params).df()
