"""Publish step: after validation, swap in the new Parquet set and serving database for BI tools.

Marts whose Great Expectations suite failed at error level keep their last good published
version; the others are published from this refresh (see orchestration/serving/publisher.py).
"""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from orchestration import settings
from orchestration.defs.dbt import dbt_models
from orchestration.serving import by_organization
from orchestration.serving.publisher import publish
from orchestration.stage_metrics import measure

WIDGET_REFRESH = dg.AssetKey(["marts", "mart_widget_refresh"])
MART_KEYS = sorted(
    (key for key in dbt_models.keys if key.path[0] == "marts"), key=lambda k: k.to_user_string()
)


def _failed_marts(con) -> set[str]:
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'marts' and table_name = 'mart_widget_refresh'"
    ).fetchall()[0][0]
    if not exists:
        return set()
    return {
        m
        for (m,) in con.execute(
            "select mart from marts.mart_widget_refresh where status = 'failed'"
        ).fetchall()
    }


@dg.asset(
    key=["serving", "published_marts"],
    deps=[*MART_KEYS, WIDGET_REFRESH],
    group_name="publish",
    kinds={"parquet", "duckdb"},
    owners=["team:referral-insights"],
)
def published_marts(context: dg.AssetExecutionContext, warehouse: DuckDBResource):
    """Every mart as `<warehouse dir>/marts/<mart>.parquet` plus the read-only serving database
    `<warehouse dir>/serving.duckdb`, and per organization `marts/by_organization/<org>/` and
    `serving/by_organization/<org>.duckdb` with only its rows, swapped in atomically; what BI
    tools connect to."""
    warehouse_path = Path(warehouse.database).resolve()
    marts = [k.path[-1] for k in MART_KEYS] + [WIDGET_REFRESH.path[-1]]
    with measure("publish") as metrics, warehouse.get_connection() as con:
        failed = _failed_marts(con)
        present = {
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        # read when the publish runs: which organizations get a DuckDB file (default all)
        databases = by_organization.database_selection(
            settings.load().organization_databases
        )
        result = publish(
            con, warehouse_path, [m for m in marts if m in present], failed,
            organization_databases=databases,
        )  # fmt: skip
    for mart in result.marts:
        if mart.state != "published":
            context.log.warning(f"{mart.mart}: validation failed, {mart.state.replace('_', ' ')}")
    return dg.MaterializeResult(
        metadata={
            **metrics.as_metadata(),
            "version": result.version,
            "parquet_dir": dg.MetadataValue.path(str(result.directory)),
            "serving_db": dg.MetadataValue.path(str(result.serving_db)),
            # per-organization Parquet folders and serving databases (serving/by_organization)
            "organizations": len(result.organizations),
            **{f"marts_{state}": n for state, n in result.counts().items()},
            "marts": dg.MetadataValue.md(
                "| mart | state | data refreshed at | rows |\n|---|---|---|---|\n"
                + "\n".join(
                    f"| {m.mart} | {m.state} | {m.data_refreshed_at or ''} | {m.rows if m.rows is not None else ''} |"
                    for m in result.marts
                )
            ),
        }
    )
