"""Retention: what refreshes leave behind stays bounded under a daily schedule plus the sensor.

What grows with every run, and what bounds it:

| what | where | bound |
|---|---|---|
| published mart versions | `<warehouse dir>/.published/` | the publisher keeps the last 3 (`KEEP_VERSIONS`) |
| dbt artifacts per invocation | `<warehouse>.dbt/<op>-<run>-<id>/` (manifest, compiled SQL, dbt.log) | `prune_dbt_targets`: the newest `dbt_target_invocations` |
| Dagster runs and their event logs | `$DAGSTER_HOME/history/` (~24 MB per sample refresh), compute logs in `$DAGSTER_HOME/storage/` | `prune_dagster_runs`: runs older than `run_history_days` or beyond the newest `max_runs` |
| DuckDB spill files | `<warehouse>.tmp/` (left by a killed run) | `prune_spill`: files untouched for `spill_max_age_hours` |
| Data Docs | `<warehouse dir>/data_docs/` | rebuilt whole by every validation |
| dbt's own log | `dbt.log` | rotated by dbt (`DBT_LOG_FILE_MAX_BYTES`, 5 backups) |
| sensor and schedule ticks | Dagster's schedule storage | `retention:` in dagster.yaml (docs/operations.md) |

`apply` runs at the end of every refresh (the `ops/retention` asset). Settings: env vars
`REFERRAL_INSIGHTS_RETENTION_*` or the asset's config.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

PREFIX = "REFERRAL_INSIGHTS_RETENTION_"
# dagster-dbt names each invocation's target folder <op name>-<run id[:7]>-<random[:7]>
_INVOCATION_DIR = re.compile(r"^[A-Za-z0-9_]+-[0-9a-f]{7}-[0-9a-f]{7}$")


@dataclass(frozen=True)
class RetentionConfig:
    # Older dbt invocation folders only serve debugging a past build; the newest few do.
    dbt_target_invocations: int = 3
    run_history_days: int = 30
    # A sensor-triggered setup may run many times a day: cap the count as well as the age.
    max_runs: int = 200
    spill_max_age_hours: float = 6.0

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None
    ) -> RetentionConfig:
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = (overrides or {}).get(f.name)
            if raw is None:
                raw = (environ.get(PREFIX + f.name.upper()) or "").strip() or None
            if raw is not None:
                values[f.name] = float(raw) if f.type == "float" else int(raw)
        return cls(**values)


@dataclass
class RetentionReport:
    removed: dict[str, int] = field(default_factory=dict)  # what → how many
    bytes_freed: int = 0

    def add(self, what: str, paths_or_count: int, size: int = 0) -> None:
        self.removed[what] = self.removed.get(what, 0) + paths_or_count
        self.bytes_freed += size


def _size(path: Path) -> int:
    if path.is_symlink() or not path.exists():
        return 0
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def prune_dbt_targets(
    target_dir: Path, keep: int, protect: Iterable[str] = (), report: RetentionReport | None = None
) -> RetentionReport:
    """Remove all but the newest `keep` dagster-dbt invocation folders in `target_dir`; folders
    whose name contains one of `protect` (e.g. the running run's id prefix) stay."""
    report = report or RetentionReport()
    if not target_dir.is_dir():
        return report
    invocations = sorted(
        (p for p in target_dir.iterdir() if p.is_dir() and _INVOCATION_DIR.match(p.name)),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    protect = tuple(protect)
    for old in invocations[max(keep, 0) :]:
        if any(token and token in old.name for token in protect):
            continue
        size = _size(old)
        shutil.rmtree(old, ignore_errors=True)
        report.add("dbt_target_invocations", 1, size)
    return report


def prune_spill(
    warehouse: Path, max_age_hours: float, now: float | None = None, report: RetentionReport | None = None
) -> RetentionReport:
    """DuckDB spills to `<database>.tmp/` and removes its files when it closes; a killed
    process leaves them. Remove the ones untouched for `max_age_hours` (a live query keeps
    writing to its files)."""
    report = report or RetentionReport()
    spill = warehouse.with_name(warehouse.name + ".tmp")
    if not spill.is_dir():
        return report
    cutoff = (now or time.time()) - max_age_hours * 3600
    for path in spill.rglob("*"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            size = path.stat().st_size
            path.unlink(missing_ok=True)
            report.add("spill_files", 1, size)
    return report


def prune_dagster_runs(
    instance,
    keep_days: int,
    max_runs: int,
    protect: Iterable[str] = (),
    now: dt.datetime | None = None,
    report: RetentionReport | None = None,
) -> RetentionReport:
    """Delete finished runs older than `keep_days` or beyond the newest `max_runs`, with their
    event logs and compute logs. Dagster's sqlite storage keeps one event-log file per run and
    only empties it on delete_run, so that file is removed too."""
    import dagster as dg

    report = report or RetentionReport()
    finished = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
    records = instance.get_run_records(filters=dg.RunsFilter(statuses=finished))  # newest first
    cutoff = (now or dt.datetime.now(dt.UTC)).timestamp() - keep_days * 86400
    protect = set(protect)
    for index, record in enumerate(records):
        run_id = record.dagster_run.run_id
        ended = record.end_time or record.create_timestamp.timestamp()
        if run_id in protect or (index < max_runs and ended >= cutoff):
            continue
        size = _delete_run(instance, run_id)
        report.add("dagster_runs", 1, size)
    return report


def _delete_run(instance, run_id: str) -> int:
    size = 0
    instance.delete_run(run_id)
    storage = instance.event_log_storage
    if hasattr(storage, "index_connection"):
        # delete_run leaves the run's asset check executions (~140 rows per refresh here, with
        # their serialized results) in the index: they would grow without bound.
        from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable

        with storage.index_connection() as conn:
            conn.execute(
                AssetCheckExecutionsTable.delete().where(
                    AssetCheckExecutionsTable.c.run_id == run_id
                )
            )
    shard = getattr(storage, "path_for_shard", None)
    if shard is not None and os.path.basename(shard(run_id)) == f"{run_id}.db":
        path = Path(shard(run_id))
        size += _size(path)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    logs = instance.compute_log_manager
    base = getattr(logs, "_base_dir", None) or getattr(
        getattr(logs, "local_manager", None), "_base_dir", None
    )
    if base:
        size += _size(Path(base) / run_id)
    try:
        logs.delete_logs(prefix=[run_id])
    except Exception:  # a compute log manager without delete support keeps its logs
        pass
    return size


def apply(
    config: RetentionConfig,
    warehouse: Path,
    dbt_target_dir: Path,
    instance=None,
    current_run_id: str | None = None,
) -> RetentionReport:
    """Every bound above, once. Called at the end of a refresh."""
    report = RetentionReport()
    protect = [current_run_id[:7]] if current_run_id else []
    prune_dbt_targets(dbt_target_dir, config.dbt_target_invocations, protect, report)
    prune_spill(warehouse, config.spill_max_age_hours, report=report)
    if instance is not None and not instance.is_ephemeral:
        prune_dagster_runs(
            instance,
            config.run_history_days,
            config.max_runs,
            protect=[current_run_id] if current_run_id else [],
            report=report,
        )
    return report
