"""Schedule and sensor: both start the same refresh job the CLI runs."""

import datetime as dt
import hashlib
import json

import dagster as dg

from orchestration.defs.jobs import (
    extract_and_refresh_job,
    refresh_job,
    refresh_request,
    transform_job,
)
from orchestration.defs.partitions import partitioned_files
from orchestration.defs.resources import LandingZone
from orchestration.ingestion.landing import discover


@dg.schedule(
    job=extract_and_refresh_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    description="Daily: extract from Partner Center (skipped without credentials), ingest "
    "whatever landed and was not loaded, rebuild all.",
)
def daily_refresh_schedule(context: dg.ScheduleEvaluationContext, landing_zone: LandingZone):
    files = partitioned_files(discover(landing_zone.path).files, context.log)
    # today's partition too: extraction lands the files of the service's date (UTC)
    today = (context.scheduled_execution_time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return refresh_request(files, job_name=extract_and_refresh_job.name, extra_dates=(today.date(),))


@dg.sensor(
    jobs=[refresh_job, transform_job],
    minimum_interval_seconds=60,
    description="Starts a refresh when a new or changed file lands in the raw dir.",
)
def landed_files_sensor(context: dg.SensorEvaluationContext, landing_zone: LandingZone):
    # The cursor holds each file's (size, mtime): no warehouse access, so the sensor never
    # contends with a running refresh for the DuckDB lock.
    seen: dict[str, list[int]] = json.loads(context.cursor) if context.cursor else {}
    files = partitioned_files(discover(landing_zone.path).files, context.log)
    current = {f.file_name: list(f.fingerprint) for f in files}
    changed = [f for f in files if seen.get(f.file_name) != current[f.file_name]]
    if not changed:
        return dg.SkipReason("no new or changed files")
    run_key = hashlib.sha256(json.dumps(current, sort_keys=True).encode()).hexdigest()[:16]
    context.update_cursor(json.dumps(current, sort_keys=True))
    return refresh_request(changed, run_key=run_key)
