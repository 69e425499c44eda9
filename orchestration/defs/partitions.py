"""Ingestion is partitioned by snapshot date: a backfill or a re-landed file reprocesses only the
dates asked for. A snapshot dated after tomorrow (UTC) is not a partition yet and is reported."""

import dagster as dg

from orchestration.ingestion.landing import LandedFile

snapshot_partitions = dg.DailyPartitionsDefinition(
    start_date="2020-01-01", end_offset=1, fmt="%Y-%m-%d"
)


def partitioned_files(files: list[LandedFile], log) -> list[LandedFile]:
    """Files whose snapshot date is a partition; the others are logged and left for later."""
    keys = set(snapshot_partitions.get_partition_keys())
    kept = [f for f in files if f.snapshot_date.isoformat() in keys]
    for f in files:
        if f not in kept:
            log.warning(f"{f.file_name}: snapshot date is not a partition (future?), skipped")
    return kept
