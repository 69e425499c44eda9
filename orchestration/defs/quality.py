"""Great Expectations validation of the widget marts → `marts.mart_widget_refresh`, asset checks.

One asset runs every suite once per refresh (orchestration/quality/), writes the data-refresh
details and the stored GX results, and builds Data Docs under the warehouse directory. One
multi-asset check then reports each suite as the check `great_expectations_suite` on its mart,
reading the stored results: GX never runs twice, and a check can only be attached to a mart from
outside the dbt assets this way (a multi_asset's check specs may only target its own outputs).
A failed error-level expectation marks its widget `failed`; it never fails this asset, so the
other widgets are validated and published as usual.
"""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from orchestration import settings
from orchestration.defs.dbt import dbt_models
from orchestration.quality.validation import validate_marts
from orchestration.quality.widget_refresh import (
    StoredResult,
    read_validation_results,
    write_validation_run,
)
from orchestration.quality.widgets import WIDGETS
from orchestration.stage_metrics import measure

OWNERS = ["team:referral-insights"]
WIDGET_REFRESH_KEY = dg.AssetKey(["marts", "mart_widget_refresh"])
CHECK_NAME = "great_expectations_suite"

# Every widget mart of the dbt project (group `marts`, named mart_*), looked up from the dbt
# assets. The dimension dim_organizations (marts/core) is not a widget: its dbt tests check it.
MART_KEYS = sorted(
    (
        k
        for k in dbt_models.keys
        if dbt_models.group_names_by_key.get(k) == "marts" and k.path[-1].startswith("mart_")
    ),
    key=lambda k: k.to_user_string(),
)
_KEY_BY_MART = {key.path[-1]: key for key in MART_KEYS}
# The dbt models (group `quality`) the validation reads: each mart with its prepared columns.
BATCH_KEYS = sorted(
    (k for k in dbt_models.keys if dbt_models.group_names_by_key.get(k) == "quality"),
    key=lambda k: k.to_user_string(),
)


class DataQualityConfig(dg.Config):
    max_staleness_days: int | None = Field(
        default=None,
        ge=0,
        description="Warn when the newest snapshot feeding a widget is more than this many days "
        f"older than the as-of date. Unset: ${settings.MAX_STALENESS_ENV}, else 8 (weekly snapshots "
        "plus a day).",
    )


@dg.asset(
    key=WIDGET_REFRESH_KEY,
    deps=[*MART_KEYS, *BATCH_KEYS],
    group_name="quality",
    kinds={"great_expectations", "duckdb"},
    owners=OWNERS,
)
def mart_widget_refresh(
    context: dg.AssetExecutionContext, config: DataQualityConfig, warehouse: DuckDBResource
) -> dg.MaterializeResult:
    """Data-refresh details: one row per widget mart with its Great Expectations result
    (status ok / warning / failed, failed expectations, quarantined records of its sources).
    Also stores each suite's GX statistics in quality.gx_validation_results (read by the
    `great_expectations_suite` checks) and builds Data Docs in <warehouse dir>/data_docs/."""
    threshold = (
        config.max_staleness_days
        if config.max_staleness_days is not None
        else settings.load().max_staleness_days
    )
    warehouse_path = Path(warehouse.database).resolve()
    with measure("validation") as stage:
        # Reads the marts, closes the connection, validates, then writes in one transaction.
        run = validate_marts(
            warehouse.get_connection,
            warehouse_path,
            max_staleness_days=threshold,
            run_name=context.run_id,
        )
        with warehouse.get_connection() as con:
            write_validation_run(con, run)

    for r in run.results:
        if r.status == "failed":
            context.log.error(f"{r.widget.name} ({r.widget.mart}) failed: {r.failed_expectations}")
        elif r.failed_expectations:
            context.log.warning(f"{r.widget.name} ({r.widget.mart}): {r.failed_expectations}")
        elif r.status == "warning":  # already reported by ingestion
            context.log.info(
                f"{r.widget.name}: {r.quarantined_records} quarantined record(s), "
                f"{r.feeding_files_failed} unreadable feeding file(s)"
            )
    counts = {s: sum(r.status == s for r in run.results) for s in ("ok", "warning", "failed")}
    table = "\n".join(
        f"| {r.widget.name} | `{r.widget.mart}` | {r.status} | {r.row_count if r.row_count is not None else ''} "
        f"| {len(r.failed)} / {r.evaluated} | {r.quarantined_records} "
        f"| {r.failed_expectations.replace('|', '/')} |"
        for r in run.results
    )
    metadata = {
        "dagster/row_count": len(run.results),
        **{f"widgets_{status}": n for status, n in counts.items()},
        "data_as_of": str(run.landed.as_of_date or ""),
        "max_staleness_days": threshold,
        "widgets": dg.MetadataValue.md(
            "| widget | mart | status | rows | failed / evaluated expectations | quarantined "
            "| failed expectations |\n|---|---|---|---|---|---|---|\n" + table
        ),
        **stage.as_metadata(),
    }
    if run.data_docs_index:
        metadata["data_docs"] = dg.MetadataValue.path(str(run.data_docs_index))
    if run.data_docs_error:
        context.log.error(f"Data Docs not built: {run.data_docs_error}")
        metadata["data_docs_error"] = run.data_docs_error
    return dg.MaterializeResult(metadata=metadata)


def _check_result(key: dg.AssetCheckKey, stored: StoredResult | None) -> dg.AssetCheckResult:
    if stored is None:
        return dg.AssetCheckResult(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description="No stored Great Expectations result: mart_widget_refresh has not "
            "validated this mart.",
        )
    stats = stored.statistics
    metadata = {
        "status": stored.status,
        "evaluated_expectations": int(stats.get("evaluated_expectations", 0)),
        "successful_expectations": int(stats.get("successful_expectations", 0)),
        "unsuccessful_expectations": int(stats.get("unsuccessful_expectations", 0)),
        "success_percent": float(stats.get("success_percent") or 0.0),
        "failed_expectations": dg.MetadataValue.json(stored.failed_expectations),
        "validated_at": str(stored.validated_at),
    }
    if stored.data_docs_page:
        metadata["data_docs_page"] = dg.MetadataValue.path(stored.data_docs_page)
    if stored.error:
        metadata["error"] = stored.error
    failed_error = stored.error is not None or "error" in stored.levels
    return dg.AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=stored.error is None and not stored.failed_expectations,
        # WARN when only warn-level expectations failed.
        severity=dg.AssetCheckSeverity.ERROR if failed_error else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description="; ".join(f["description"] for f in stored.failed_expectations)
        or stored.error
        or None,
    )


@dg.multi_asset_check(
    name="great_expectations_suites",
    specs=[
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=_KEY_BY_MART[w.mart],
            additional_deps=[WIDGET_REFRESH_KEY],
            description=f"Great Expectations suite `{w.mart}` (expectations/expectations/"
            f"{w.mart}.json) of the {w.name} widget: ERROR when an error-level expectation "
            "failed, WARN when only warn-level ones did.",
        )
        for w in WIDGETS
        if w.mart in _KEY_BY_MART
    ],
    can_subset=True,
)
def great_expectations_suites(context: dg.AssetCheckExecutionContext, warehouse: DuckDBResource):
    """Reports the suites validated by mart_widget_refresh; reads, never re-validates."""
    with warehouse.get_connection() as con:
        stored = read_validation_results(con)
    for key in sorted(
        context.selected_asset_check_keys, key=lambda k: k.asset_key.to_user_string()
    ):
        yield _check_result(key, stored.get(key.asset_key.path[-1]))


QUALITY_ASSETS = [mart_widget_refresh]
QUALITY_CHECKS = [great_expectations_suites]
