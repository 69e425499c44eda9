"""Runs that Dagster itself launches, under a real daemon (issue 17).

One module-wide setup, as a deployment would have it: a temporary DAGSTER_HOME holding the
project's dagster.yaml, a code server on a free port, `dagster-daemon run`, the landed-files
sensor switched on, an empty landing zone and a warehouse path whose folder does not exist yet.
The tests then land files (weeks of the committed sample landing zone) and watch the runs.
Faults are injected through the file named by REFERRAL_INSIGHTS_FAULT_FILE (orchestration/faults.py).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration import faults, settings
from orchestration.defs.automation import REQUEST_TAG
from orchestration.defs.jobs import WAREHOUSE_TAG
from tests.conftest import computed_marts

pytestmark = [pytest.mark.daemon, pytest.mark.e2e]

BIN = Path(sys.executable).parent
SAMPLE = settings.PROJECT_ROOT / "data" / "sample"
WEEKS = ["2025-11-03", "2025-11-10", "2025-11-17", "2025-11-24", "2025-12-01"]
SENSOR = "landed_files_sensor"
# A sensor tick every 15 s, then a run of a few sample weeks: generous, on a shared machine.
RUN_TIMEOUT = 240
STARTED, QUEUED = dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.QUEUED


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Deployment:
    home: Path
    raw: Path
    warehouse: Path
    fault_file: Path
    workspace: Path
    env: dict
    logs: Path
    instance: dg.DagsterInstance

    def dagster(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """The dagster CLI on this deployment's workspace (its code server)."""
        done = subprocess.run(
            [str(BIN / "dagster"), *args, "-w", str(self.workspace)],
            env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
        return done

    def land(self, week: str) -> list[str]:
        """Copy one sample week into the landing zone, each file renamed into place whole."""
        landed = []
        for source in ("referrals", "solutions", "marketplace_traffic"):
            for src in sorted((SAMPLE / source).glob(f"{week}.*")):
                (self.raw / source).mkdir(parents=True, exist_ok=True)
                partial = self.raw / f".{src.name}.{uuid.uuid4().hex}"
                shutil.copyfile(src, partial)
                os.replace(partial, self.raw / source / src.name)
                landed.append(f"{source}/{src.name}")
        return landed

    def runs(self, **tags: str) -> list[dg.DagsterRun]:
        """Runs with these tags, oldest first."""
        return list(reversed(self.instance.get_runs(filters=dg.RunsFilter(tags=tags))))

    def sensor_runs(self) -> list[dg.DagsterRun]:
        return self.runs(**{"dagster/sensor_name": SENSOR})

    def wait_for(self, what: str, predicate, timeout: float = RUN_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(1)
        tail = "".join(
            f"\n--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.logs.glob("*.log"))
        )
        raise AssertionError(f"timed out waiting for {what}{tail}")

    def wait_for_run_end(self, run_id: str, timeout: float = RUN_TIMEOUT) -> dg.DagsterRun:
        def ended():
            run = self.instance.get_run_by_id(run_id)
            return run if run and run.is_finished else None

        return self.wait_for(f"run {run_id} to end", ended, timeout)

    def run_errors(self, run_id: str) -> str:
        """The step and run failures of a run, with their causes."""
        return "\n".join(
            e.dagster_event.event_specific_data.error.to_string()
            for e in self.instance.all_logs(run_id)
            if e.dagster_event
            and e.dagster_event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE")
            and getattr(e.dagster_event.event_specific_data, "error", None)
        )

    def fault(self, instruction: str | None) -> None:
        if instruction is None:
            self.fault_file.unlink(missing_ok=True)
        else:
            self.fault_file.write_text(instruction)


def _wait_for_code_server(port: int, proc: subprocess.Popen, env: dict) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, "code server exited"
        check = subprocess.run(
            [str(BIN / "dagster"), "api", "grpc-health-check", "--port", str(port)],
            env=env, capture_output=True, timeout=60,
        )  # fmt: skip
        if check.returncode == 0:
            return
        time.sleep(1)
    raise AssertionError("code server did not start")


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    root = tmp_path_factory.mktemp("daemon")
    home, raw, logs = root / "dagster_home", root / "raw", root / "logs"
    for folder in (home, raw, logs):
        folder.mkdir()
    shutil.copy(settings.PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    warehouse = root / "not" / "yet" / "wh.duckdb"  # a fresh path: nothing of it exists
    port = _free_port()
    env = os.environ | {
        "DAGSTER_HOME": str(home),
        settings.RAW_DIR_ENV: str(raw),
        settings.WAREHOUSE_ENV: str(warehouse),
        faults.FAULT_FILE_ENV: str(root / "fault"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "GX_ANALYTICS_ENABLED": "false",
    }
    (root / "workspace.yaml").write_text(
        "load_from:\n  - grpc_server:\n      host: 127.0.0.1\n"
        f"      port: {port}\n      location_name: referral_insights\n"
    )
    procs = []

    def start(name: str, args: list[str]) -> subprocess.Popen:
        with open(logs / f"{name}.log", "w") as out:
            proc = subprocess.Popen(
                args, env=env, cwd=settings.PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        procs.append(proc)
        return proc

    try:
        # Started the way `dagster dev` and the daemon start code servers (`python -m dagster`):
        # the run workers it spawns then have a __main__ without a file, as in production.
        server = start(
            "code_server",
            [sys.executable, "-m", "dagster", "api", "grpc", "--host", "127.0.0.1", "--port", str(port),
             "--module-name", "orchestration.definitions", "--location-name", "referral_insights",
             "--working-directory", str(settings.PROJECT_ROOT)],
        )  # fmt: skip
        _wait_for_code_server(port, server, env)
        start("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(root / "workspace.yaml")])
        instance = dg.DagsterInstance.from_config(str(home))
        deployment = Deployment(
            home, raw, warehouse, root / "fault", root / "workspace.yaml", env, logs, instance
        )
        deployment.dagster("sensor", "start", SENSOR)
        yield deployment
    finally:
        for proc in reversed(procs):  # the daemon, then the code server
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _marts(warehouse: Path) -> dict[str, list]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return computed_marts(con)


def _loaded_files(warehouse: Path) -> dict[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return dict(con.execute("select file_name, status from raw.ingested_files").fetchall())


def _cli_refresh(raw: Path, warehouse: Path, **env: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"} | env
    return subprocess.Popen(
        [str(BIN / "referral-insights"), "refresh", "--raw-dir", str(raw), "--warehouse", str(warehouse)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_sensor_run_builds_a_fresh_warehouse_like_the_cli(deployment, tmp_path):
    assert not deployment.warehouse.parent.exists()
    landed = deployment.land(WEEKS[0]) + deployment.land(WEEKS[1])
    # the CLI on the same files, into its own warehouse, while the sensor picks them up
    cli_raw = tmp_path / "raw"
    shutil.copytree(deployment.raw, cli_raw)
    cli = _cli_refresh(cli_raw, tmp_path / "cli" / "wh.duckdb")

    run = deployment.wait_for("a sensor run", lambda: deployment.sensor_runs())[0]
    assert run.job_name == "refresh"
    assert run.tags[WAREHOUSE_TAG] == "write"
    assert run.tags["dagster/asset_partition_range_start"] == WEEKS[0]
    assert run.tags["dagster/asset_partition_range_end"] == WEEKS[1]
    run = deployment.wait_for_run_end(run.run_id)
    assert run.status == dg.DagsterRunStatus.SUCCESS, deployment.run_errors(run.run_id)
    out, _ = cli.communicate(timeout=RUN_TIMEOUT)
    assert cli.returncode == 0, out[-3000:]

    assert _loaded_files(deployment.warehouse) == {name: "loaded" for name in landed}
    assert (deployment.warehouse.parent / "serving.duckdb").exists()  # published too
    marts = _marts(deployment.warehouse)
    assert marts["mart_overview_summary"]  # not an empty build
    assert marts == _marts(tmp_path / "cli" / "wh.duckdb")


def _new_sensor_runs(deployment: Deployment, seen: int, count: int = 1):
    return lambda: (runs := deployment.sensor_runs()[seen:]) and len(runs) >= count and runs


def test_landings_close_together_queue_and_a_failed_run_is_retried(deployment):
    """A run holding the warehouse (stopped inside its load) → a second landing's run waits in
    the queue, never for the DuckDB lock; the first run then fails → the sensor requests its
    files again after the back-off, and the retry loads them."""
    seen = len(deployment.sensor_runs())
    status = lambda run: deployment.instance.get_run_by_id(run.run_id).status  # noqa: E731
    deployment.fault("hold ingest")
    try:
        first_files = deployment.land(WEEKS[2])
        first = deployment.wait_for("a sensor run", _new_sensor_runs(deployment, seen))[0]
        # the new week only: the files an earlier run loaded are not requested again
        assert first.tags["dagster/asset_partition_range_start"] == WEEKS[2]
        deployment.wait_for("the first run to start", lambda: status(first) == STARTED)
        second_files = deployment.land(WEEKS[3])
        second = deployment.wait_for("a second run", _new_sensor_runs(deployment, seen, 2))[1]
        # the files of the run still going are not requested twice
        assert second.tags["dagster/asset_partition_range_start"] == WEEKS[3]
        deployment.wait_for("the second run to be queued", lambda: status(second) == QUEUED)
        time.sleep(5)  # a round of the run queue daemon
        assert (status(first), status(second)) == (STARTED, QUEUED)
        # the CLI meanwhile: refused at once, with the lock named (exit code 3)
        cli = _cli_refresh(deployment.raw, deployment.warehouse)
        out, _ = cli.communicate(timeout=120)
        assert cli.returncode == 3, out[-2000:]
        assert "another refresh of" in out and f"{deployment.warehouse}.refresh.lock" in out

        deployment.fault("fail ingest")  # the held run fails where it stands
        first = deployment.wait_for_run_end(first.run_id)
        assert first.status == dg.DagsterRunStatus.FAILURE
        assert "injected fault at ingest" in deployment.run_errors(first.run_id)
    finally:
        deployment.fault(None)

    second = deployment.wait_for_run_end(second.run_id)
    assert second.status == dg.DagsterRunStatus.SUCCESS, deployment.run_errors(second.run_id)
    records = {
        r: deployment.instance.get_run_record_by_id(r) for r in (first.run_id, second.run_id)
    }
    assert records[second.run_id].start_time >= records[first.run_id].end_time

    retry = deployment.wait_for("the retry", _new_sensor_runs(deployment, seen, 3))[2]
    retry = deployment.wait_for_run_end(retry.run_id)
    assert retry.status == dg.DagsterRunStatus.SUCCESS, deployment.run_errors(retry.run_id)
    # a new request for the failed run's snapshot date (the old run key Dagster would skip)
    assert retry.tags[REQUEST_TAG] != first.tags[REQUEST_TAG]
    for tag in ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end"):
        assert retry.tags[tag] == first.tags[tag] == WEEKS[2]
    loaded = _loaded_files(deployment.warehouse)
    landed = first_files + second_files
    assert {name: loaded.get(name) for name in landed} == {name: "loaded" for name in landed}
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in deployment.sensor_runs()
               if r.run_id != first.run_id)  # fmt: skip


def _launch_like_the_ui(deployment: Deployment, job: str, warehouse: Path, tags: dict) -> str:
    """Submit a run through the instance's run coordinator, as the UI's launchpad does: it waits
    in the queue, the daemon launches it, the code server executes it in a process of its own."""
    run_id = str(uuid.uuid4())
    config = {"resources": {"warehouse": {"config": {"database": str(warehouse)}}}}
    deployment.dagster(
        "job", "launch", "-j", job, "--run-id", run_id, "--tags", json.dumps(tags),
        "--config-json", json.dumps(config),
    )  # fmt: skip
    return run_id


def test_a_run_launched_like_the_ui_waits_for_a_cli_refresh_of_its_warehouse(deployment, tmp_path):
    """The CLI refreshes a fresh warehouse and is held inside its load; a run submitted the way
    the UI does, for the same warehouse, starts, waits for the CLI's lock, saying so, and
    succeeds once the CLI has ended (made to fail there, to save a build)."""
    if not (deployment.raw / "referrals").exists():  # run on its own: land a week first
        deployment.land(WEEKS[0])
    weeks = sorted(p.name.split(".")[0] for p in (deployment.raw / "referrals").iterdir())
    warehouse = tmp_path / "fresh" / "ui.duckdb"
    hold = tmp_path / "cli_fault"
    hold.write_text("hold ingest")
    cli = _cli_refresh(deployment.raw, warehouse, **{faults.FAULT_FILE_ENV: str(hold)})
    try:
        # the CLI creates the warehouse file once it holds the lock
        deployment.wait_for("the CLI to take the lock", warehouse.exists)
        run_id = _launch_like_the_ui(
            deployment,
            "refresh",
            warehouse,
            {
                "dagster/asset_partition_range_start": weeks[0],
                "dagster/asset_partition_range_end": weeks[-1],
            },
        )
        waiting = deployment.wait_for(
            "the run to wait for the CLI",
            lambda: [
                e.message
                for e in deployment.instance.all_logs(run_id)
                if "waiting for another refresh" in (e.message or "")
            ],
        )
        assert str(warehouse) in waiting[0]
        assert deployment.instance.get_run_by_id(run_id).status == STARTED
        hold.write_text("fail ingest")
        out, _ = cli.communicate(timeout=RUN_TIMEOUT)
        assert cli.returncode == 1 and "injected fault at ingest" in out, out[-3000:]
    finally:
        hold.unlink()
    run = deployment.wait_for_run_end(run_id)
    assert run.status == dg.DagsterRunStatus.SUCCESS, deployment.run_errors(run_id)
    assert run.tags[WAREHOUSE_TAG] == "write"  # the job's tag: queued like the sensor's runs
    loaded = _loaded_files(warehouse)
    assert loaded and set(loaded.values()) == {"loaded"}
    # no sensor run is going: the daemon's warehouse can be read
    deployment.wait_for(
        "sensor runs to end", lambda: all(r.is_finished for r in deployment.sensor_runs())
    )
    if _loaded_files(deployment.warehouse) == loaded:  # the sensor loaded the same files
        assert _marts(warehouse) == _marts(deployment.warehouse)


@pytest.mark.spark
def test_a_daemon_run_with_the_spark_extra_installed(deployment, tmp_path):
    """With PySpark installed, Great Expectations imports pyspark.sql.connect, whose dependency
    check exits the process (sys.exit(0)) when __main__ has no file, as in a run worker, unless
    the connect dependencies (the spark extra pins them) are installed."""
    pytest.importorskip("pyspark", reason="needs the spark extra (make test-spark installs it)")
    # the exact condition: a __main__ without a file (python -c)
    probe = subprocess.run(
        [sys.executable, "-c", "import great_expectations; print('GX imported')"],
        capture_output=True, text=True, timeout=120, env=deployment.env,
    )  # fmt: skip
    assert probe.returncode == 0 and "GX imported" in probe.stdout, probe.stderr[-2000:]
    # and a daemon-launched run through the quality step, on a fresh warehouse
    run_id = _launch_like_the_ui(deployment, "transform", tmp_path / "fresh" / "wh.duckdb", {})
    run = deployment.wait_for_run_end(run_id)
    assert run.status == dg.DagsterRunStatus.SUCCESS, deployment.run_errors(run_id)
    done = {
        e.step_key
        for e in deployment.instance.all_logs(run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "STEP_SUCCESS"
    }
    assert "marts__mart_widget_refresh" in done
