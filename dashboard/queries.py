"""Every query the dashboard runs, written the way any BI tool should read the published marts.

- Open `<warehouse dir>/serving.duckdb` **read-only**, never the working warehouse (DuckDB lets no
  other process read it while a refresh writes). Open one connection per page view: it reads one
  published version from start to end, and the next view sees a newer one.
- A standard range (1M, 3M, 6M, 12M) reads its headline numbers from `mart_overview_summary`; its
  `range_start`/`range_end` are the window every other time-bound widget sums over.
- A custom range sums the daily marts with `date between ? and ?` (SQL generated from the dbt
  semantic layer's metrics, orchestration/semantic/metrics.py); a rate is the ratio of the
  sums, rounded like the marts do it (`round(10000 * n / d) / 100`, halves away from zero, NULL
  when the denominator is 0) — never an average of daily values.
- Every value is a bound parameter; the SQL text is constant (the generated part comes from the
  committed metric definitions, never from data).

The functions return plain Python rows (counts as float, like the summary's DOUBLE values).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dashboard.widget_catalog import WIDGETS
from orchestration.semantic import metrics as semantic

# --- connection and what is published ----------------------------------------------------------


@contextmanager
def connect(serving_db: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        yield con
    finally:
        con.close()


PUBLISHED_TABLES = """
select table_name
from information_schema.tables
where table_schema = 'marts'
"""

PUBLISHED_MARTS = """
select mart, state, data_refreshed_at, row_count, version, published_at
from publish.published_marts
"""

# Written by the validation step after every refresh (one row per widget mart). Older published
# sets do not have it: the caller treats its absence as "refresh details unavailable".
WIDGET_REFRESH = """
select
    widget, mart, refreshed_at, data_as_of, row_count, expectations_evaluated,
    expectations_failed, quarantined_records, status, failed_expectations
from marts.mart_widget_refresh
"""


@dataclass(frozen=True)
class PublishState:
    mart: str
    state: str  # published | kept_previous | not_published
    data_refreshed_at: dt.datetime | None
    row_count: int | None
    version: str | None
    published_at: dt.datetime | None


@dataclass(frozen=True)
class WidgetRefresh:
    widget: str
    mart: str
    refreshed_at: dt.datetime | None
    data_as_of: dt.date | None
    row_count: int | None
    expectations_evaluated: int | None
    expectations_failed: int | None
    quarantined_records: int | None
    status: str  # ok | warning | failed
    failed_expectations: str | None


def published_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {name for (name,) in con.execute(PUBLISHED_TABLES).fetchall()}


def publish_states(con: duckdb.DuckDBPyConnection) -> dict[str, PublishState]:
    return {row[0]: PublishState(*row) for row in con.execute(PUBLISHED_MARTS).fetchall()}


def widget_refresh(con: duckdb.DuckDBPyConnection) -> dict[str, WidgetRefresh]:
    """Per mart; raises duckdb.Error when the table is missing or has other columns."""
    return {row[1]: WidgetRefresh(*row) for row in con.execute(WIDGET_REFRESH).fetchall()}


# --- organizations and the as-of date ------------------------------------------------------------

# Every organization of the warehouse has rows in both of these (marts.md); the second is the
# fallback when the first was not published.
ORGANIZATIONS = {
    "mart_overview_summary": "select distinct organization_id from marts.mart_overview_summary order by 1",
    "mart_solutions_outlook": "select distinct organization_id from marts.mart_solutions_outlook order by 1",
}

AS_OF_DATE = {
    "mart_overview_summary": "select max(as_of_date) from marts.mart_overview_summary",
    "mart_solutions_outlook": "select max(as_of_date) from marts.mart_solutions_outlook",
}


# The current names (marts/core/dim_organizations.sql); a published set without it shows ids.
ORGANIZATION_NAMES = "select organization_id, display_name from marts.dim_organizations"


def organization_names(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dict[str, str]:
    if "dim_organizations" not in tables:
        return {}
    return dict(con.execute(ORGANIZATION_NAMES).fetchall())


def organizations(con: duckdb.DuckDBPyConnection, tables: set[str]) -> list[str]:
    for mart, sql in ORGANIZATIONS.items():
        if mart in tables:
            return [org for (org,) in con.execute(sql).fetchall()]
    return []


def as_of_date(con: duckdb.DuckDBPyConnection, tables: set[str]) -> dt.date | None:
    for mart, sql in AS_OF_DATE.items():
        if mart in tables:
            return con.execute(sql).fetchone()[0]
    return None


# --- headline numbers: standard ranges ----------------------------------------------------------

STANDARD_RANGE = """
select range_start, range_end, metric, value
from marts.mart_overview_summary
where organization_id = ? and time_range = ?
"""


@dataclass(frozen=True)
class StandardRange:
    start: dt.date
    end: dt.date
    metrics: dict[str, float | None]


def standard_range(
    con: duckdb.DuckDBPyConnection, organization: str, time_range: str
) -> StandardRange | None:
    rows = con.execute(STANDARD_RANGE, [organization, time_range]).fetchall()
    if not rows:
        return None
    return StandardRange(rows[0][0], rows[0][1], {metric: value for _, _, metric, value in rows})


# --- headline numbers: a custom range, from the daily marts ---------------------------------------
# One query per widget, so that a mart that was not published only blanks its own widget. The SQL
# is generated from the semantic layer's metric definitions (orchestration/semantic/metrics.py),
# the same ones `mf query` answers with: a sum per count, each rate from the range's sums.

CUSTOM_RANGE_TOTALS = {
    spec.mart: semantic.range_totals_sql([m.metric for m in spec.headline])
    for spec in WIDGETS
    if spec.headline
}


def custom_range_totals(
    con: duckdb.DuckDBPyConnection, mart: str, organization: str, start: dt.date, end: dt.date
) -> dict[str, float | None]:
    """The summary's metrics of one daily mart over [start, end]."""
    cursor = con.execute(
        CUSTOM_RANGE_TOTALS[mart], {"organization": organization, "start": start, "end": end}
    )
    names = [d[0] for d in cursor.description]
    return {
        n: (None if v is None else float(v)) for n, v in zip(names, cursor.fetchone(), strict=True)
    }


# --- monthly trends (any range) -------------------------------------------------------------------
# Calendar months overlapping [start, end], the first and last clipped to the range, zero-filled
# (the daily marts are sparse), so the points of a series add up to the headline number.

_MONTHS = """
months as (
    select cast(unnest(generate_series(
        date_trunc('month', cast($start as date)),
        date_trunc('month', cast($end as date)),
        interval 1 month)) as date) as month
)
"""

# Generated like the totals, from the count metrics each widget shows.
MONTHLY_COUNTS = {
    spec.mart: semantic.monthly_sql([m.metric for m in spec.headline if m.kind == "count"])
    for spec in WIDGETS
    if spec.mart in ("mart_referrals_daily", "mart_cosell_daily", "mart_leads_daily")
}

# Won value split by referral kind (leads vs co-sell) plus the IP co-sell approved value.
REVENUE_MONTHLY = f"""
with {_MONTHS},
daily as (
    select * from marts.mart_revenue_daily
    where organization_id = $organization and date between $start and $end
)
select
    months.month,
    coalesce(sum(daily.won_value_usd) filter (where daily.referral_kind = 'lead'), 0)
        as won_value_usd_lead,
    coalesce(sum(daily.won_value_usd) filter (where daily.referral_kind = 'co-sell'), 0)
        as won_value_usd_cosell,
    coalesce(sum(daily.ip_cosell_approved_value_usd), 0) as ip_cosell_approved_value_usd
from months
left join daily on cast(date_trunc('month', daily.date) as date) = months.month
group by months.month
order by months.month
"""

REVENUE_BY_KIND = """
select referral_kind, sum(won_count) as won_count, sum(won_value_usd) as won_value_usd
from marts.mart_revenue_daily
where organization_id = $organization and date between $start and $end
group by referral_kind
"""

MONTHLY = MONTHLY_COUNTS | {"mart_revenue_daily": REVENUE_MONTHLY}


def monthly(
    con: duckdb.DuckDBPyConnection, mart: str, organization: str, start: dt.date, end: dt.date
) -> list[dict]:
    """One dict per month: `month` (date) and the mart's summed columns (float)."""
    cursor = con.execute(MONTHLY[mart], {"organization": organization, "start": start, "end": end})
    names = [d[0] for d in cursor.description]
    return [
        {n: (v if n == "month" else float(v)) for n, v in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


def revenue_by_kind(
    con: duckdb.DuckDBPyConnection, organization: str, start: dt.date, end: dt.date
) -> dict[str, float]:
    """Won value (USD) per referral kind over the range."""
    rows = con.execute(
        REVENUE_BY_KIND, {"organization": organization, "start": start, "end": end}
    ).fetchall()
    return {kind: float(value) for kind, _, value in rows}


# --- current-state widgets (ignore the time range) -----------------------------------------------

SOLUTIONS_OUTLOOK = """
select co_sell_status, solution_count
from marts.mart_solutions_outlook
where organization_id = ?
"""

REFERRAL_DISTRIBUTION = """
select referral_category, status, substatus, referral_count
from marts.mart_referral_distribution
where organization_id = ?
order by referral_category, status, substatus
"""


def solutions_outlook(con: duckdb.DuckDBPyConnection, organization: str) -> dict[str, int]:
    return dict(con.execute(SOLUTIONS_OUTLOOK, [organization]).fetchall())


def referral_distribution(
    con: duckdb.DuckDBPyConnection, organization: str
) -> list[tuple[str, str, str, int]]:
    return con.execute(REFERRAL_DISTRIBUTION, [organization]).fetchall()


# --- QRP: the 10 creation months ending with the as-of month, per country ---------------------------

QRP_COUNTRIES = """
select distinct country
from marts.mart_qrp_monthly_kpis
where organization_id = ?
order by country <> 'ALL', country
"""

QRP_MONTHLY_KPIS = """
select
    program, month, referrals_received, goals_met,
    accept_rate_pct, accept_rate_status,
    expiry_rate_pct, expiry_rate_status,
    close_rate_60d_pct, close_rate_60d_status,
    close_rate_180d_pct, close_rate_180d_status,
    win_rate_pct, win_rate_status
from marts.mart_qrp_monthly_kpis
where organization_id = ? and country = ?
order by program, month
"""


def qrp_countries(con: duckdb.DuckDBPyConnection, organization: str) -> list[str]:
    return [c for (c,) in con.execute(QRP_COUNTRIES, [organization]).fetchall()]


def qrp_monthly_kpis(con: duckdb.DuckDBPyConnection, organization: str, country: str) -> list[dict]:
    cursor = con.execute(QRP_MONTHLY_KPIS, [organization, country])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- time-to-accept / time-to-win histograms over a range ------------------------------------------

ACCEPTANCE_TIME = """
select referral_kind, bucket, min(bucket_order) as bucket_order, sum(referral_count) as referrals
from marts.mart_acceptance_time_distribution
where organization_id = $organization and date between $start and $end
group by referral_kind, bucket
"""

WIN_TIME = """
select referral_kind, bucket, min(bucket_order) as bucket_order, sum(referral_count) as referrals
from marts.mart_win_time_distribution
where organization_id = $organization and date between $start and $end
group by referral_kind, bucket
"""

HISTOGRAMS = {
    "mart_acceptance_time_distribution": ACCEPTANCE_TIME,
    "mart_win_time_distribution": WIN_TIME,
}


def histogram(
    con: duckdb.DuckDBPyConnection, mart: str, organization: str, start: dt.date, end: dt.date
) -> dict[tuple[str, str], int]:
    """(referral_kind, bucket) → referrals over the range (absent when 0)."""
    rows = con.execute(
        HISTOGRAMS[mart], {"organization": organization, "start": start, "end": end}
    ).fetchall()
    return {(kind, bucket): int(n) for kind, bucket, _, n in rows}
