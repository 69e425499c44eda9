"""A BI-tool stand-in for test_resilience: reads the published marts in a loop until told to stop.

Each batch reads the 3M headline numbers and the daily marts they sum from the same source — the
serving database through a read-only connection (mode "long": one connection kept open all along;
mode "reconnect": a new connection per batch, so new versions are seen), and the Parquet set
through the `marts` link resolved once per batch — and records any error or any batch where the
summary differs from the sums. (DuckDB reuses an open database instance for the same path within a
process, so the two modes run in separate processes.)
"""

import json
import sys
import time
from pathlib import Path

import duckdb

CHECKS = {
    "referrals_total": ("mart_referrals_daily", "referrals_created"),
    "cosell_won": ("mart_cosell_daily", "won"),
    "leads_page_views": ("mart_leads_daily", "page_views"),
}


def batch(con: duckdb.DuckDBPyConnection, prefix: str) -> tuple[str, list]:
    """(version, inconsistencies) of one read of the summary and the daily marts."""
    problems = []
    summary = con.execute(
        f"select organization_id, metric, value, range_start, range_end from {prefix}mart_overview_summary "
        "where time_range = '3M'"
    ).fetchall()
    for org, metric, value, start, end in summary:
        if metric not in CHECKS:
            continue
        table, column = CHECKS[metric]
        total = con.execute(
            f"select coalesce(sum({column}), 0) from {prefix}{table} "
            "where organization_id = ? and date between ? and ?",
            [org, start, end],
        ).fetchall()[0][0]
        if float(total) != float(value):
            problems.append([org, metric, value, total])
    return problems


def main(mode: str, folder: str, stop: str, report: str) -> None:
    folder_path, stop_path = Path(folder), Path(stop)
    result = {"batches": 0, "errors": [], "inconsistent": [], "versions": []}
    serving = str(folder_path / "serving.duckdb")
    long_lived = duckdb.connect(serving, read_only=True) if mode == "long" else None
    while not stop_path.exists():
        try:
            con = long_lived or duckdb.connect(serving, read_only=True)
            version = con.execute("select max(version) from publish.published_marts").fetchall()[0][
                0
            ]
            result["inconsistent"] += batch(con, "marts.")
            if version not in result["versions"]:
                result["versions"].append(version)
            if con is not long_lived:
                con.close()
            # the Parquet set: resolve the link once, read every file of that version
            version_dir = (folder_path / "marts").resolve()
            pq = duckdb.connect()
            for name in (
                "mart_overview_summary",
                "mart_referrals_daily",
                "mart_cosell_daily",
                "mart_leads_daily",
            ):
                pq.execute(
                    f"create view {name} as select * from read_parquet('{version_dir / (name + '.parquet')}')"
                )
            result["inconsistent"] += batch(pq, "")
            pq.close()
            result["batches"] += 1
        except Exception as exc:  # every failure is a finding of the test
            result["errors"].append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.05)
    Path(report).write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:5])
