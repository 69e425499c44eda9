"""Column types and column-level lineage of the dbt models, as Dagster materialization metadata.

dagster-dbt's `fetch_column_metadata()` asks the dbt adapter for each model's columns while dbt
still runs, which here would contend with the dbt process for the DuckDB lock (and needs the
in-process adapter that LocalDbtCliResource skips). So the same metadata is built after dbt has
exited: one `information_schema.columns` query gives every relation's columns and types, and
dagster-dbt's own sqlglot lineage builder reads each model's compiled SQL from the invocation's
target folder, with its parents' column types, to give `dagster/column_lineage`.

sqlglot needs ~6 s for the 32 models on this machine, and a model's lineage changes only with
its SQL or its columns: lineage is cached by a digest of the model's SQL checksum and the column
types it was derived from (`<dbt target>/column_lineage_cache.json`, rewritten
with the entries of the latest builds only, so it stays small).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg

log = logging.getLogger(__name__)

CACHE_FILE = "column_lineage_cache.json"
_CACHE_ENTRIES = 400  # a dozen builds' worth of models (full and incremental SQL differ)


def relation_columns(con) -> dict[tuple[str, str], dict[str, dict[str, str]]]:
    """(schema, table) → {column: {"data_type": type}} for every table and view, in order."""
    out: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for schema, table, column, data_type in con.execute(
        """
        select table_schema, table_name, column_name, data_type from information_schema.columns
        where table_catalog = current_database() order by table_schema, table_name, ordinal_position
        """
    ).fetchall():
        out.setdefault((schema, table), {})[column] = {"data_type": data_type}
    return out


def _node(manifest: Mapping[str, Any], unique_id: str) -> Mapping[str, Any] | None:
    return manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id)


def _relation(node: Mapping[str, Any]) -> tuple[str, str]:
    name = node.get("alias") or node.get("identifier") or node["name"]
    return node["schema"], name


def _lineage_digest(node: Mapping[str, Any], cols: dict, parents: Mapping[str, dict]) -> str:
    """What a model's column lineage follows from: its SQL as written (the checksum dbt keeps;
    the compiled SQL differs between full and incremental builds and carries the warehouse's
    database name, while the lineage does not) and the columns of the model and its parents."""
    key = json.dumps([node["unique_id"], node["checksum"]["checksum"], cols, parents], sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()


def _load_cache(path: Path) -> dict[str, dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _save_cache(path: Path, cache: dict[str, dict]) -> None:
    newest = sorted(cache.items(), key=lambda kv: kv[1]["used"], reverse=True)[:_CACHE_ENTRIES]
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dict(newest)))
    os.replace(tmp, path)


def _to_lineage(deps_by_column: Mapping[str, list]) -> dict[str, Any]:
    return {
        "dagster/column_lineage": dg.TableColumnLineage(
            deps_by_column={
                column: [
                    dg.TableColumnDep(asset_key=dg.AssetKey(key), column_name=name)
                    for key, name in deps
                ]
                for column, deps in deps_by_column.items()
            }
        )
    }


def _from_lineage(metadata: Mapping[str, Any]) -> dict[str, list] | None:
    value = metadata.get("dagster/column_lineage")
    lineage = getattr(value, "column_lineage", value)
    if lineage is None:
        return None
    return {
        column: sorted([list(dep.asset_key.path), dep.column_name] for dep in deps)
        for column, deps in lineage.deps_by_column.items()
    }


def column_metadata(
    con,
    target_path: Path,
    unique_ids: Mapping[str, str],
    translator,
    project,
    with_lineage: bool = True,
    cache_dir: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """For each output name → dbt unique_id: `dagster/column_schema` (names, types and the
    YAML descriptions) and, when `with_lineage`, `dagster/column_lineage`. The lineage cache
    lives in `cache_dir` (default: the folder above the invocation's target folder)."""
    from dagster_dbt.core.dbt_cli_event import EventHistoryMetadata, _build_column_lineage_metadata

    cache_path = (cache_dir or target_path.parent) / CACHE_FILE
    cache = _load_cache(cache_path) if with_lineage else {}
    now = time.time()
    manifest_file = target_path / "manifest.json"
    if not unique_ids or not manifest_file.is_file():
        return {}
    # The invocation's own manifest: its relation names carry this warehouse's database name,
    # as the compiled SQL does.
    manifest = json.loads(manifest_file.read_text())
    columns = relation_columns(con)
    out: dict[str, dict[str, Any]] = {}
    for output_name, unique_id in unique_ids.items():
        node = _node(manifest, unique_id)
        if node is None or node["resource_type"] not in ("model", "seed", "snapshot"):
            continue
        cols = columns.get(_relation(node))
        if not cols:
            continue
        described = node.get("columns", {})
        metadata: dict[str, Any] = {
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    dg.TableColumn(
                        name=name,
                        type=meta["data_type"],
                        description=(described.get(name) or {}).get("description") or None,
                    )
                    for name, meta in cols.items()
                ]
            )
        }
        if with_lineage and node["resource_type"] == "model":
            parents, parent_ids = {}, {}
            for parent_id in manifest["parent_map"].get(unique_id, []):
                parent = _node(manifest, parent_id)
                if parent and parent.get("relation_name") and _relation(parent) in columns:
                    parents[parent["relation_name"]] = columns[_relation(parent)]
                    parent_ids[parent_id] = columns[_relation(parent)]
            digest = _lineage_digest(node, cols, parent_ids)
            if digest in cache:
                metadata |= _to_lineage(cache[digest]["deps"])
                cache[digest]["used"] = now
            else:
                try:
                    built = _build_column_lineage_metadata(
                        event_history_metadata=EventHistoryMetadata(columns=cols, parents=parents),
                        dbt_resource_props=node,
                        manifest=manifest,
                        dagster_dbt_translator=translator,
                        target_path=target_path,
                        project=project,
                    )
                except Exception as exc:  # lineage is documentation: never fail the build
                    log.warning(f"no column lineage for {unique_id}: {exc}")
                    built = {}
                deps = _from_lineage(built)
                if deps is not None:
                    metadata |= _to_lineage(deps)
                    cache[digest] = {"deps": deps, "used": now}
        out[output_name] = metadata
    if with_lineage and cache:
        try:
            _save_cache(cache_path, cache)
        except OSError as exc:
            log.warning(f"column lineage cache not saved: {exc}")
    return out
