"""Faults a real deployment meets: readers during a refresh, a refresh killed at any point, two
refreshes at once. Refreshes run as separate processes, as they would in production."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from orchestration import faults, settings
from orchestration import warehouse as warehouse_lock
from synthetic.generator import generate
from tests.conftest import computed_marts, hold_refresh_lock_elsewhere

pytestmark = pytest.mark.e2e

CLI = str(Path(sys.executable).parent / "referral-insights")
READER = Path(__file__).with_name("serving_reader.py")


def _env(raw: Path, warehouse: Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    return env | {settings.RAW_DIR_ENV: str(raw), settings.WAREHOUSE_ENV: str(warehouse)} | extra


def _refresh(raw: Path, warehouse: Path, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, "refresh"],
        env=_env(raw, warehouse, **extra),
        capture_output=True,
        text=True,
        timeout=600,
    )


def _start_paused(raw: Path, warehouse: Path, point: str, marker: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [CLI, "refresh"],
        env=_env(
            raw, warehouse, **{faults.PAUSE_AT_ENV: point, faults.PAUSE_MARKER_ENV: str(marker)}
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while not marker.exists():
        assert proc.poll() is None, f"refresh ended before reaching {point}"
        assert time.monotonic() < deadline, f"refresh never reached {point}"
        time.sleep(0.2)
    return proc


def _read_only(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """Read once no process writes the file: the dbt process of a killed refresh (its child, not
    killed with it) may still be finishing its build; warehouse.connect waits out that lock."""
    return warehouse_lock.connect(warehouse, {"access_mode": "READ_ONLY"}, timeout_s=300)


def _marts(warehouse: Path) -> dict[str, list]:
    with _read_only(warehouse) as con:
        return computed_marts(con)


def _raw_counts(warehouse: Path) -> dict[str, int]:
    tables = (
        "referral_snapshots",
        "referral_registrations",
        "solution_snapshots",
        "marketplace_traffic",
        "quarantine",
    )
    with _read_only(warehouse) as con:
        return {t: con.execute(f"select count(*) from raw.{t}").fetchall()[0][0] for t in tables}


def _assert_published_set_whole(folder: Path) -> None:
    """What readers can see is one complete version, or nothing yet."""
    link = folder / "marts"
    if link.exists():
        manifest = json.loads((link / "_manifest.json").read_text())
        for mart in manifest["marts"]:
            if mart["state"] != "not_published":
                assert (link / f"{mart['mart']}.parquet").exists(), mart
    serving = folder / "serving.duckdb"
    if serving.exists():
        with duckdb.connect(str(serving), read_only=True) as con:
            assert con.execute("select count(*) from publish.published_marts").fetchall()[0][0] > 0


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    raw = tmp_path_factory.mktemp("landing") / "raw"
    generate(
        raw,
        organizations=1,
        referrals=400,
        start=dt.date(2026, 3, 2),
        days=35,
        seed=11,
        bad_records=2,
    )
    return raw


@pytest.fixture(scope="module")
def clean_build(landing, tmp_path_factory) -> Path:
    warehouse = tmp_path_factory.mktemp("clean") / "wh.duckdb"
    done = _refresh(landing, warehouse)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return warehouse


def test_a_refresh_killed_at_each_point_is_repaired_by_the_next(landing, clean_build, tmp_path):
    """A chain of refreshes on one warehouse, each killed (SIGKILL) at the next fault point:
    every refresh starts from the damage the previous kill left and must get past the point where
    that one died; the last one completes. After each kill the published set is whole; once a
    refresh got past ingestion, nothing landed is lost or doubled; once one got past dbt, the
    marts are the clean build's; the completed refresh gives the clean build's warehouse."""
    warehouse = tmp_path / "wh" / "wh.duckdb"
    warehouse.parent.mkdir()
    assert faults.POINTS == ("ingest", "dbt", "validation", "publish")
    for point in faults.POINTS:
        proc = _start_paused(landing, warehouse, point, tmp_path / f"reached-{point}")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        _assert_published_set_whole(warehouse.parent)
        if point != "ingest":  # this refresh re-did the ingestion the previous kill cut short
            assert _raw_counts(warehouse) == _raw_counts(clean_build), point
        if point in ("validation", "publish"):  # ... and the dbt build
            assert _marts(warehouse) == _marts(clean_build), point

    done = _refresh(landing, warehouse)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert _raw_counts(warehouse) == _raw_counts(clean_build)  # nothing landed is lost
    assert _marts(warehouse) == _marts(clean_build)
    _assert_published_set_whole(warehouse.parent)
    assert (warehouse.parent / "marts" / "mart_overview_summary.parquet").exists()


def test_a_second_refresh_at_the_same_time_exits_with_a_message(landing, tmp_path):
    """While another process holds the warehouse (a refresh in progress holds its refresh lock
    from start to end, orchestration/warehouse.py), a refresh exits at once with code 3 and a
    message naming the warehouse, writing nothing; the next one, once the lock is free, runs."""
    warehouse = tmp_path / "wh" / "wh.duckdb"
    holder = hold_refresh_lock_elsewhere(warehouse, 120)
    try:
        started = time.monotonic()
        second = _refresh(landing, warehouse)
        assert second.returncode == 3, second.stdout[-2000:] + second.stderr[-2000:]
        assert "another refresh" in second.stderr and str(warehouse) in second.stderr
        assert time.monotonic() - started < 60  # refused, not waiting for the lock
        assert not warehouse.exists()  # nothing written
    finally:
        holder.kill()
        holder.wait(timeout=60)
    with warehouse_lock.hold(warehouse, timeout_s=0):  # the refused refresh left no lock behind
        pass


def test_readers_of_the_serving_database_during_a_refresh(landing, clean_build, tmp_path):
    """A reader process queries the serving database and the Parquet set in a loop while a
    refresh that changes every mart runs; every query succeeds and every batch it reads is
    consistent (the summary's 3M values equal the sums of the daily marts it read with them)."""
    raw = tmp_path / "raw"
    shutil.copytree(landing, raw)
    warehouse = tmp_path / "wh" / "wh.duckdb"
    shutil.copytree(clean_build.parent, warehouse.parent, symlinks=True)
    # a later snapshot that changes the marts: the generator's last referral file re-dated
    latest = sorted((raw / "referrals").iterdir())[-1]
    shutil.copy(latest, raw / "referrals" / "2026-04-13.jsonl")

    stop = tmp_path / "stop"
    readers = {
        mode: subprocess.Popen(
            [
                sys.executable,
                str(READER),
                mode,
                str(warehouse.parent),
                str(stop),
                str(tmp_path / f"{mode}.json"),
            ]
        )
        for mode in ("long", "reconnect")
    }
    try:
        time.sleep(2)
        done = _refresh(raw, warehouse)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        time.sleep(2)
    finally:
        stop.write_text("stop")
        for reader in readers.values():
            reader.wait(timeout=120)
    for mode in readers:
        result = json.loads((tmp_path / f"{mode}.json").read_text())
        assert result["errors"] == [], (mode, result["errors"][:3])
        assert result["inconsistent"] == [], (mode, result["inconsistent"][:3])
        assert result["batches"] >= 10, mode
    # the open connection keeps its snapshot; a reconnecting reader moves to the new version
    assert len(json.loads((tmp_path / "long.json").read_text())["versions"]) == 1
    assert len(json.loads((tmp_path / "reconnect.json").read_text())["versions"]) == 2
