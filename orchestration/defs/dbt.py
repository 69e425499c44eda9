"""dbt models as Dagster assets: staging → intermediate → one mart per widget.

`dbt build` runs the models, seeds and data tests (tests become asset checks); unit tests are
run by `make test`, not on every refresh. When ingestion flagged a load that invalidates the
incrementally built history (a re-landed file, an out-of-order snapshot), this build runs with
`--full-refresh` and clears the flags only after dbt succeeded, so a crash retries it.
"""

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)
from dagster_duckdb import DuckDBResource

from orchestration import spark_marts
from orchestration.defs.dbt_project import dbt_project, ensure_manifest
from orchestration.faults import pause_point
from orchestration.ingestion import parquet_export
from orchestration.ingestion.schema import ensure_raw_schema
from orchestration.stage_metrics import measure

ensure_manifest()

# models/<folder>/... → Dagster group; seeds are reference data.
_GROUPS = {"staging": "staging", "intermediate": "intermediate", "marts": "marts"}


class ReferralInsightsTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        folder = dbt_resource_props.get("fqn", [None, None])[1]
        return _GROUPS.get(folder, super().get_group_name(dbt_resource_props))

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return ["team:referral-insights"]


translator = ReferralInsightsTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
)


def _pending_full_refresh(warehouse: DuckDBResource) -> list[tuple[str, str]]:
    with warehouse.get_connection() as con:
        ensure_raw_schema(con)
        return con.execute("select file_name, reason from raw.full_refresh_requests").fetchall()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    exclude="resource_type:unit_test",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: DuckDBResource):
    # The DuckDB file allows one writing process: no connection of ours stays open while the dbt
    # subprocess runs.
    pending = _pending_full_refresh(warehouse)
    if parquet_export.spark_target():
        # Spark target (issue 7): dbt on Spark reads the raw layer as Parquet, so mirror the raw
        # tables first: after ingestion, and also in a transform-only run (e.g. the first one
        # after switching an existing warehouse to Spark). Only changed snapshot dates are written.
        with warehouse.get_connection() as con:
            exported = parquet_export.export_raw_tables(con)
        context.log.info(f"raw layer exported as Parquet to {exported.root}")
    args = ["build", "--exclude-resource-type", "unit_test"]
    if pending:
        context.log.info(f"full refresh: {len(pending)} load(s) changed history, e.g. {pending[0]}")
        args.append("--full-refresh")
    invocation = dbt.cli(args, context=context)
    # Events are held until dbt exits so that row counts can be read without contending with
    # the dbt process for the DuckDB lock (dagster-dbt's fetch_row_counts would query mid-run).
    events = []
    try:
        with measure("dbt_build") as metrics:
            for event in invocation.stream():
                events.append(event)
                pause_point("dbt")  # dbt is running: some models built, others not yet
    finally:
        if parquet_export.dbt_target() == "spark":
            # Local Spark session (issue 7): quality, publish and the dashboard read the marts
            # from DuckDB, so land the tables this build materialized there.
            _land_spark_tables(context, warehouse, events)
        yield from _with_row_counts(context, warehouse, events, metrics.as_metadata())
    if pending:
        with warehouse.get_connection() as con:
            con.execute("delete from raw.full_refresh_requests")


def _with_row_counts(context, warehouse: DuckDBResource, events: list, run_metadata: dict):
    outputs = {
        e.output_name: context.asset_key_for_output(e.output_name)
        for e in events
        if isinstance(e, dg.Output)
    }
    counts: dict[str, int] = {}
    if parquet_export.spark_target():
        # Spark (issue 7): count only the tables landed in DuckDB from the local session (other
        # DuckDB tables, if any, are left from an earlier DuckDB build)
        landed = parquet_export.dbt_target() == "spark"
        outputs = {
            k: v for k, v in outputs.items() if landed and v.path[0] in spark_marts.LANDED_SCHEMAS
        }
    if outputs:
        with warehouse.get_connection() as con:
            tables = {
                (schema, name)
                for schema, name in con.execute(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_type = 'BASE TABLE'"
                ).fetchall()
            }
            for output_name, key in outputs.items():
                if tuple(key.path) in tables:  # tables only: counting a view would recompute it
                    relation = ".".join(f'"{part}"' for part in key.path)
                    counts[output_name] = con.execute(
                        f"select count(*) from {relation}"
                    ).fetchall()[0][0]
    for event in events:
        if isinstance(event, dg.Output) and event.output_name in counts:
            event = event.with_metadata(
                {**event.metadata, "dagster/row_count": counts[event.output_name]}
            )
        yield event


def _land_spark_tables(context, warehouse: DuckDBResource, events: list) -> None:
    built = {
        tuple(context.asset_key_for_output(e.output_name).path)
        for e in events
        if isinstance(e, dg.Output)
    }
    columns = spark_marts.declared_columns(dbt_project.manifest_path)
    tables = {key: cols for key, cols in columns.items() if key in built}
    if tables:
        with warehouse.get_connection() as con:
            counts = spark_marts.land_tables(con, tables)
        context.log.info(f"{len(counts)} Spark tables landed in DuckDB")


def _widget_specs() -> list[dg.AssetSpec]:
    """The dashboard widgets (dbt exposures) as assets downstream of the marts they read."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    models = {
        uid: node for uid, node in manifest["nodes"].items() if node["resource_type"] == "model"
    }
    specs = []
    for exposure in sorted(manifest["exposures"].values(), key=lambda e: e["name"]):
        deps = [
            translator.get_asset_spec(manifest, uid, dbt_project).key
            for uid in exposure["depends_on"]["nodes"]
            if uid in models
        ]
        specs.append(
            dg.AssetSpec(
                key=["dashboard", exposure["name"]],
                description=f'Dashboard widget "{exposure.get("label") or exposure["name"]}": '
                + exposure["description"].strip(),
                deps=deps,
                group_name="dashboard",
                kinds={"dashboard"},
                owners=["team:referral-insights"],
            )
        )
    return specs


WIDGET_SPECS = _widget_specs()
