"""One refresh, in-process: the same Dagster jobs the UI, schedule and sensor run.

Used by `referral-insights refresh`. It decides which snapshot dates need ingesting (files new or
changed since their last load), runs the refresh job over them (or only the transform job when
nothing new landed) and summarises what happened from the warehouse's bookkeeping tables.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
from filelock import FileLock, Timeout

from orchestration import settings
from orchestration.ingestion import landing, loader

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
    warnings: list[str] = field(default_factory=list)
    as_of_date: dt.date | None = None
    seconds: float = 0.0


def lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".refresh.lock")


def _instance() -> dg.DagsterInstance:
    # With DAGSTER_HOME set (make sets it) CLI runs show up in the UI's run history.
    return (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else dg.DagsterInstance.ephemeral()
    )


def run_refresh(raw_dir: Path, warehouse: Path, log_level: str = "WARNING") -> RefreshSummary:
    raw_dir, warehouse = raw_dir.resolve(), warehouse.resolve()
    os.environ[settings.RAW_DIR_ENV] = str(raw_dir)
    os.environ[settings.WAREHOUSE_ENV] = str(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Two refreshes at once would fight over the DuckDB write lock: the second one leaves.
        with FileLock(lock_path(warehouse), timeout=0):
            return _run(raw_dir, warehouse, log_level)
    except Timeout as exc:
        raise RefreshAlreadyRunning(
            f"another refresh of {warehouse} is running (lock {lock_path(warehouse)}); "
            "try again when it has finished"
        ) from exc


def _run(raw_dir: Path, warehouse: Path, log_level: str) -> RefreshSummary:
    from orchestration.definitions import defs
    from orchestration.defs.jobs import ONLY_CHANGED_RUN_CONFIG, partition_range_tags
    from orchestration.defs.partitions import partitioned_files

    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    found = landing.discover(raw_dir)
    files = partitioned_files(found.files, log)
    with _connect_when_free(warehouse) as con:
        changed = loader.changed_files(con, files)

    run_config: dict = {"loggers": {"console": {"config": {"log_level": log_level}}}}
    if changed:
        job_name, tags = "refresh", partition_range_tags([f.snapshot_date for f in changed])
        run_config |= ONLY_CHANGED_RUN_CONFIG
    else:
        job_name, tags = "transform", {}
    result = defs.resolve_job_def(job_name).execute_in_process(
        run_config=run_config, tags=tags, instance=_instance(), raise_on_error=False
    )
    summary = RefreshSummary(result.success, result.run_id, job_name, warnings=found.warnings)
    _summarise_ingestion(summary, warehouse, started)
    summary.seconds = (dt.datetime.now(dt.UTC).replace(tzinfo=None) - started).total_seconds()
    return summary


def _connect_when_free(warehouse: Path, timeout_s: float = 900.0) -> duckdb.DuckDBPyConnection:
    """Connect for writing, waiting while another process still holds the DuckDB file (e.g. a
    dbt process orphaned by a killed refresh finishing its last model)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return duckdb.connect(str(warehouse))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            log.warning("warehouse is held by another process, waiting: %s", exc)
            time.sleep(2)


def _summarise_ingestion(summary: RefreshSummary, warehouse: Path, started: dt.datetime) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con:
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
