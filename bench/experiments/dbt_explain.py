"""EXPLAIN ANALYZE of compiled dbt models / tests against a (benchmark) warehouse, read-only.

    python bench/experiments/dbt_explain.py WAREHOUSE NAME [NAME ...] [--sql FILE ...]

NAME is a model or singular test (e.g. int_referral_status_history,
assert_referral_versions_in_sync_with_staging); its compiled SQL is taken from the newest
dbt_project/target/**/compiled tree. Each query runs once (into a temp table, dropped;
the warehouse is opened read-only) with DuckDB's JSON profiling; prints the total and the costliest operators.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import tempfile
import time
from pathlib import Path

import duckdb

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


def compiled_sql(name: str) -> str:
    paths = glob.glob(
        str(PROJECT / "target" / "**" / "compiled" / "**" / f"{name}.sql"), recursive=True
    )
    if not paths:
        raise SystemExit(f"no compiled SQL for {name}: run a refresh first")
    sql = Path(max(paths, key=os.path.getmtime)).read_text()
    # drop the database part of "db"."schema"."table": it names whichever warehouse compiled it
    return re.sub(r'"[^"]+"\.("(?:staging|intermediate|marts|raw|reference)"\.)', r"\1", sql)


def operators(node: dict, out: list) -> None:
    extra = node.get("extra_info", {})
    detail = (
        extra.get("Projections")
        or extra.get("Aggregates")
        or extra.get("Conditions")
        or extra.get("Partitions")
        or ""
    )
    if isinstance(detail, list):
        detail = ", ".join(detail)
    out.append(
        (
            node.get("operator_timing", node.get("timing", 0.0)),
            node["name"] if "name" in node else node.get("operator_name"),
            str(detail)[:110],
            node.get("operator_cardinality", node.get("intermediate_rows")),
        )
    )
    for child in node.get("children", []):
        operators(child, out)


def profile(con: duckdb.DuckDBPyConnection, label: str, sql: str, top: int) -> None:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
        target = tmp.name
    con.execute("pragma enable_profiling='json'")
    con.execute(f"pragma profiling_output='{target}'")
    start = time.perf_counter()
    con.execute(f"create or replace temp table _profiled as {sql}")  # materialise every column
    wall = time.perf_counter() - start
    con.execute("pragma disable_profiling")
    con.execute("drop table _profiled")
    tree = json.loads(Path(target).read_text())
    ops: list = []
    for node in tree.get("operator", tree.get("children", [])):
        operators(node, ops)
    print(f"\n{label}: {wall:.2f}s")
    for timing, name, detail, rows in sorted(ops, key=lambda o: -(o[0] or 0))[:top]:
        print(f"  {timing:6.2f}s {name:18} rows={rows}  {detail}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("warehouse")
    p.add_argument("names", nargs="*")
    p.add_argument(
        "--sql", nargs="*", default=[], help="extra SQL files to profile (e.g. a rewrite)"
    )
    p.add_argument("--top", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    con = duckdb.connect(args.warehouse, read_only=True)
    con.execute(f"set threads={args.threads}")
    for name in args.names:
        profile(con, name, compiled_sql(name), args.top)
    for path in args.sql:
        profile(con, path, Path(path).read_text(), args.top)


if __name__ == "__main__":
    main()
