"""Jobs: a refresh (ingest the given snapshot dates, then everything downstream) and a
transform-only run (downstream of ingestion, for when nothing new landed)."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from orchestration.defs.ingestion import INGEST_ASSETS
from orchestration.defs.partitions import partition_key_of
from orchestration.ingestion.landing import LandedFile

INGEST_SELECTION = dg.AssetSelection.assets(*INGEST_ASSETS)
# extraction runs only in its own job: a refresh works from the landed files alone
EXTRACT_SELECTION = dg.AssetSelection.groups("extract")

# Every run of these jobs writes the warehouse, which DuckDB lets one process write at a time.
# The project's dagster.yaml limits runs carrying this tag to one at a time: the run queue holds
# the others back (QueuedRunCoordinator) instead of letting them start and wait for the lock.
WAREHOUSE_TAG = "referral_insights/warehouse"
WAREHOUSE_TAGS = {WAREHOUSE_TAG: "write"}

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all() - EXTRACT_SELECTION,
    description="Ingest the snapshot dates of the run's partition range, then rebuild every model, "
    "check and mart downstream.",
    tags=WAREHOUSE_TAGS,
)
transform_job = dg.define_asset_job(
    "transform",
    selection=dg.AssetSelection.all() - INGEST_SELECTION - EXTRACT_SELECTION,
    description="Rebuild every model, check and mart from the raw tables as they are.",
    tags=WAREHOUSE_TAGS,
)
extract_and_refresh_job = dg.define_asset_job(
    "extract_and_refresh",
    selection=dg.AssetSelection.all(),
    description="Extract from the Partner Center APIs into the landing zone (skipped without "
    "credentials), then ingest the run's snapshot dates and rebuild everything downstream.",
    tags=WAREHOUSE_TAGS,
)

ONLY_CHANGED_RUN_CONFIG = {
    "ops": {asset_def.op.name: {"config": {"only_changed": True}} for asset_def in INGEST_ASSETS}
}


def partition_range_tags(dates: list[dt.date]) -> dict[str, str]:
    """Tags that make one run cover the snapshot dates from the earliest to the latest given
    (ingest assets use a single-run backfill policy)."""
    return {
        "dagster/asset_partition_range_start": partition_key_of(min(dates)),
        "dagster/asset_partition_range_end": partition_key_of(max(dates)),
    }


def refresh_request(
    files: list[LandedFile],
    run_key: str | None = None,
    job_name: str = refresh_job.name,
    extra_dates: tuple[dt.date, ...] = (),
    tags: dict[str, str] | None = None,
) -> dg.RunRequest:
    """Run request that ingests `files` (only those new or changed) and rebuilds downstream;
    `extra_dates` widen the partition range (the dates extraction will land)."""
    return dg.RunRequest(
        run_key=run_key,
        job_name=job_name,
        run_config=ONLY_CHANGED_RUN_CONFIG,
        tags=WAREHOUSE_TAGS
        | partition_range_tags([f.snapshot_date for f in files] + list(extra_dates))
        | (tags or {}),
    )
