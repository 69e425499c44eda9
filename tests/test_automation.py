"""The landed-files sensor's bookkeeping (issue 17), tick by tick, against a Dagster instance whose
runs the test sets: a file counts as loaded only once its run succeeded, a failed or cancelled run
is requested again after a back-off, a run still going is never duplicated."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs import automation
from orchestration.defs.automation import REQUEST_TAG, landed_files_sensor
from orchestration.defs.jobs import WAREHOUSE_TAG
from orchestration.defs.resources import LandingZone
from tests.conftest import write_csv

T0 = 1_800_000_000.0


@pytest.fixture
def instance():
    return dg.DagsterInstance.ephemeral()  # in-memory run storage


class Ticks:
    """Evaluates the sensor as the daemon would: the cursor carried from tick to tick."""

    def __init__(self, instance: dg.DagsterInstance, raw: Path, monkeypatch):
        self.instance, self.raw, self.cursor, self.monkeypatch = instance, raw, None, monkeypatch

    def at(self, now: float):
        self.monkeypatch.setattr(automation, "_now", lambda: now)
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={"landing_zone": LandingZone(raw_dir=str(self.raw))},
        )
        result = landed_files_sensor(context)
        self.cursor = context.cursor
        return result

    def run_for(self, request: dg.RunRequest, status: dg.DagsterRunStatus) -> dg.DagsterRun:
        """The run the daemon would have made of `request`, in `status` (replacing any earlier)."""
        run_id = f"run-{request.run_key}"
        if self.instance.get_run_by_id(run_id):
            self.instance.delete_run(run_id)
        return self.instance.add_run(
            dg.DagsterRun(job_name="refresh", run_id=run_id, tags=request.tags, status=status)
        )


@pytest.fixture
def ticks(instance, raw_dir, monkeypatch):
    return Ticks(instance, raw_dir, monkeypatch)


def _land(raw: Path, day: str) -> str:
    write_csv(raw / "marketplace_traffic" / f"{day}.csv", [f"{day},org-a,offer-1,10,1"])
    return f"marketplace_traffic/{day}.csv"


def _requested_files(ticks: Ticks, request: dg.RunRequest) -> set[str]:
    return set(json.loads(ticks.cursor)["pending"][request.run_key]["files"])


def test_a_new_file_is_requested_once_while_its_run_is_queued_or_going(ticks, raw_dir):
    name = _land(raw_dir, "2026-01-05")
    request = ticks.at(T0)
    assert isinstance(request, dg.RunRequest)
    assert request.job_name == "refresh"
    assert request.tags[REQUEST_TAG] == request.run_key
    assert request.tags[WAREHOUSE_TAG] == "write"
    assert request.tags["dagster/asset_partition_range_start"] == "2026-01-05"
    assert _requested_files(ticks, request) == {name}

    # no run yet (the daemon submits it after the tick), then created, then going: no new request
    skip = ticks.at(T0 + 15)
    assert (
        isinstance(skip, dg.SkipReason) and "1 file(s) in a queued or running" in skip.skip_message
    )
    for status in (dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTED):
        ticks.run_for(request, status)
        assert isinstance(ticks.at(T0 + 30), dg.SkipReason)

    # succeeded: loaded, never requested again until it changes
    ticks.run_for(request, dg.DagsterRunStatus.SUCCESS)
    skip = ticks.at(T0 + 45)
    assert skip.skip_message == "no new or changed files"
    assert json.loads(ticks.cursor)["loaded"] == {name: list(_fingerprint(raw_dir / name))}
    assert isinstance(ticks.at(T0 + 3600), dg.SkipReason)


def _fingerprint(path: Path) -> tuple[int, int]:
    from orchestration.ingestion.landing import discover

    [landed] = [f for f in discover(path.parents[1]).files if f.path == path]
    return landed.fingerprint


@pytest.mark.parametrize("outcome", [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED])
def test_a_file_whose_run_failed_is_requested_again_after_a_growing_back_off(
    ticks, raw_dir, outcome, capfd
):
    name = _land(raw_dir, "2026-01-05")
    first = ticks.at(T0)
    ticks.run_for(first, outcome)

    # the failure is noticed at the next tick: retry 30 s later (RETRY_BASE_SECONDS)
    skip = ticks.at(T0 + 15)
    assert "1 file(s) to retry in 30 s" in skip.skip_message
    logged = capfd.readouterr().err  # the sensor's log (the tick's log in the UI)
    assert (
        f"WARNING - 1 landed file(s) not loaded (run run-{first.run_key} {outcome.value.lower()})"
        in logged
    )
    assert f"requesting them again in 30 s (failed attempts: 1): {name}" in logged
    assert isinstance(ticks.at(T0 + 44), dg.SkipReason)  # 29 s later: still backing off

    second = ticks.at(T0 + 46)
    assert isinstance(second, dg.RunRequest)
    assert second.run_key != first.run_key  # Dagster would skip a run key it has seen
    assert _requested_files(ticks, second) == {name}
    assert second.tags["dagster/asset_partition_range_start"] == "2026-01-05"

    # failed again: twice the wait (60 s), then the retry succeeds
    ticks.run_for(second, dg.DagsterRunStatus.FAILURE)
    assert "retry in 60 s" in ticks.at(T0 + 60).skip_message
    assert isinstance(ticks.at(T0 + 119), dg.SkipReason)
    third = ticks.at(T0 + 121)
    assert isinstance(third, dg.RunRequest) and third.run_key not in (first.run_key, second.run_key)
    ticks.run_for(third, dg.DagsterRunStatus.SUCCESS)
    assert ticks.at(T0 + 136).skip_message == "no new or changed files"
    assert json.loads(ticks.cursor)["retry"] == {}


def test_a_changed_file_is_requested_at_once_even_while_backing_off(ticks, raw_dir):
    path = raw_dir / _land(raw_dir, "2026-01-05")
    first = ticks.at(T0)
    ticks.run_for(first, dg.DagsterRunStatus.FAILURE)
    assert isinstance(ticks.at(T0 + 15), dg.SkipReason)
    os.utime(path, (T0, T0))  # re-landed: another fingerprint
    request = ticks.at(T0 + 20)
    assert isinstance(request, dg.RunRequest) and request.run_key != first.run_key


def test_only_files_not_loaded_nor_in_flight_make_a_new_request(ticks, raw_dir):
    loaded = _land(raw_dir, "2026-01-05")
    ticks.run_for(ticks.at(T0), dg.DagsterRunStatus.SUCCESS)
    ticks.at(T0 + 15)
    going = _land(raw_dir, "2026-01-12")
    ticks.run_for(request := ticks.at(T0 + 30), dg.DagsterRunStatus.STARTED)
    assert _requested_files(ticks, request) == {going}
    new = _land(raw_dir, "2026-01-19")
    request = ticks.at(T0 + 45)
    assert _requested_files(ticks, request) == {new}
    assert request.tags["dagster/asset_partition_range_start"] == "2026-01-19"
    assert loaded not in _requested_files(ticks, request)


def test_a_request_whose_run_never_appears_is_retried(ticks, raw_dir):
    _land(raw_dir, "2026-01-05")
    first = ticks.at(T0)
    assert isinstance(ticks.at(T0 + automation.LOST_AFTER_SECONDS), dg.SkipReason)  # pending
    assert "retry in 30 s" in ticks.at(T0 + automation.LOST_AFTER_SECONDS + 1).skip_message
    retry = ticks.at(T0 + automation.LOST_AFTER_SECONDS + 40)
    assert isinstance(retry, dg.RunRequest) and retry.run_key != first.run_key


def test_the_cursor_of_the_earlier_sensor_starts_over(ticks, raw_dir):
    """The earlier cursor recorded files when they were *requested*: it cannot tell which
    loaded, so every landed file is requested once (ingestion skips the unchanged ones)."""
    name = _land(raw_dir, "2026-01-05")
    ticks.cursor = json.dumps({name: list(_fingerprint(raw_dir / name))})
    request = ticks.at(T0)
    assert isinstance(request, dg.RunRequest) and _requested_files(ticks, request) == {name}


def test_the_retry_delay_doubles_up_to_an_hour():
    assert [automation.retry_delay(n) for n in (1, 2, 3, 7, 8, 20)] == [
        30, 60, 120, 1920, 3600, 3600
    ]  # fmt: skip


def test_sensor_and_schedule_start_switched_off():
    assert landed_files_sensor.default_status == dg.DefaultSensorStatus.STOPPED
    assert automation.daily_refresh_schedule.default_status == dg.DefaultScheduleStatus.STOPPED


def test_the_schedule_requests_a_queued_refresh_of_every_landed_file(raw_dir):
    _land(raw_dir, "2026-01-05")
    _land(raw_dir, "2026-01-19")
    context = dg.build_schedule_context(
        resources={"landing_zone": LandingZone(raw_dir=str(raw_dir))},
        scheduled_execution_time=dt.datetime(2026, 1, 20, 6, 0, tzinfo=dt.UTC),
    )
    request = automation.daily_refresh_schedule(context)
    # extraction lands today's snapshot first, so the range reaches the tick's date
    assert request.job_name == "extract_and_refresh"
    assert request.tags[WAREHOUSE_TAG] == "write"  # limited to one at a time by dagster.yaml
    assert request.tags["dagster/asset_partition_range_start"] == "2026-01-05"
    # the tick's date (Tuesday 2026-01-20) lies in the week of Monday 2026-01-19
    assert request.tags["dagster/asset_partition_range_end"] == "2026-01-19"


def test_the_shipped_dagster_yaml_queues_warehouse_runs_one_at_a_time():
    """Validated against Dagster's instance schema (tests/test_daemon.py runs an instance on it)."""
    from dagster._core.instance.config import dagster_instance_config

    from orchestration import settings

    config, _ = dagster_instance_config(str(settings.PROJECT_ROOT))
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["concurrency"]["runs"]["tag_concurrency_limits"] == [
        {"key": WAREHOUSE_TAG, "limit": 1}
    ]
    assert config["run_monitoring"]["enabled"] is True
    assert config["run_monitoring"]["max_runtime_seconds"] == 7200
