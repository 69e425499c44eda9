"""The last steps of every refresh: alerts for new incidents, and retention.

Both run after publishing, inside the refresh run (so in `referral-insights refresh` as well as
in scheduled and sensor runs), and neither can fail it: a channel or a file that cannot be
handled is logged and reported in the asset's metadata.
"""


from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from orchestration import settings as pipeline_settings
from orchestration.defs.alerts import Alerting
from orchestration.defs.publish import published_marts
from orchestration.operations import retention as retention_lib
from orchestration.operations.alerts import check_and_notify

OWNERS = ["team:referral-insights"]


@dg.asset(
    key=["ops", "alerts"],
    deps=[published_marts],
    group_name="operations",
    kinds={"python"},
    owners=OWNERS,
)
def alerts(
    context: dg.AssetExecutionContext, alerting: Alerting, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Open incidents after this refresh (failed widgets, failed or waiting files, quarantine
    over the threshold, stale sources), each sent once to the configured Teams / Slack / e-mail
    channels; `ops.alert_state` remembers what was sent."""
    config = alerting.alert_config()
    try:
        with warehouse.get_connection() as con:
            result = check_and_notify(con, config, logger=context.log, run_id=context.run_id)
    except Exception as exc:  # alerting must never fail a refresh
        context.log.error(f"alerts not evaluated: {exc}")
        return dg.MaterializeResult(metadata={"error": str(exc)})
    rows = "\n".join(
        f"| {i.severity} | {i.subject.replace('|', '/')} | `{i.key}` |" for i in result.open
    )
    return dg.MaterializeResult(
        metadata={
            "open_incidents": len(result.open),
            "messages_sent": len(result.sent),
            "channels": ", ".join(c.name for c in config.channels()) or "none configured",
            "channel_failures": dg.MetadataValue.json([list(f) for f in result.failed]),
            "resolved": len(result.resolved),
            "incidents": dg.MetadataValue.md(
                "| severity | incident | key |\n|---|---|---|\n" + rows if rows else "none open"
            ),
        }
    )


class RetentionSettings(dg.Config):
    dbt_target_invocations: int | None = Field(
        default=None, ge=1, description="dbt target folders kept (env REFERRAL_INSIGHTS_RETENTION_DBT_TARGET_INVOCATIONS, default 3)"
    )
    run_history_days: int | None = Field(
        default=None, ge=1, description="Dagster runs kept this many days (env REFERRAL_INSIGHTS_RETENTION_RUN_HISTORY_DAYS, default 30)"
    )
    max_runs: int | None = Field(
        default=None, ge=0, description="at most this many finished runs kept (env REFERRAL_INSIGHTS_RETENTION_MAX_RUNS, default 200)"
    )


@dg.asset(
    key=["ops", "retention"],
    deps=[published_marts],
    group_name="operations",
    kinds={"python"},
    owners=OWNERS,
)
def retention(
    context: dg.AssetExecutionContext, config: RetentionSettings, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Keeps what runs leave behind bounded: old dbt target folders, Dagster runs and their
    event and compute logs beyond the retention window (this run is kept), stale DuckDB spill
    files."""
    settings = retention_lib.RetentionConfig.from_env(
        overrides={k: v for k, v in config.model_dump().items() if v is not None}
    )
    try:
        warehouse_path = Path(warehouse.database).resolve()
        report = retention_lib.apply(
            settings,
            warehouse_path,
            pipeline_settings.load().for_warehouse(warehouse_path).dbt_artifacts_dir,
            instance=context.instance,
            current_run_id=context.run_id,
        )
    except Exception as exc:  # housekeeping must never fail a refresh
        context.log.error(f"retention not applied: {exc}")
        return dg.MaterializeResult(metadata={"error": str(exc)})
    return dg.MaterializeResult(
        metadata={
            **{f"removed_{what}": n for what, n in report.removed.items()},
            "mb_freed": round(report.bytes_freed / 1e6, 1),
            "settings": dg.MetadataValue.json(settings.__dict__),
        }
    )


OPERATIONS_ASSETS = [alerts, retention]
