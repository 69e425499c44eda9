"""Publish cost with per-organization serving, on a refreshed warehouse (issue 16).

Copies the warehouse's marts into a scratch warehouse, then publishes them twice: once as the
publisher did before issue 16 (whole marts + serving.duckdb) and once with the per-organization
Parquet folders and DuckDB files, printing the seconds of each part and the files' sizes.

    .venv/bin/python bench/publish_by_organization.py WAREHOUSE SCRATCH_DIR [--databases none]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path
from unittest import mock

import duckdb

from orchestration.serving import by_organization, publisher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("scratch", type=Path)
    parser.add_argument(
        "--databases", help="as REFERRAL_INSIGHTS_ORGANIZATION_DATABASES (default: all)"
    )
    args = parser.parse_args()
    databases = by_organization.database_selection(args.databases)
    if args.scratch.exists():
        shutil.rmtree(args.scratch)
    args.scratch.mkdir(parents=True)
    scratch = args.scratch / "wh.duckdb"
    with duckdb.connect(str(scratch)) as con:
        con.execute(f"attach '{args.warehouse}' as source (read_only)")
        con.execute("create schema marts")
        marts = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'source' and table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        for mart in marts:
            con.execute(f"create table marts.{mart} as select * from source.marts.{mart}")
        con.execute("detach source")
        rows = {
            m: con.execute(f"select count(*) from marts.{m}").fetchall()[0][0] for m in marts
        }
        print(f"marts: {sum(rows.values()):,} rows in {len(marts)} tables")

        started = time.perf_counter()
        with mock.patch.object(by_organization, "write", return_value=[]):
            publisher.publish(con, scratch, marts, failed=set(), version="whole")
        whole = time.perf_counter() - started

        timings: dict[str, float] = {}
        real_write = by_organization.write

        def timed_write(*a, **k):
            t = time.perf_counter()
            out = real_write(*a, **k)
            timings["by_organization"] = time.perf_counter() - t
            return out

        started = time.perf_counter()
        with mock.patch.object(by_organization, "write", timed_write):
            result = publisher.publish(
                con, scratch, marts, failed=set(), version="with_orgs",
                organization_databases=databases,
            )  # fmt: skip
        total = time.perf_counter() - started

    version = result.directory
    parquet = sum(p.stat().st_size for p in (version / "by_organization").rglob("*.parquet"))
    dbs = list((version / "serving_by_organization").glob("*.duckdb"))
    size = sum(p.stat().st_size for p in dbs)
    print(f"organizations: {len(result.organizations):,}")
    print(f"publish without per-organization files: {whole:.1f} s")
    print(f"publish with them: {total:.1f} s, of which per-organization {timings['by_organization']:.1f} s")
    print(f"per-organization Parquet: {parquet / 1e6:.1f} MB; DuckDB files: {len(dbs):,}, "
          f"{size / 1e6:.1f} MB ({size / max(len(dbs), 1) / 1e3:.0f} KB each)")  # fmt: skip


if __name__ == "__main__":
    main()
