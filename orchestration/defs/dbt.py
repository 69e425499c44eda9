"""dbt models as Dagster assets: staging → intermediate → one mart per widget.

`dbt build` runs the models, seeds and data tests (tests become asset checks); unit tests are
run by `make test`, not on every refresh. When ingestion flagged a load that invalidates the
incrementally built history (a re-landed file, an out-of-order snapshot), this build runs with
`--full-refresh` and clears the flags only after dbt succeeded, so a crash retries it.
"""

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

from orchestration.defs.dbt_project import dbt_project, ensure_manifest
from orchestration.ingestion.schema import ensure_raw_schema

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
    args = ["build", "--exclude-resource-type", "unit_test"]
    if pending:
        context.log.info(f"full refresh: {len(pending)} load(s) changed history, e.g. {pending[0]}")
        args.append("--full-refresh")
    yield from dbt.cli(args, context=context).stream()
    if pending:
        with warehouse.get_connection() as con:
            con.execute("delete from raw.full_refresh_requests")
