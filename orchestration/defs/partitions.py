"""Ingestion is partitioned by the week of the snapshot date: a backfill or a re-landed file
reprocesses only the weeks asked for.

A partition is a week, Monday to Sunday, keyed by its Monday (`2026-11-02` holds the snapshots
dated 2026-11-02 to 2026-11-08). Weekly rather than daily: Dagster stores a planned and a
materialization event per partition per ingest asset, and a first load of a year of daily
partitions wrote ~2,900 of them (~5 s of a 1M-referral refresh, docs/benchmark.md) for ~53 files
per source; snapshots land weekly or daily, and reloading a week's files is cheap.

Snapshot dates have no lower bound (raw-contract.md section 4), but a partition set must start
somewhere: the first partition (the week of FIRST_PARTITION) also stands for every earlier
snapshot date (a backfill of it loads them all). A snapshot dated after tomorrow (UTC) is not
loaded yet, even when its week is a partition: it is waiting (ingestion/landing.py
split_waiting), and every refresh summary lists it.
"""

import datetime as dt

import dagster as dg

FIRST_PARTITION = dt.date(2019, 12, 30)  # a Monday

# end_offset=2: the partitions run to next week's, so tomorrow's snapshots always have one (on
# a Sunday, tomorrow is in next week).
snapshot_partitions = dg.WeeklyPartitionsDefinition(
    start_date=FIRST_PARTITION.isoformat(), day_offset=1, end_offset=2, fmt="%Y-%m-%d"
)


def partition_key_of(snapshot_date: dt.date) -> str:
    """The partition (its week's Monday) a snapshot date belongs to; dates before the first
    partition belong to the first."""
    day = max(snapshot_date, FIRST_PARTITION)
    return (day - dt.timedelta(days=day.weekday())).isoformat()
