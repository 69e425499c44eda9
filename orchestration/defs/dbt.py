"""dbt models as Dagster assets: staging → intermediate → one mart per widget.

`dbt build` runs the models, seeds and data tests (tests become asset checks); unit tests are
run by `make test`, not on every refresh. The build runs with `--full-refresh` when the
incrementally built tables cannot be trusted to follow from the new data alone: ingestion flagged
a load that invalidates history (a re-landed file, an out-of-order snapshot), the user asked for
it (`refresh --full-refresh`), or the dbt code differs from the last successful build's (the first
build included). The flags and the recorded code are updated only after dbt succeeded, so a crash
retries the full refresh.
"""

import datetime as dt
import importlib
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)
from dagster_duckdb import DuckDBResource

from orchestration import dbt_parse_state as parse_state
from orchestration import dbt_prestart, settings
from orchestration.defs.dbt_project import dbt_code_fingerprint, dbt_project, ensure_manifest
from orchestration.faults import pause_point
from orchestration.ingestion.schema import ensure_raw_schema
from orchestration.operations.dbt_metadata import column_metadata
from orchestration.spark import marts as spark_marts
from orchestration.spark import parquet_export
from orchestration.stage_metrics import measure

ensure_manifest()

# models/<folder>/... → Dagster group; seeds are reference data.
_GROUPS = {
    "staging": "staging",
    "intermediate": "intermediate",
    "marts": "marts",
    "quality": "quality",  # the GX batches (models/quality/), validated by mart_widget_refresh
}


class ReferralInsightsTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        folder = dbt_resource_props.get("fqn", [None, None])[1]
        return _GROUPS.get(folder, super().get_group_name(dbt_resource_props))

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return ["team:referral-insights"]

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if spec.group_name == "marts" and spec.freshness_policy is None:
            return spec.replace_attributes(freshness_policy=MART_FRESHNESS)
        return spec


# The marts are rebuilt by the daily 06:00 schedule: warn when a mart missed its daily rebuild by
# two hours, fail when a whole day was missed. Dagster's freshness daemon evaluates it; the UI
# and the asset health view show an overdue mart (and so its widget) as stale.
MART_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=dt.timedelta(hours=48), warn_window=dt.timedelta(hours=26)
)


translator = ReferralInsightsTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
)


_BUILD_STATE = "ops.dbt_build_state"
# What an incremental build leaves out (dbt selectors), see dbt_models
INCREMENTAL_BUILD_EXCLUDES = (
    "test_type:generic,path:models/staging",
    "resource_type:seed",
    "test_type:generic,path:seeds",
)
# What a full build leaves out: the guard of int_referral_versions' incremental contract compares
# the stored versions with the raw records, and a full build has just rebuilt them from those
# records, so it could only fail on a bug in the model's own SQL, which its dbt unit tests cover.
# It cost ~2.2 s of the full build at 1M referrals (23.0 -> 20.8 s).
FULL_BUILD_EXCLUDES = ("assert_referral_versions_in_sync_with_staging",)


@dataclass(frozen=True)
class BuildPlan:
    full_refresh_reasons: list[str]  # empty: an incremental build is sound
    previous_build_started_at: dt.datetime | None


def _plan_build(warehouse: DuckDBResource, code: str) -> BuildPlan:
    """Whether this build must be a full refresh, and since when files were loaded."""
    with warehouse.get_connection() as con:
        ensure_raw_schema(con)
        reasons = [
            f"{file_name}: {reason}"
            for file_name, reason in con.execute(
                "select file_name, reason from raw.full_refresh_requests order by requested_at"
            ).fetchall()
        ]
        con.execute("create schema if not exists ops")
        con.execute(
            f"create table if not exists {_BUILD_STATE} "
            "(code_fingerprint varchar, started_at timestamp, built_at timestamp)"
        )
        built = con.execute(f"select code_fingerprint, started_at from {_BUILD_STATE}").fetchall()
    if not built or built[0][1] is None:
        reasons.append("no earlier successful build")
    elif built[0][0] != code:
        reasons.append("the dbt models, macros or seeds changed since the last build")
    return BuildPlan(reasons, built[0][1] if built else None)


def _record_build(warehouse: DuckDBResource, code: str, started_at: dt.datetime) -> None:
    with warehouse.get_connection() as con:
        con.begin()
        con.execute("delete from raw.full_refresh_requests")
        con.execute(f"delete from {_BUILD_STATE}")
        con.execute(
            f"insert into {_BUILD_STATE} values (?, ?, now()::timestamp)", [code, started_at]
        )
        con.commit()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=translator,
    exclude="resource_type:unit_test",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: DuckDBResource):
    # The DuckDB file allows one writing process: no connection of ours stays open while the dbt
    # subprocess runs. started_at is on the clock of ingestion's ingested_at (UTC, naive).
    started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    config = settings.load().for_warehouse(warehouse.path)
    code = dbt_code_fingerprint(config.dbt_target)
    plan = _plan_build(warehouse, code)
    full_refresh = plan.full_refresh_reasons
    if config.spark_target:
        # Spark target (issue 7): dbt on Spark reads the raw layer as Parquet, so mirror the raw
        # tables first: after ingestion, and also in a transform-only run (e.g. the first one
        # after switching an existing warehouse to Spark). Only changed snapshot dates are written.
        with warehouse.get_connection() as con:
            exported = parquet_export.export_raw_tables(con, config.raw_parquet_location)
        context.log.info(f"raw layer exported as Parquet to {exported.root}")
    # dbt.log at debug level costs ~0.7 s per build (issue 6); every event also reaches the
    # Dagster run log, so the file keeps warnings and errors only
    # this run's warehouse, memory limit and Spark paths (profiles.yml, macros/raw_sources.sql)
    args = ["build", "--exclude-resource-type", "unit_test", "--log-level-file", "warn"]
    args += ["--target", config.dbt_target, "--vars", json.dumps(config.dbt_vars())]
    if full_refresh:
        # No versions guard (FULL_BUILD_EXCLUDES); an incremental build's guard checks the
        # files loaded since plan.previous_build_started_at.
        context.log.info(f"full refresh: {'; '.join(full_refresh)}")
        args += ["--full-refresh", "--exclude", *FULL_BUILD_EXCLUDES]
    else:
        # What an incremental build leaves out, since it cannot have changed (issue 6: each
        # dbt node costs a refresh ~25 ms, and these re-scanned every raw record each week):
        # - the staging layer's generic tests: staging views only rename and cast raw rows; the
        #   rows already in raw passed them in the build that first read them (raw rows change
        #   only through a re-landed file, which forces a full refresh, as does changed dbt
        #   code), and new rows passed ingestion's per-record check of the same contract;
        # - the seeds and their tests: a changed seed changes the dbt code, so a full refresh.
        # A partial build (assets picked in the UI) builds and tests what was picked.
        if not context.is_subset:
            args += ["--exclude", " ".join(INCREMENTAL_BUILD_EXCLUDES)]
    # The build's artifacts go under this warehouse's dbt folder (settings.dbt_artifacts_dir),
    # named as dagster-dbt names them, seeded with the warehouse's last parse state.
    artifacts = config.dbt_artifacts_dir
    target_path = artifacts / (
        f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
    )
    parse_state.finish_parse_ahead(config)
    parse_state.seed_partial_parse(artifacts, target_path)
    invocation = dbt.cli(args, context=context, target_path=target_path)
    # This process only relays dbt's events while dbt runs: meanwhile, import Great Expectations
    # (~2 s) for the validation step that follows (Python's import lock makes that step wait for
    # an import still in progress).
    threading.Thread(
        target=importlib.import_module, args=("great_expectations",), daemon=True
    ).start()
    # Events are held until dbt exits so that row counts can be read without contending with
    # the dbt process for the DuckDB lock (dagster-dbt's fetch_row_counts would query mid-run).
    events = []
    try:
        with measure("dbt_build") as metrics:
            for event in invocation.stream():
                events.append(event)
                pause_point("dbt")  # dbt is running: some models built, others not yet
            # the dbt process the refresh CLI started, if the build ran there: reaped here, its
            # CPU time and memory count in this stage as those of dbt's own process would
            dbt_prestart.stop()
    finally:
        if config.dbt_target == "spark":
            # Local Spark session (issue 7): quality, publish and the dashboard read the marts
            # from DuckDB, so land the tables this build materialized there.
            _land_spark_tables(context, warehouse, events, config.spark_location)
        yield from _with_row_counts(
            context, warehouse, events, metrics.as_metadata(), invocation.target_path, config
        )
    parse_state.keep_partial_parse(invocation.target_path, artifacts)
    if not context.is_subset:
        # Only a build of every model makes all incremental tables follow the current code and
        # the re-landed files; a partial one (a few assets picked in the UI) keeps the flags.
        _record_build(warehouse, code, started_at)


def _with_row_counts(
    context,
    warehouse: DuckDBResource,
    events: list,
    run_metadata: dict,
    target_path: Path,
    config: settings.Settings,
):
    """Row counts, column types and column lineage (issue 15) on each built model's output,
    read after dbt exited (one DuckDB connection, no contention with the dbt process)."""
    outputs = {
        e.output_name: context.asset_key_for_output(e.output_name)
        for e in events
        if isinstance(e, dg.Output)
    }
    counts: dict[str, int] = {}
    columns: dict[str, dict] = {}
    if config.spark_target:
        # Spark (issue 7): count only the tables landed in DuckDB from the local session (other
        # DuckDB tables, if any, are left from an earlier DuckDB build)
        landed = config.dbt_target == "spark"
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
            if not config.spark_target:
                started = time.perf_counter()
                try:
                    # The lineage cache is keyed by the models' SQL and column types, not by
                    # the warehouse: one per project, shared by every warehouse's builds.
                    columns = column_metadata(
                        con, target_path, _unique_ids(events, outputs), translator, dbt_project,
                        cache_dir=Path(dbt_project.project_dir) / dbt_project.target_path,
                    )  # fmt: skip
                except Exception as exc:  # UI metadata: never worth failing the build for
                    context.log.warning(f"no column metadata: {exc}")
                context.log.info(
                    f"column types and lineage of {len(columns)} models in "
                    f"{time.perf_counter() - started:.2f} s"
                )
    for event in events:
        if isinstance(event, dg.Output) and (
            event.output_name in counts or event.output_name in columns
        ):
            extra = columns.get(event.output_name, {})
            if event.output_name in counts:
                extra = {**extra, "dagster/row_count": counts[event.output_name]}
            event = event.with_metadata({**event.metadata, **extra})
        yield event


def _unique_ids(events: list, outputs: Mapping) -> dict[str, str]:
    """Output name → dbt unique_id, from the metadata dagster-dbt puts on each Output."""
    ids = {}
    for event in events:
        if isinstance(event, dg.Output) and event.output_name in outputs:
            unique_id = event.metadata.get("unique_id")
            if unique_id is not None:
                ids[event.output_name] = getattr(unique_id, "text", unique_id)
    return ids


def _land_spark_tables(
    context, warehouse: DuckDBResource, events: list, spark_dir: Path
) -> None:
    built = {
        tuple(context.asset_key_for_output(e.output_name).path)
        for e in events
        if isinstance(e, dg.Output)
    }
    columns = spark_marts.declared_columns(dbt_project.manifest_path)
    tables = {key: cols for key, cols in columns.items() if key in built}
    if tables:
        with warehouse.get_connection() as con:
            counts = spark_marts.land_tables(con, tables, spark_dir)
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
