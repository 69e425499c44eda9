"""The one Dagster code location of Referral Insights: ingest → dbt → (quality, publish)."""

import dagster as dg

from orchestration.defs.alerts import ALERT_SENSORS, Alerting
from orchestration.defs.automation import daily_refresh_schedule, landed_files_sensor
from orchestration.defs.dbt import WIDGET_SPECS, dbt_models
from orchestration.defs.extract import EXTRACT_ASSETS, PartnerCenter
from orchestration.defs.ingestion import INGEST_ASSETS, INGEST_BOOKKEEPING
from orchestration.defs.jobs import extract_and_refresh_job, refresh_job, transform_job
from orchestration.defs.operations import OPERATIONS_ASSETS
from orchestration.defs.publish import published_marts
from orchestration.defs.quality import QUALITY_ASSETS, QUALITY_CHECKS
from orchestration.defs.resources import build_resources

defs = dg.Definitions(
    assets=[
        *EXTRACT_ASSETS,
        *INGEST_ASSETS,
        *INGEST_BOOKKEEPING,
        dbt_models,
        *QUALITY_ASSETS,
        published_marts,
        *WIDGET_SPECS,
        *OPERATIONS_ASSETS,
    ],
    asset_checks=QUALITY_CHECKS,
    jobs=[refresh_job, transform_job, extract_and_refresh_job],
    schedules=[daily_refresh_schedule],
    sensors=[landed_files_sensor, *ALERT_SENSORS],
    resources={**build_resources(), "partner_center": PartnerCenter(), "alerting": Alerting()},
    # DuckDB allows a single writing process: run every step in the run's own process.
    executor=dg.in_process_executor,
)
