"""One refresh, in-process: the same Dagster jobs the UI, schedule and sensor run.

Used by `referral-insights refresh`. It decides which snapshot dates need ingesting (files new or
changed since their last load), runs the refresh job over them (or only the transform job when
nothing new landed) and summarises what happened from the warehouse's bookkeeping tables.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from orchestration import dbt_prestart, settings
from orchestration import warehouse as warehouse_file
from orchestration.code_fingerprint import code_fingerprint as fingerprint_of
from orchestration.dbt_parse_state import start_parse_ahead
from orchestration.ingestion import landing, loader
from orchestration.ingestion.schema import ensure_raw_schema
from orchestration.quality.refresh_summary import RefreshDetails, refresh_details

if TYPE_CHECKING:
    import dagster as dg

log = logging.getLogger(__name__)


class RefreshAlreadyRunning(RuntimeError):
    pass


@dataclass
class RefreshSummary:
    success: bool
    run_id: str
    job: str
    files_loaded: int = 0
    files_failed: int = 0
    records_loaded: int = 0
    records_quarantined: int = 0
    failed_files: list[tuple[str, str]] = field(default_factory=list)
    waiting_files: list[str] = field(default_factory=list)
    """Landed files dated after tomorrow (UTC): not snapshots yet (raw-contract.md section 4)."""
    gone_files: list[str] = field(default_factory=list)
    """Loaded files no longer in the landing zone: their records stay (`forget` removes them)."""
    warnings: list[str] = field(default_factory=list)
    as_of_date: dt.date | None = None
    seconds: float = 0.0
    quality: RefreshDetails | None = None  # this run's widget statuses and Data Docs


lock_path = warehouse_file.lock_path


def _instance() -> dg.DagsterInstance:
    # Dagster is imported only when a job runs: a refresh with nothing new never needs it
    # (its import is most of that refresh's ~1 s).
    import dagster as dg

    # With DAGSTER_HOME set (make sets it) CLI runs show up in the UI's run history.
    return (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )


def run_refresh(
    raw_dir: Path,
    warehouse: Path,
    log_level: str = "WARNING",
    force: bool = False,
    full_refresh: bool = False,
) -> RefreshSummary:
    raw_dir, warehouse = raw_dir.resolve(), warehouse_file.prepare(warehouse)
    try:
        # Two refreshes at once would fight over the DuckDB write lock: the second one leaves.
        # Runs launched by Dagster take the same lock (the `warehouse` resource) but wait for it;
        # the in-process run below re-enters the lock this process holds.
        with warehouse_file.hold(warehouse, timeout_s=0):
            if full_refresh:
                _request_full_refresh(warehouse)
            return _run(raw_dir, warehouse, log_level, force or full_refresh)
    except warehouse_file.WarehouseBusy as exc:
        raise RefreshAlreadyRunning(str(exc)) from exc


class ForgetRefused(ValueError):
    pass


def forget(raw_dir: Path, warehouse: Path, file_name: str, log_level: str = "WARNING"):
    """Remove one landed file's records from the warehouse and rebuild what depended on them
    (raw-contract.md section 4: a file gone from the landing zone keeps its records until then).
    Refused while the file is still landed: the next refresh would load it again."""
    raw_dir, warehouse = raw_dir.resolve(), warehouse.resolve()
    landed = {f.file_name for f in landing.discover(raw_dir).files}
    if file_name in landed:
        raise ForgetRefused(
            f"{file_name} is still in the landing zone {raw_dir}: the next refresh would load it "
            "again. Move it out of the landing zone first."
        )
    if not warehouse.exists():
        raise ForgetRefused(f"no warehouse at {warehouse}")
    try:
        with warehouse_file.hold(warehouse, timeout_s=0):
            with _connect_when_free(warehouse) as con:
                removed = loader.forget_file(con, file_name)
            if removed is None:
                raise ForgetRefused(f"{file_name} was never loaded into {warehouse}")
    except warehouse_file.WarehouseBusy as exc:
        raise RefreshAlreadyRunning(str(exc)) from exc
    summary = run_refresh(raw_dir, warehouse, log_level, force=True)
    return removed, summary


def _request_full_refresh(warehouse: Path) -> None:
    """Queue a full rebuild the way ingestion does for a re-landed file: the next complete dbt
    build runs --full-refresh and clears the request, so a crash before then keeps it."""
    with _connect_when_free(warehouse) as con:
        ensure_raw_schema(con)
        loader.request_full_refresh(
            con, "user", "", "requested by refresh --full-refresh",
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
        )


def _run(raw_dir: Path, warehouse: Path, log_level: str, force: bool) -> RefreshSummary:
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    found = landing.discover(raw_dir)
    files = landing.partitioned_files(found.files, log)
    landed_names = {f.file_name for f in found.files}
    waiting = sorted(f.file_name for f in found.files if f not in files)
    with _connect_when_free(warehouse) as con:
        changed = loader.changed_files(con, files)
        up_to_date = not changed and not force and _state_is_current(con)
    if up_to_date:
        # Nothing landed and no code changed since the last successful refresh: rebuilding would
        # give the same warehouse, so skip it (and the import of the whole code location).
        summary = RefreshSummary(True, "", "none", warnings=found.warnings, waiting_files=waiting)
        _summarise_ingestion(summary, warehouse, started, landed_names)
        summary.seconds = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - started).total_seconds()
        return summary

    config = settings.load().for_warehouse(warehouse)
    if changed:
        # a new warehouse's dbt parse runs while the code location is imported and its files are
        # ingested (the build waits for it)
        start_parse_ahead(config)
    # and the build's dbt process imports dbt meanwhile (started after the parse ahead, which is
    # no build and must not find it)
    dbt_prestart.start()
    job_name = "refresh" if changed else "transform"
    try:
        result = _execute_job(job_name, raw_dir, warehouse, log_level, changed)
    finally:
        dbt_prestart.stop()
    summary = RefreshSummary(
        result.success, result.run_id, job_name, warnings=found.warnings, waiting_files=waiting
    )
    summary.quality = refresh_details(warehouse, started)
    if result.success:
        with _connect_when_free(warehouse) as con:
            _record_state(con, result.run_id)
    _summarise_ingestion(summary, warehouse, started, landed_names)
    summary.seconds = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - started).total_seconds()
    return summary


def _execute_job(job_name: str, raw_dir: Path, warehouse: Path, log_level: str, changed: list):
    """The refresh job over the changed files' partitions, or the transform job when nothing
    landed: in this process, with this refresh's paths."""
    from orchestration.definitions import defs
    from orchestration.defs.jobs import ONLY_CHANGED_RUN_CONFIG, partition_range_tags

    # The ~320k objects of the imported code location live as long as the process: keep them
    # out of the cyclic garbage collector's full passes, which the run's allocations (Dagster's
    # events, GX's expectation objects) trigger often. 1% incremental refresh at 1M: 1.6 s of
    # collection, 0.4 s less frozen.
    gc.freeze()
    run_config: dict = {
        "loggers": {"console": {"config": {"log_level": log_level}}},
        # this refresh's paths, as resource config (the environment is never written)
        "resources": {
            "warehouse": {"config": {"database": str(warehouse)}},
            "landing_zone": {"config": {"raw_dir": str(raw_dir)}},
        },
    }
    tags = {}
    if changed:
        tags = partition_range_tags([f.snapshot_date for f in changed])
        run_config |= ONLY_CHANGED_RUN_CONFIG
    return defs.resolve_job_def(job_name).execute_in_process(
        run_config=run_config, tags=tags, instance=_instance(), raise_on_error=False
    )


# What a refresh's output depends on besides the landed files: the code that builds it.
_CODE_GLOBS = (
    ("orchestration", "**/*.py"),
    ("dbt_project", "models/**/*"),
    ("dbt_project", "macros/**/*"),
    ("dbt_project", "seeds/**/*"),
    ("dbt_project", "tests/**/*"),
    ("dbt_project", "*.yml"),
    ("expectations", "**/*.json"),
    ("expectations", "**/*.py"),
    ("expectations", "**/*.yml"),
)


def code_fingerprint() -> str:
    return fingerprint_of(settings.PROJECT_ROOT, _CODE_GLOBS, settings.load().dbt_target)


def _ensure_state_table(con) -> None:
    con.execute("create schema if not exists ops")
    con.execute(
        "create table if not exists ops.last_successful_refresh "
        "(code_fingerprint varchar, landing_watermark timestamp, run_id varchar, completed_at timestamp)"
    )


def _landing_watermark(con):
    ensure_raw_schema(con)
    return con.execute("select max(ingested_at) from raw.ingested_files").fetchall()[0][0]


def _state_is_current(con) -> bool:
    _ensure_state_table(con)
    rows = con.execute(
        "select code_fingerprint, landing_watermark from ops.last_successful_refresh"
    ).fetchall()
    return bool(rows) and rows[0] == (code_fingerprint(), _landing_watermark(con))


def _record_state(con, run_id: str) -> None:
    _ensure_state_table(con)
    con.begin()
    con.execute("delete from ops.last_successful_refresh")
    con.execute(
        "insert into ops.last_successful_refresh values (?, ?, ?, ?)",
        [
            code_fingerprint(),
            _landing_watermark(con),
            run_id,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
        ],
    )
    con.commit()


def _connect_when_free(warehouse: Path, timeout_s: float = 900.0) -> duckdb.DuckDBPyConnection:
    """Connect for writing, waiting only while another process still holds the DuckDB file."""
    return warehouse_file.connect(warehouse, timeout_s=timeout_s)


def _summarise_ingestion(
    summary: RefreshSummary, warehouse: Path, started: dt.datetime, landed: set[str]
) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = con.execute("select file_name from raw.ingested_files order by 1").fetchall()
        summary.gone_files = [name for (name,) in loaded if name not in landed]
        rows = con.execute(
            """
            select file_name, status, records_loaded, records_quarantined, error
            from raw.ingested_files where ingested_at >= ? order by file_name
            """,
            [started],
        ).fetchall()
        as_of = con.execute(
            "select max(snapshot_date) from raw.ingested_files "
            "where source = 'referrals' and status = 'loaded'"
        ).fetchone()
    summary.as_of_date = as_of[0] if as_of else None
    for file_name, status, loaded, quarantined, error in rows:
        if status == "failed":
            summary.files_failed += 1
            summary.failed_files.append((file_name, error))
        else:
            summary.files_loaded += 1
        summary.records_loaded += loaded
        summary.records_quarantined += quarantined
