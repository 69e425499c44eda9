"""Ingestion is partitioned by snapshot date: a backfill or a re-landed file reprocesses only the
dates asked for.

Snapshot dates have no lower bound (raw-contract.md section 4), but a daily partition set must
start somewhere: partitions start on FIRST_PARTITION, and the first partition also stands for
every earlier snapshot date (a backfill of it loads them all). A snapshot dated after tomorrow
(UTC) is not a partition yet: it is waiting, and every refresh summary lists it.
"""

import datetime as dt

import dagster as dg

from orchestration.ingestion.landing import LandedFile

FIRST_PARTITION = dt.date(2020, 1, 1)

snapshot_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_PARTITION.isoformat(), end_offset=1, fmt="%Y-%m-%d"
)


def partition_key_of(snapshot_date: dt.date) -> str:
    """The partition a snapshot date belongs to (dates before the first partition: the first)."""
    return max(snapshot_date, FIRST_PARTITION).isoformat()


def latest_snapshot_date(today: dt.date | None = None) -> dt.date:
    """The latest date that is a snapshot today: tomorrow, UTC (raw-contract.md section 4)."""
    return (today or dt.datetime.now(dt.UTC).date()) + dt.timedelta(days=1)


def split_waiting(files: list[LandedFile]) -> tuple[list[LandedFile], list[LandedFile]]:
    """(snapshots, waiting): files dated up to tomorrow UTC, and those dated later."""
    latest = latest_snapshot_date()
    return (
        [f for f in files if f.snapshot_date <= latest],
        [f for f in files if f.snapshot_date > latest],
    )


def partitioned_files(files: list[LandedFile], log) -> list[LandedFile]:
    """Files whose snapshot date is a snapshot today; the waiting ones are logged."""
    kept, waiting = split_waiting(files)
    for f in waiting:
        log.warning(f"{f.file_name}: dated after tomorrow (UTC), waiting until its date comes")
    return kept
