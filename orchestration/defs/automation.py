"""Schedule and sensor: both start the same refresh job the CLI runs.

Both are off until switched on (UI → Automation, or `dagster sensor start landed_files_sensor` /
`dagster schedule start daily_refresh_schedule`): each starts runs that write the warehouse, and
a fresh `make ui` should not start writing one before anybody asked (docs/operations.md, "Running under the Dagster daemon").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from dataclasses import dataclass, field

import dagster as dg
from dagster_shared.check import CheckError

from orchestration.defs.jobs import (
    extract_and_refresh_job,
    refresh_job,
    refresh_request,
    transform_job,
)
from orchestration.defs.resources import LandingZone
from orchestration.ingestion.landing import discover, partitioned_files


@dg.schedule(
    job=extract_and_refresh_job,
    cron_schedule="0 6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily: extract from Partner Center (skipped without credentials), ingest "
    "whatever landed and was not loaded, rebuild all.",
)
def daily_refresh_schedule(context: dg.ScheduleEvaluationContext, landing_zone: LandingZone):
    files = partitioned_files(discover(landing_zone.path).files, context.log)
    # today's partition too: extraction lands the files of the service's date (UTC)
    try:
        scheduled = context.scheduled_execution_time
    except CheckError:  # evaluated outside a tick (a test, `dagster schedule preview`)
        scheduled = None
    today = (scheduled or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return refresh_request(files, job_name=extract_and_refresh_job.name, extra_dates=(today.date(),))


# Tag on each sensor run: the cursor finds its request's run (and its outcome) by it.
REQUEST_TAG = "referral_insights/sensor_request"
# Back-off before a file whose run failed or was cancelled is requested again: 30 s after the
# first failure, doubling with each further one, at most an hour.
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
# A request whose run cannot be found this long after it was made (deleted from the UI, or never
# submitted) is treated as failed.
LOST_AFTER_SECONDS = 300

_now = time.time  # the sensor's clock (tests move it)

_DONE = {dg.DagsterRunStatus.SUCCESS}
_FAILED = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the `attempts`-th failed run of a file before requesting it again."""
    return min(RETRY_BASE_SECONDS * 2 ** (attempts - 1), RETRY_MAX_SECONDS)


@dataclass
class SensorState:
    """The sensor's cursor. A file counts as loaded only once a run that requested it succeeded;
    until then it is pending (its run is queued or going) or waiting for a retry."""

    # file name → [size, mtime] as loaded by a successful run
    loaded: dict[str, list] = field(default_factory=dict)
    # request id → {"files": {file name: [size, mtime]}, "at": epoch seconds}
    pending: dict[str, dict] = field(default_factory=dict)
    # file name → {"fingerprint": [size, mtime], "attempts": n, "after": epoch seconds, "run": id}
    retry: dict[str, dict] = field(default_factory=dict)

    @classmethod
    def load(cls, cursor: str | None) -> SensorState:
        data = json.loads(cursor) if cursor else {}
        if data.get("version") != 2:
            # No cursor, or the earlier one (file → fingerprint of files *requested*, whether
            # their run succeeded or not): start over. The runs load only files whose fingerprint
            # differs from raw.ingested_files, so files already loaded cost nothing again.
            return cls()
        return cls(data["loaded"], data["pending"], data["retry"])

    def dump(self) -> str:
        return json.dumps(
            {"version": 2, "loaded": self.loaded, "pending": self.pending, "retry": self.retry},
            sort_keys=True,
        )


def _run_of(instance: dg.DagsterInstance, request_id: str) -> dg.DagsterRun | None:
    runs = instance.get_runs(filters=dg.RunsFilter(tags={REQUEST_TAG: request_id}), limit=1)
    return runs[0] if runs else None


def _settle(context: dg.SensorEvaluationContext, state: SensorState, now: float) -> None:
    """Move each earlier request whose run ended: success → loaded; failure or cancellation →
    retry after a back-off. A request whose run is queued or going stays pending."""
    for request_id, request in list(state.pending.items()):
        run = _run_of(context.instance, request_id)
        if run is not None and run.status in _DONE:
            state.loaded.update(request["files"])
            for name in request["files"]:
                state.retry.pop(name, None)
        elif (run is not None and run.status in _FAILED) or (
            run is None and now - request["at"] > LOST_AFTER_SECONDS
        ):
            attempts = 0
            for name, fingerprint in request["files"].items():
                before = state.retry.get(name)
                attempts = (
                    before["attempts"] if before and before["fingerprint"] == fingerprint else 0
                ) + 1
                state.retry[name] = {
                    "fingerprint": fingerprint,
                    "attempts": attempts,
                    "after": now + retry_delay(attempts),
                    "run": run.run_id if run else None,
                }
            outcome = (
                f"run {run.run_id} {run.status.value.lower()}" if run else "its run was not found"
            )
            context.log.warning(
                f"{len(request['files'])} landed file(s) not loaded ({outcome}); requesting them "
                f"again in {retry_delay(attempts)} s (failed attempts: {attempts}): "
                + ", ".join(sorted(request["files"]))
            )
        else:
            continue
        del state.pending[request_id]


@dg.sensor(
    jobs=[refresh_job, transform_job],
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Starts a refresh when a new or changed file lands in the raw dir, and again "
    "(with a back-off) when the run that should have loaded it failed or was cancelled.",
)
def landed_files_sensor(context: dg.SensorEvaluationContext, landing_zone: LandingZone):
    # Reads the landing zone and Dagster's run storage only, never the warehouse: the sensor
    # never contends with a running refresh for the DuckDB lock.
    now = _now()
    state = SensorState.load(context.cursor)
    _settle(context, state, now)
    files = partitioned_files(discover(landing_zone.path).files, context.log)
    current = {f.file_name: list(f.fingerprint) for f in files}
    # files no longer landed are forgotten (a file landed again is then new)
    state.loaded = {k: v for k, v in state.loaded.items() if k in current}
    state.retry = {k: v for k, v in state.retry.items() if k in current}
    in_flight = {n: fp for r in state.pending.values() for n, fp in r["files"].items()}

    due, going, backing_off = [], 0, []
    for f in files:
        fingerprint = current[f.file_name]
        retry = state.retry.get(f.file_name)
        if state.loaded.get(f.file_name) == fingerprint:
            continue
        if in_flight.get(f.file_name) == fingerprint:
            going += 1  # its run is queued or going: never a second run for it
        elif retry and retry["fingerprint"] == fingerprint and retry["after"] > now:
            backing_off.append(retry["after"] - now)
        else:
            due.append(f)  # new, changed, or due for a retry

    if not due:
        context.update_cursor(state.dump())
        waiting = []
        if going:
            waiting.append(f"{going} file(s) in a queued or running refresh")
        if backing_off:
            waiting.append(
                f"{len(backing_off)} file(s) to retry in {int(min(backing_off))} s or more"
            )
        return dg.SkipReason("; ".join(waiting) or "no new or changed files")

    requested = {
        f.file_name: [current[f.file_name], state.retry.get(f.file_name, {}).get("attempts", 0)]
        for f in due
    }
    # Deterministic: a tick evaluated twice (a daemon restarted mid-tick) gives the same run key,
    # so Dagster starts one run.
    request_id = hashlib.sha256(json.dumps(requested, sort_keys=True).encode()).hexdigest()[:16]
    state.pending[request_id] = {"files": {n: v[0] for n, v in requested.items()}, "at": now}
    context.update_cursor(state.dump())
    return refresh_request(due, run_key=request_id, tags={REQUEST_TAG: request_id})
