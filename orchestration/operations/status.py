"""`referral-insights status [--json]`: what a person or a monitoring system needs to know.

The last refresh (time, outcome, as-of date), each widget's status with its failed expectations
and data age, quarantine counts, the files that did not load, and the open incidents (the same
ones the alerts send). Exit codes, Nagios-style: 0 every widget ok and nothing open; 1 a widget
is `warning` or an incident is open (stale data, failed or waiting files, a file's quarantine
share over the threshold); 2 a widget `failed` or the last refresh run failed; 3 unknown (no
warehouse, or never validated).

It opens the warehouse read-only for a moment. While a refresh holds the warehouse (DuckDB
lets no other process in), it reads the published copy of the widget statuses
(`serving.duckdb`) instead and says that the file bookkeeping is unavailable.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from orchestration.operations.alerts import detect_incidents, newest_snapshots, root_error
from orchestration.operations.channels import AlertConfig
from orchestration.quality.widgets import WIDGETS, WIDGETS_BY_MART

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
REFRESH_JOBS = ("refresh", "transform")


@dataclass
class WidgetStatus:
    widget: str
    mart: str
    status: str
    refreshed_at: str | None
    data_as_of: str | None
    data_age_days: int | None
    """Days between today and the newest loaded snapshot of the sources feeding the widget."""
    rows: int | None
    quarantined_records: int
    failed_expectations: str


@dataclass
class Status:
    warehouse: str
    exit_code: int = UNKNOWN
    verdict: str = "unknown"
    source: str = "warehouse"  # or "published copy (a refresh holds the warehouse)"
    last_run: dict | None = None
    last_success: dict | None = None
    as_of_date: str | None = None
    widgets: list[WidgetStatus] = field(default_factory=list)
    quarantine: dict[str, int] | None = None
    files: dict[str, int] | None = None
    files_not_loaded: list[dict] | None = None
    incidents: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, default=str)


def last_runs(instance=None) -> tuple[dict | None, dict | None]:
    """The latest refresh/transform run and the latest successful one from Dagster's run
    history (DAGSTER_HOME), or (None, None) when there is no persistent instance."""
    if instance is None:
        if not os.environ.get("DAGSTER_HOME"):
            return None, None
        import dagster as dg

        instance = dg.DagsterInstance.get()
    import dagster as dg

    def latest(statuses=None) -> dict | None:
        records = []
        for job in REFRESH_JOBS:
            records += instance.get_run_records(
                filters=dg.RunsFilter(job_name=job, statuses=statuses), limit=1
            )
        if not records:
            return None
        record = max(records, key=lambda r: r.create_timestamp)
        return _describe_run(instance, record)

    return latest(), latest([dg.DagsterRunStatus.SUCCESS])


def _ts(value: float | None) -> str | None:
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else None


def _describe_run(instance, record) -> dict:
    import dagster as dg

    run = record.dagster_run
    out = {
        "run_id": run.run_id,
        "job": run.job_name,
        "status": run.status.value,
        "started_at": _ts(record.start_time),
        "finished_at": _ts(record.end_time),
    }
    if run.status == dg.DagsterRunStatus.FAILURE:
        failures = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
        out["failed_steps"] = [e.step_key for e in failures if e.step_key]
        errors = [
            root_error(e.dagster_event.event_specific_data.error)
            for e in failures
            if e.dagster_event and getattr(e.dagster_event.event_specific_data, "error", None)
        ]
        if not errors:
            run_failures = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
            errors = [e.message for e in run_failures if e.message]
        out["error"] = errors[0].strip() if errors else None
    return out


def _connect(path: Path):
    return duckdb.connect(str(path), read_only=True)


def collect(
    warehouse: Path,
    config: AlertConfig | None = None,
    today: dt.date | None = None,
    runs: tuple[dict | None, dict | None] | None = None,
) -> Status:
    config = config or AlertConfig.from_env()
    today = today or dt.datetime.now(dt.UTC).date()
    warehouse = warehouse.resolve()
    status = Status(str(warehouse))
    if runs is None:
        try:
            runs = last_runs()
        except Exception as exc:  # a broken DAGSTER_HOME must not hide the warehouse's state
            status.notes.append(f"Dagster run history unreadable: {exc}")
            runs = (None, None)
    status.last_run, status.last_success = runs
    if not warehouse.exists():
        status.notes.append("no warehouse yet: run `referral-insights refresh`")
        return _verdict(status)
    try:
        con = _connect(warehouse)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        serving = warehouse.parent / "serving.duckdb"
        status.source = "published copy (a refresh holds the warehouse)"
        status.notes.append("a refresh is running: file bookkeeping unavailable until it ends")
        if serving.exists():
            with _connect(serving) as published:
                _read_widgets(published, status, {}, today)
        return _verdict(status)
    with con:
        newest = newest_snapshots(con) if _has(con, "raw", "ingested_files") else {}
        _read_widgets(con, status, newest, today)
        if newest or _has(con, "raw", "ingested_files"):
            _read_files(con, status)
        status.incidents = [
            i.to_dict() for i in detect_incidents(con, config, today, status.last_run)
        ]
        if not status.last_success and _has(con, "ops", "last_successful_refresh"):
            row = con.execute(
                "select run_id, completed_at from ops.last_successful_refresh"
            ).fetchall()
            if row:
                status.last_success = {
                    "run_id": row[0][0],
                    "status": "SUCCESS",
                    "finished_at": f"{row[0][1]:%Y-%m-%d %H:%M:%S} UTC",
                }
        as_of = newest.get("referrals")
        status.as_of_date = str(as_of) if as_of else status.as_of_date
    return _verdict(status)


def _has(con, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


def _read_widgets(con, status: Status, newest: dict, today: dt.date) -> None:
    if not _has(con, "marts", "mart_widget_refresh"):
        return
    rows = con.execute(
        """
        select widget, mart, status, refreshed_at, data_as_of, row_count, quarantined_records,
               failed_expectations
        from marts.mart_widget_refresh
        """
    ).fetchall()
    order = {w.mart: i for i, w in enumerate(WIDGETS)}
    for widget, mart, state, refreshed, as_of, rows_, quarantined, failed in sorted(
        rows, key=lambda r: order.get(r[1], len(order))
    ):
        spec = WIDGETS_BY_MART.get(mart)
        feeding = [newest[s] for s in (spec.sources if spec else ()) if s in newest]
        newest_date = max(feeding) if feeding else as_of
        status.widgets.append(
            WidgetStatus(
                widget, mart, state,
                f"{refreshed:%Y-%m-%d %H:%M:%S} UTC" if refreshed else None,
                str(as_of) if as_of else None,
                (today - newest_date).days if newest_date else None,
                rows_, quarantined or 0, failed or "",
            )
        )  # fmt: skip
        status.as_of_date = status.as_of_date or (str(as_of) if as_of else None)


def _read_files(con, status: Status) -> None:
    status.files = dict(
        con.execute("select status, count(*) from raw.ingested_files group by all order by 1").fetchall()
    )
    status.quarantine = dict(
        con.execute("select source, count(*) from raw.quarantine group by all order by 1").fetchall()
    )
    status.files_not_loaded = [
        {"file": f, "status": s, "snapshot_date": str(d), "error": e}
        for f, s, d, e in con.execute(
            "select file_name, status, snapshot_date, error from raw.ingested_files "
            "where status <> 'loaded' order by status, file_name"
        ).fetchall()
    ]


def _verdict(status: Status) -> Status:
    states = {w.status for w in status.widgets}
    run_failed = bool(status.last_run and status.last_run.get("status") == "FAILURE")
    if "failed" in states or run_failed:
        status.exit_code, status.verdict = CRITICAL, "failed"
    elif not status.widgets:
        status.exit_code, status.verdict = UNKNOWN, "unknown"
        status.notes.append("no widget validation has run on this warehouse")
    elif "warning" in states or status.incidents:
        status.exit_code, status.verdict = WARNING, "warning"
    else:
        status.exit_code, status.verdict = OK, "ok"
    return status


def render(status: Status) -> str:
    lines = [f"Referral Insights: {status.verdict.upper()} (exit {status.exit_code})"]
    lines.append(f"  warehouse:     {status.warehouse}")
    if status.source != "warehouse":
        lines.append(f"  read from:     {status.source}")
    run = status.last_run
    if run:
        lines.append(
            f"  last refresh:  {run.get('finished_at') or run.get('started_at') or '?'}, "
            f"{run['status'].lower()} (job {run['job']}, run {run['run_id']})"
        )
        if run.get("error"):
            lines.append(f"    error: {run['error'].splitlines()[0][:200]}")
    else:
        lines.append("  last refresh:  unknown (no Dagster run history: set DAGSTER_HOME)")
    if status.last_success and (not run or status.last_success["run_id"] != run["run_id"]):
        success = status.last_success
        lines.append(f"  last success:  {success.get('finished_at') or '?'} (run {success['run_id']})")
    lines.append(f"  as-of date:    {status.as_of_date or 'none'}")
    if status.widgets:
        counts = {s: sum(w.status == s for w in status.widgets) for s in ("ok", "warning", "failed")}
        lines.append("  widgets:       " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        for w in status.widgets:
            why = [f"data {w.data_age_days} days old"] if w.data_age_days is not None else []
            why += [f"{w.quarantined_records} quarantined"] if w.quarantined_records else []
            why += [w.failed_expectations] if w.failed_expectations else []
            lines.append(f"    {w.status:<8} {w.widget} ({w.mart}): " + "; ".join(why))
    if status.quarantine is not None:
        total = sum(status.quarantine.values())
        by_source = ", ".join(f"{s} {n}" for s, n in status.quarantine.items())
        lines.append(f"  quarantined:   {total} records" + (f" ({by_source})" if total else ""))
    if status.files is not None:
        lines.append(
            "  files:         " + (", ".join(f"{n} {s}" for s, n in status.files.items()) or "none")
        )
        for f in status.files_not_loaded or []:
            lines.append(
                f"    {f['status']:<8} {f['file']}" + (f": {f['error']}" if f["error"] else "")
            )
    if status.incidents:
        lines.append(f"  incidents:     {len(status.incidents)} open")
        for incident in status.incidents:
            lines.append(f"    {incident['severity']:<8} {incident['subject']}")
    for note in status.notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)
