"""The data-refresh details (`marts.mart_widget_refresh`, marts.md) and the stored GX results.

Both tables are replaced together in one transaction after every validation:

- `marts.mart_widget_refresh`: one row per widget mart, exactly the columns of marts.md.
  `failed_expectations` is '' (not NULL) when nothing failed, so BI tools can show it as is.
- `quality.gx_validation_results`: per mart, the GX statistics, the failed expectations and the
  whole GX validation result as JSON, and the mart's Data Docs page. The Dagster asset checks
  read their results from here, so GX runs once per refresh.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import duckdb

from orchestration.faults import pause_point
from orchestration.quality.validation import ValidationRun

WIDGET_REFRESH = "marts.mart_widget_refresh"
GX_RESULTS = "quality.gx_validation_results"

WIDGET_REFRESH_COLUMNS = (
    "widget", "mart", "refreshed_at", "data_as_of", "row_count", "expectations_evaluated",
    "expectations_failed", "quarantined_records", "status", "failed_expectations",
)  # fmt: skip

_DDL = (
    f"""
    create or replace table {WIDGET_REFRESH} (
        widget varchar not null,
        mart varchar not null,
        refreshed_at timestamp not null,
        data_as_of date,
        row_count bigint,
        expectations_evaluated integer not null,
        expectations_failed integer not null,
        quarantined_records bigint not null,
        status varchar not null,
        failed_expectations varchar not null
    )""",
    f"""
    create or replace table {GX_RESULTS} (
        mart varchar not null,
        widget varchar not null,
        validated_at timestamp not null,
        run_name varchar not null,
        status varchar not null,
        success boolean not null,
        evaluated_expectations integer not null,
        successful_expectations integer not null,
        unsuccessful_expectations integer not null,
        success_percent double,
        statistics json,
        failed_expectations json not null,
        error varchar,
        data_docs_page varchar,
        validation_result json
    )""",
)


def write_validation_run(con: duckdb.DuckDBPyConnection, run: ValidationRun) -> None:
    """Replace both tables' contents with this run's results, atomically."""
    as_of = run.landed.as_of_date
    refresh_rows, result_rows = [], []
    for r in run.results:
        refresh_rows.append(
            (
                r.widget.name,
                r.widget.mart,
                run.refreshed_at,
                as_of,
                r.row_count,
                r.evaluated,
                len(r.failed),
                r.quarantined_records,
                r.status,
                r.failed_expectations,
            )
        )
        stats = r.statistics
        result_rows.append(
            (
                r.widget.mart,
                r.widget.name,
                run.refreshed_at,
                run.run_name,
                r.status,
                not r.failed and not r.error,
                int(stats.get("evaluated_expectations", 0)),
                int(stats.get("successful_expectations", 0)),
                int(stats.get("unsuccessful_expectations", 0)),
                stats.get("success_percent"),
                json.dumps(stats),
                json.dumps([f.to_dict() for f in r.failed]),
                r.error,
                str(r.data_docs_page) if r.data_docs_page else None,
                json.dumps(r.result_json, default=str) if r.result_json else None,
            )
        )
    con.begin()
    try:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists quality")
        for ddl in _DDL:
            con.execute(ddl)
        con.executemany(
            f"insert into {WIDGET_REFRESH} values ({', '.join('?' * 10)})", refresh_rows
        )
        con.executemany(f"insert into {GX_RESULTS} values ({', '.join('?' * 15)})", result_rows)
        pause_point("validation")  # rows written, transaction not committed
        con.commit()
    except BaseException:
        con.rollback()
        raise


@dataclass(frozen=True)
class StoredResult:
    mart: str
    widget: str
    validated_at: dt.datetime
    status: str
    success: bool
    statistics: dict
    failed_expectations: list[dict]
    error: str | None
    data_docs_page: str | None

    @property
    def levels(self) -> set[str]:
        return {f["level"] for f in self.failed_expectations}


def read_validation_results(con: duckdb.DuckDBPyConnection) -> dict[str, StoredResult]:
    """The last validation's results by mart ({} before the first validation)."""
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'quality' and table_name = 'gx_validation_results'"
    ).fetchall()[0][0]
    if not exists:
        return {}
    rows = con.execute(
        f"""
        select mart, widget, validated_at, status, success, statistics, failed_expectations,
               error, data_docs_page
        from {GX_RESULTS}
        """
    ).fetchall()
    return {
        row[0]: StoredResult(
            *row[:5], json.loads(row[5] or "{}"), json.loads(row[6] or "[]"), *row[7:]
        )
        for row in rows
    }
