"""Ingest assets: landing-zone files → the warehouse's `raw` schema, one asset per source.

Partitioned by the week of the snapshot date (partitions.py). Each run loads the files of its
partitions (all of them for a backfill; only new or changed ones when `only_changed` is set, as
the CLI, schedule and sensor do). Bad records go to raw.quarantine and never fail the run; an
unreadable file is reported in the metadata and raw.ingested_files, and the other files still
load.
"""


import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import settings
from orchestration.defs.partitions import partition_key_of, snapshot_partitions
from orchestration.defs.resources import LandingZone
from orchestration.ingestion import landing, loader
from orchestration.stage_metrics import measure

OWNERS = ["team:referral-insights"]


class IngestConfig(dg.Config):
    only_changed: bool = False
    """Skip files whose size and mtime match the last load (a backfill reloads everything)."""


def _ingest(
    source: str,
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    warehouse: DuckDBResource,
    landing_zone: LandingZone,
) -> dict:
    found = landing.discover(landing_zone.path)
    for warning in found.warnings:
        if warning.startswith(f"{source}/"):
            context.log.warning(warning)
    keys = set(context.partition_keys)
    # a week's partition can hold files dated after tomorrow: those wait
    snapshots, _ = landing.split_waiting(found.files)
    files = [
        f for f in snapshots if f.source == source and partition_key_of(f.snapshot_date) in keys
    ]
    with measure(f"ingest_{source}") as metrics, warehouse.get_connection() as con:
        settings.configure_duckdb(con)
        if config.only_changed:
            files = loader.changed_files(con, files)
        results = loader.load_files(con, files)
    for result in results:
        if result.status == "failed":
            context.log.error(f"{result.file_name}: unreadable, not loaded: {result.error}")
        for message in result.first_errors:
            context.log.warning(message)
    failed = [r.file_name for r in results if r.status == "failed"]
    return {
        **metrics.as_metadata(),
        "files_loaded": sum(r.status == "loaded" for r in results),
        "files_failed": len(failed),
        "records_loaded": sum(r.records_loaded for r in results),
        "records_quarantined": sum(r.records_quarantined for r in results),
        "failed_files": dg.MetadataValue.json(
            [{"file": r.file_name, "error": r.error} for r in results if r.status == "failed"]
        ),
        "files": dg.MetadataValue.md(
            "\n".join(
                f"- `{r.file_name}`: {r.status}, {r.records_loaded} loaded, "
                f"{r.records_quarantined} quarantined" + (f" ({r.error})" if r.error else "")
                for r in results
            )
            or "no new or changed files"
        ),
    }


_COMMON = dict(
    partitions_def=snapshot_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="ingest",
)


@dg.multi_asset(
    name="ingest_referrals",
    specs=[
        dg.AssetSpec(
            ["raw", "referral_snapshots"],
            deps=[["extract", "referrals"]],
            description="Referral records of every landed referrals/<date>.jsonl[.gz] snapshot, "
            "validated, typed, with snapshot date, source file and line.",
            kinds={"duckdb", "python"},
            owners=OWNERS,
        ),
        dg.AssetSpec(
            ["raw", "referral_registrations"],
            description="IP co-sell deal registrations (registrations[]) of the loaded referral "
            "records, one row per array element.",
            kinds={"duckdb", "python"},
            owners=OWNERS,
        ),
    ],
    **_COMMON,
)
def ingest_referrals(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    warehouse: DuckDBResource,
    landing_zone: LandingZone,
):
    metadata = _ingest("referrals", context, config, warehouse, landing_zone)
    yield dg.MaterializeResult(asset_key=["raw", "referral_snapshots"], metadata=metadata)
    yield dg.MaterializeResult(asset_key=["raw", "referral_registrations"])


@dg.asset(
    key=["raw", "solution_snapshots"],
    deps=[["extract", "solutions"]],
    kinds={"duckdb", "python"},
    owners=OWNERS,
    **_COMMON,
)
def ingest_solutions(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    warehouse: DuckDBResource,
    landing_zone: LandingZone,
) -> dg.MaterializeResult:
    """Published-solution records of every landed solutions/<date>.jsonl[.gz] snapshot."""
    return dg.MaterializeResult(
        metadata=_ingest("solutions", context, config, warehouse, landing_zone)
    )


@dg.asset(
    key=["raw", "marketplace_traffic"],
    deps=[["extract", "marketplace_traffic"]],
    kinds={"duckdb", "python"},
    owners=OWNERS,
    **_COMMON,
)
def ingest_marketplace_traffic(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    warehouse: DuckDBResource,
    landing_zone: LandingZone,
) -> dg.MaterializeResult:
    """Daily page views and CTA clicks per offer from marketplace_traffic/<date>.csv files."""
    return dg.MaterializeResult(
        metadata=_ingest("marketplace_traffic", context, config, warehouse, landing_zone)
    )


INGEST_ASSETS = [ingest_referrals, ingest_solutions, ingest_marketplace_traffic]

# Written by every ingest asset (so not owned by one of them): shown in the lineage and read by
# dbt as sources.
INGEST_BOOKKEEPING = [
    dg.AssetSpec(
        ["raw", "quarantine"],
        description="Bad records of every source: file, line, field, reason, raw text.",
        deps=[key for a in INGEST_ASSETS for key in a.keys],
        group_name="ingest",
        kinds={"duckdb"},
        owners=OWNERS,
    ),
    dg.AssetSpec(
        ["raw", "ingested_files"],
        description="One row per landed file: fingerprint, load status, record counts, error.",
        deps=[key for a in INGEST_ASSETS for key in a.keys],
        group_name="ingest",
        kinds={"duckdb"},
        owners=OWNERS,
    ),
]
