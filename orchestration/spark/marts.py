"""Marts built on Spark, landed in the DuckDB warehouse (issue 7, local Spark session).

Everything after dbt — the GX checks and `marts.mart_widget_refresh`, the publish step, the
dashboard — reads the marts (and the GX checks `intermediate.int_revenue_events`) from the DuckDB
warehouse. When dbt ran on the local Spark session, these tables are Parquet under the Spark
warehouse dir (`<spark dir>/warehouse/<schema>.db/<table>/`, partitioned tables as
`<column>=<value>/` folders), so the intermediate and mart tables a build materialized (and the
quality models, tables on Spark) are copied into the same DuckDB schemas after it, in one
transaction, with the column order of the model's YAML (Spark stores partition columns last). Spark's bookkeeping files (`_SUCCESS`, `.crc`) are not
Parquet and are not read. Staging models are views: nothing to copy.

On a cluster target the Spark warehouse is the cluster's (often object storage), so this copy is
not done there (docs/spark.md).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

MARTS_SCHEMA = "marts"
QUALITY_SCHEMA = "quality"
LANDED_SCHEMAS = ("intermediate", MARTS_SCHEMA, QUALITY_SCHEMA)


def table_folder(schema: str, name: str, root: Path) -> Path:
    """A table's folder under the local session's Spark dir (settings.Settings.spark_location)."""
    return root / "warehouse" / f"{schema}.db" / name


def declared_columns(
    manifest_path: Path, schemas: tuple[str, ...] = LANDED_SCHEMAS
) -> dict[tuple[str, str], list[str]]:
    """(schema, table) -> its columns in YAML order, for the table models of `schemas`. The
    quality models count as tables whichever target the manifest was parsed for: views on
    DuckDB, tables on Spark (dbt_project.yml), which the validation step reads in DuckDB."""
    manifest = json.loads(manifest_path.read_text())
    return {
        (node["schema"], node["alias"]): list(node.get("columns", {}))
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["schema"] in schemas
        and (
            node["config"].get("materialized") in ("table", "incremental")
            or node["schema"] == QUALITY_SCHEMA
        )
    }


def land_tables(
    con: duckdb.DuckDBPyConnection,
    tables: dict[tuple[str, str], list[str]],
    root: Path,
) -> dict[tuple[str, str], int]:
    """Replace `<schema>.<table>` in DuckDB by its Spark build; returns row counts. `tables` maps
    (schema, table) to the preferred column order (may be empty: Parquet order)."""
    counts: dict[tuple[str, str], int] = {}
    for schema in sorted({schema for schema, _ in tables}):
        con.execute(f'create schema if not exists "{schema}"')
    con.begin()
    try:
        for (schema, name), preferred in sorted(tables.items()):
            folder = table_folder(schema, name, root)
            relation = f'"{schema}"."{name}"'
            partitioned = folder.is_dir() and any(
                p.is_dir() and "=" in p.name for p in folder.iterdir()
            )
            pattern = str(folder / ("**/*.parquet" if partitioned else "*.parquet"))
            if not any(folder.glob("**/*.parquet" if partitioned else "*.parquet")):
                # Spark writes no file for an empty partitioned table: keep the shape, drop the rows
                exists = con.execute(
                    "select count(*) from information_schema.tables "
                    "where table_schema = ? and table_name = ?",
                    [schema, name],
                ).fetchone()[0]
                if exists:
                    con.execute(f"delete from {relation}")
                    counts[(schema, name)] = 0
                else:
                    log.warning(
                        "Spark table %s has no data files in %s; not landed", relation, folder
                    )
                continue
            source = f"read_parquet(?, hive_partitioning = {str(partitioned).lower()})"
            available = [
                row[0]
                for row in con.execute(f"describe select * from {source}", [pattern]).fetchall()
            ]
            order = preferred if preferred and sorted(preferred) == sorted(available) else available
            select_list = ", ".join(f'"{column}"' for column in order)
            if _is_view(con, schema, name):  # a quality model built on DuckDB before
                con.execute(f"drop view {relation}")
            con.execute(
                f"create or replace table {relation} as select {select_list} from {source}",
                [pattern],
            )
            (counts[(schema, name)],) = con.execute(f"select count(*) from {relation}").fetchone()
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return counts


def _is_view(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ? and table_type = 'VIEW'",
            [schema, name],
        ).fetchone()[0]
    )
