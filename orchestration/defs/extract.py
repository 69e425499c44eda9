"""Extract assets: the Partner Center APIs → the landing zone, upstream of the ingest assets.

Each run lands at most one snapshot file per source (`<raw dir>/<source>/<service date>.*`) and
then advances that source's watermark in `ops.extract_watermarks`. Without credentials the
assets report "skipped" and change nothing, so files landed by other means ingest as before.
"""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration.defs.resources import LandingZone
from orchestration.extract.settings import ExtractSettings

OWNERS = ["team:referral-insights"]


class PartnerCenter(dg.ConfigurableResource):
    """Partner Center API access (docs/extract.md). A field left unset is read from
    `REFERRAL_INSIGHTS_PC_<FIELD>` when a run starts: `dg.EnvVar` fails every run whose variable
    is unset, and an unconfigured extractor must skip, not fail. Give secrets as `dg.EnvVar`
    only, never as literal config (run config is stored with the run)."""

    api_base: str | None = None
    referrals_path: str | None = None
    solutions_path: str | None = None
    traffic_report_url: str | None = None
    authority: str | None = None
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    page_size: int | None = None
    max_retries: int | None = None
    backoff_seconds: float | None = None
    timeout_seconds: float | None = None
    traffic_lookback_days: int | None = None

    def extract_settings(self) -> ExtractSettings:
        return ExtractSettings.from_env(**self.model_dump())


def _metadata(result) -> dict:
    status = "landed" if result.landed_file else "nothing new"
    return {
        "status": status,
        "records": result.records,
        "pages": result.pages,
        "requests": result.requests,
        "retries": result.retries,
        "token_renewals": result.token_renewals,
        "watermark_before": result.watermark_before or "none (first run: full extract)",
        "watermark_after": result.watermark_after or "none",
        "landed_file": result.landed_file or "none",
        "merged_into_days_file": result.merged,
        "snapshot_date": result.snapshot_date or "none",
        "paging": result.paging or "n/a",
        "elapsed_seconds": result.seconds,
    }


def _extract_asset(source: str, description: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["extract", source],
        group_name="extract",
        kinds={"python"},
        owners=OWNERS,
        description=description,
    )
    def _asset(
        context: dg.AssetExecutionContext,
        partner_center: PartnerCenter,
        warehouse: DuckDBResource,
        landing_zone: LandingZone,
    ) -> dg.MaterializeResult:
        settings = partner_center.extract_settings()
        missing = settings.missing(source)
        if missing:
            reason = f"Partner Center access not configured: {', '.join(missing)} not set"
            context.log.warning(
                f"extract/{source} SKIPPED ({reason}); the landing zone's files are ingested as "
                "they are"
            )
            return dg.MaterializeResult(
                metadata={"status": "skipped", "reason": reason, "records": 0}
            )
        # imported here: dlt takes ~1 s to import, which a refresh without extraction never pays
        from orchestration.extract.extractor import extract

        result = extract(source, settings, landing_zone.path, warehouse.get_connection, context.log)
        context.log.info(
            f"extract/{source}: {result.records} records in {result.pages} pages "
            f"({result.retries} retries) -> {result.landed_file or 'nothing new, no file'}; "
            f"watermark {result.watermark_before} -> {result.watermark_after}"
        )
        return dg.MaterializeResult(metadata=_metadata(result))

    return _asset


extract_referrals = _extract_asset(
    "referrals",
    "Referrals updated since the watermark, from the Partner Center Referrals API "
    "(GET /v1.0/engagements/referrals, App+User token), landed as referrals/<date>.jsonl.gz.",
)
extract_solutions = _extract_asset(
    "solutions",
    "The full list of the partner's co-sell solutions (App+User token), landed as "
    "solutions/<date>.jsonl.gz.",
)
extract_marketplace_traffic = _extract_asset(
    "marketplace_traffic",
    "The commercial-marketplace traffic report (CSV download, app-only token): rows from "
    "the lookback window before the watermark on, landed as marketplace_traffic/<date>.csv.",
)

EXTRACT_ASSETS = [extract_referrals, extract_solutions, extract_marketplace_traffic]


def materialize_extract(raw_dir, warehouse, instance: dg.DagsterInstance | None = None):
    """Run the three extract assets in this process (the demo and the tests do): settings
    from the environment, as in a scheduled run."""
    Path(warehouse).parent.mkdir(parents=True, exist_ok=True)
    return dg.materialize(
        EXTRACT_ASSETS,
        resources={
            "partner_center": PartnerCenter(),
            "warehouse": DuckDBResource(database=str(warehouse)),
            "landing_zone": LandingZone(raw_dir=str(raw_dir)),
        },
        instance=instance,
        raise_on_error=False,
    )
