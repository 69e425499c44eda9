"""The warehouse file for every start path (issue 17): created by whichever path comes first, held
by one writer at a time, and a missing file never taken for DuckDB's lock."""

from __future__ import annotations

import os
import time

import dagster as dg
import duckdb
import pytest
from filelock import FileLock, Timeout

from orchestration import settings, warehouse
from orchestration.defs.resources import Warehouse, build_resources
from tests.conftest import hold_refresh_lock_elsewhere


@pytest.fixture(autouse=True)
def _restore_warehouse_env(monkeypatch):
    # a run's `warehouse` resource exports the path it resolved; undone after each test
    monkeypatch.delenv(settings.WAREHOUSE_ENV, raising=False)


def test_a_fresh_path_is_created_on_first_connection(tmp_path):
    path = tmp_path / "not" / "yet" / "wh.duckdb"
    resource = Warehouse(database=str(path))
    with resource.get_connection() as con:
        assert con.execute("select 42").fetchall() == [(42,)]
    assert path.is_file()


def test_a_path_that_cannot_be_created_fails_at_once(tmp_path):
    (tmp_path / "a_file").write_text("")
    started = time.monotonic()
    with pytest.raises(OSError):
        warehouse.connect(tmp_path / "a_file" / "wh.duckdb")
    assert time.monotonic() - started < 1  # dagster-duckdb's resource retried for ~100 s


def test_only_duckdbs_lock_error_counts_as_a_lock(tmp_path):
    # a path that says "lock", with its file missing: the old check (`"lock" in message`) waited
    missing = tmp_path / "blocked" / "wh.duckdb"
    with pytest.raises(duckdb.IOException) as missing_error:
        duckdb.connect(str(missing))
    assert "No such file or directory" in str(missing_error.value)
    assert not warehouse.is_lock_conflict(missing_error.value)
    held = duckdb.IOException(
        f'IO Error: Could not set lock on file "{missing}": Conflicting lock is held in '
        "/usr/bin/python3 (PID 1234)."
    )
    assert warehouse.is_lock_conflict(held)


def test_the_lock_is_reentrant_within_a_process_and_released_after(tmp_path):
    path = tmp_path / "wh" / "wh.duckdb"
    with warehouse.hold(path, timeout_s=0):
        with warehouse.hold(path, timeout_s=0):  # the CLI's in-process run takes it again
            pass
        # still held after the inner exit: another holder (a new FileLock) cannot take it
        with pytest.raises(Timeout):
            FileLock(warehouse.lock_path(path)).acquire(timeout=0)
    probe = FileLock(warehouse.lock_path(path))
    probe.acquire(timeout=0)
    probe.release()


@pytest.mark.e2e  # a Dagster run in-process (~2 s)
def test_an_in_process_run_inside_the_cli_lock_does_not_deadlock(tmp_path):
    """`referral-insights refresh` holds the lock and executes the job in-process; the run's
    `warehouse` resource takes the same lock again."""
    path = tmp_path / "fresh" / "wh.duckdb"

    @dg.asset
    def probe(warehouse: Warehouse) -> None:
        with warehouse.get_connection() as con:
            con.execute("create table t as select 1 as x")

    with warehouse.hold(path, timeout_s=0):
        result = dg.materialize(
            [probe], resources={"warehouse": Warehouse(database=str(path), lock_timeout_seconds=0)}
        )
    assert result.success
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select x from t").fetchall() == [(1,)]


@pytest.mark.e2e  # a Dagster run in-process
def test_the_resource_gives_dbt_the_absolute_warehouse_path(tmp_path, monkeypatch):
    """dbt runs in dbt_project/: it gets the run's warehouse as an absolute path, in its --vars
    (settings.Settings.dbt_vars), and the run writes nothing to the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(settings.WAREHOUSE_ENV, "relative/wh.duckdb")
    environ_before = dict(os.environ)

    @dg.asset
    def dbt_vars_of_the_run(warehouse: Warehouse) -> dict:
        return settings.load().for_warehouse(warehouse.path).dbt_vars()

    result = dg.materialize(
        [dbt_vars_of_the_run], resources={"warehouse": build_resources()["warehouse"]}
    )
    dbt_vars = result.output_for_node("dbt_vars_of_the_run")
    assert dbt_vars["warehouse_path"] == str(tmp_path / "relative" / "wh.duckdb")
    assert dbt_vars["spark_dir"] == str(tmp_path / "relative" / "spark")
    assert (tmp_path / "relative").is_dir()
    assert dict(os.environ) == environ_before


@pytest.mark.e2e
def test_a_run_waits_for_another_process_and_a_cli_refresh_is_refused(tmp_path):
    path = tmp_path / "wh.duckdb"
    holder = hold_refresh_lock_elsewhere(path, 3)
    try:
        with pytest.raises(warehouse.WarehouseBusy, match="another refresh of .* is running"):
            with warehouse.hold(path, timeout_s=0):  # the CLI: refused at once
                pass
        waits: list[str] = []
        started = time.monotonic()
        with warehouse.hold(path, timeout_s=60, on_wait=waits.append, wait_log_every_s=1):
            waited = time.monotonic() - started  # a Dagster run: waits, saying so
        assert holder.wait(timeout=10) == 0
        assert waited >= 1
        assert waits and all("waiting for another refresh" in w for w in waits)
        assert 1 <= len(waits) <= 5  # once at once, then about once a second
    finally:
        holder.kill()


@pytest.mark.e2e
def test_a_run_gives_up_after_its_lock_timeout(tmp_path):
    path = tmp_path / "wh.duckdb"
    holder = hold_refresh_lock_elsewhere(path, 30)
    try:

        @dg.asset
        def probe(warehouse: Warehouse) -> None:
            pass

        result = dg.materialize(
            [probe],
            resources={"warehouse": Warehouse(database=str(path), lock_timeout_seconds=1)},
            raise_on_error=False,
        )
        assert not result.success
        [failure] = [e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE"]
        assert "WarehouseBusy: another refresh of" in repr(failure.event_specific_data)
    finally:
        holder.kill()
        holder.wait()
