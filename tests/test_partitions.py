"""Weekly partitions of the ingest assets (orchestration/defs/partitions.py): every snapshot
date up to tomorrow has a partition, whatever the weekday, and a week's run loads only the files
that are snapshots today (those dated after tomorrow wait)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import duckdb
import pytest

from orchestration.defs.ingestion import IngestConfig, ingest_solutions
from orchestration.defs.jobs import partition_range_tags
from orchestration.defs.partitions import FIRST_PARTITION, partition_key_of, snapshot_partitions
from orchestration.defs.resources import LandingZone, Warehouse
from orchestration.ingestion.landing import latest_snapshot_date
from tests.conftest import solution, write_jsonl


def test_a_partition_is_a_week_keyed_by_its_monday():
    monday = dt.date(2026, 11, 2)
    assert monday.weekday() == 0
    for offset in range(7):
        assert partition_key_of(monday + dt.timedelta(days=offset)) == "2026-11-02"
    assert partition_key_of(monday + dt.timedelta(days=7)) == "2026-11-09"
    assert partition_key_of(monday - dt.timedelta(days=1)) == "2026-10-26"


def test_snapshots_before_the_first_partition_belong_to_it():
    assert FIRST_PARTITION.weekday() == 0
    first = snapshot_partitions.get_first_partition_key()
    assert first == FIRST_PARTITION.isoformat()
    assert partition_key_of(dt.date(2019, 6, 3)) == first
    assert partition_key_of(dt.date(1999, 12, 31)) == first


@pytest.mark.parametrize("weekday", range(7))
def test_tomorrow_has_a_partition_on_every_weekday(weekday):
    # 2026-11-02 is a Monday: `now` walks one week, evening UTC
    now = dt.datetime(2026, 11, 2 + weekday, 23, 30, tzinfo=dt.UTC)
    keys = snapshot_partitions.get_partition_keys(current_time=now)
    tomorrow = latest_snapshot_date(now.date())
    assert partition_key_of(now.date()) in keys
    assert partition_key_of(tomorrow) in keys
    # and no partition lies beyond next week's
    assert keys[-1] <= partition_key_of(now.date() + dt.timedelta(days=7))


@pytest.mark.e2e  # a Dagster run in-process (ingestion only)
def test_a_weeks_run_loads_tomorrows_snapshot_and_leaves_later_ones_waiting(tmp_path):
    raw, database = tmp_path / "raw", tmp_path / "wh.duckdb"
    tomorrow = latest_snapshot_date()
    later = tomorrow + dt.timedelta(days=1)
    write_jsonl(raw / f"solutions/{tomorrow}.jsonl", [solution()])
    write_jsonl(raw / f"solutions/{later}.jsonl", [solution()])
    # the run covers both files' weeks (one week, or two when tomorrow is a Sunday)
    result = dg.materialize(
        [ingest_solutions],
        resources={
            "warehouse": Warehouse(database=str(database)),
            "landing_zone": LandingZone(raw_dir=str(raw)),
        },
        run_config=dg.RunConfig(
            ops={ingest_solutions.op.name: IngestConfig(only_changed=True)}
        ),
        tags=partition_range_tags([tomorrow, later]),
    )
    assert result.success
    with duckdb.connect(str(database), read_only=True) as con:
        loaded = con.execute("select file_name, status from raw.ingested_files").fetchall()
    assert loaded == [(f"solutions/{tomorrow}.jsonl", "loaded")]
