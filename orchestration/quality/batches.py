"""The batches GX validates, read from the dbt models of schema `quality`.

Each widget mart has a dbt model `quality.qa_<mart without "mart_">` (dbt_project/models/quality/,
views on DuckDB): the mart's columns, in mart order, followed by the *prepared columns* that
bring in what a cross-table expectation compares with: facts about the landed data (the as-of
date, how old the feeding snapshots are, unreadable feeding files) and values recomputed from
other marts (e.g. the overview summary's value next to what the daily marts sum to). The SQL
only prepares these columns; the expectations in `expectations/` evaluate them. Every prepared
column is named in the suite's `expect_table_columns_to_match_ordered_list`, so a column added
to or dropped from a mart still fails it. The marts are aggregates (the largest,
`mart_qrp_kpi_history`, holds ~26 000 rows at 1 000 000 referrals), so each batch is read whole.

Expectation parameters (`$PARAMETER` in the suites) are derived from the landed-data facts
(`quality.qa_landed_data`): the staleness threshold, the row counts the landed data imply, the
number of partner referrals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pandas as pd

from orchestration.quality.widgets import SOURCES, Widget

# Overview summary: 4 time ranges x 17 metrics per organization; solutions outlook: 3 co-sell
# statuses per organization (marts.md). Both exist for every organization once there is an
# as-of date.
ROWS_PER_ORGANIZATION = {"mart_solutions_outlook": 3, "mart_overview_summary": 4 * 17}


@dataclass(frozen=True)
class LandedData:
    """What the raw layer says about the landed files (quality.qa_landed_data, a view over
    raw.ingested_files and raw.quarantine)."""

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


QUALITY_SCHEMA = "quality"
LANDED_DATA_MODEL = "qa_landed_data"


def batch_model(widget: Widget) -> str:
    """The dbt model holding the widget's batch: `mart_cosell_daily` -> `qa_cosell_daily`."""
    return "qa_" + widget.mart.removeprefix("mart_")


def batch_sql(widget: Widget) -> str:
    """A view has no row order: the batch is read ordered by the mart's grain."""
    return (
        f"select * from {QUALITY_SCHEMA}.{batch_model(widget)} order by {', '.join(widget.grain)}"
    )


def read_landed_data(con: duckdb.DuckDBPyConnection) -> LandedData:
    rows = con.execute(
        f"""
        select
            landing_source, newest_snapshot_date, files_failed, records_quarantined,
            warehouse_as_of_date, organizations, partner_referrals
        from {QUALITY_SCHEMA}.{LANDED_DATA_MODEL}
        """
    ).fetchall()
    # the warehouse-wide facts are repeated on every source's row; no row: nothing landed
    as_of_date, organizations, partner_referrals = rows[0][4:] if rows else (None, 0, 0)
    return LandedData(
        as_of_date=as_of_date,
        newest_snapshot={source: None for source in SOURCES} | {r[0]: r[1] for r in rows},
        failed_files={r[0]: r[2] for r in rows},
        quarantined={r[0]: r[3] for r in rows},
        organizations=organizations,
        partner_referrals=partner_referrals,
    )


def read_batch(con: duckdb.DuckDBPyConnection, widget: Widget) -> pd.DataFrame:
    """The widget's mart as a pandas batch with its prepared columns."""
    return con.execute(batch_sql(widget)).df()
