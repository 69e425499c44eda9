"""The engine's own floor: DuckDB alone reading a landing zone into typed tables.

    python bench/floor_duckdb.py --raw-dir DIR --database FILE

No validation, no line numbers, no quarantine, no bookkeeping: `read_json` with the contract's
fields typed (nested ones as structs, registrations as a list of structs) for the referral and
solution snapshots, `read_csv` for the traffic, each into a table of a new DuckDB file, with as
many threads as the pipeline's DuckDB gets. This is what ingestion is measured against (issue 12:
ingest within 2x of it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import duckdb

REFERRAL_COLUMNS = {
    "id": "VARCHAR", "engagementId": "VARCHAR", "organizationId": "VARCHAR",
    "organizationName": "VARCHAR", "name": "VARCHAR",
    "createdDateTime": "TIMESTAMPTZ", "updatedDateTime": "TIMESTAMPTZ",
    "acceptedDateTime": "TIMESTAMPTZ", "closedDateTime": "TIMESTAMPTZ",
    "expirationDateTime": "TIMESTAMPTZ", "status": "VARCHAR", "substatus": "VARCHAR",
    "type": "VARCHAR", "qualification": "VARCHAR", "direction": "VARCHAR",
    "referralProgram": "VARCHAR",
    "inviteContext": "STRUCT(invitedBy STRUCT(organizationId VARCHAR))",
    "customerProfile": "STRUCT(address STRUCT(country VARCHAR))",
    "details": "STRUCT(dealValue DOUBLE, currency VARCHAR, closingDateTime TIMESTAMPTZ)",
    "registrations": "STRUCT(id VARCHAR, status VARCHAR, contract STRUCT(value DOUBLE, "
    "currency VARCHAR), statusHistory STRUCT(approvedDateTime TIMESTAMPTZ))[]",
}  # fmt: skip
SOLUTION_COLUMNS = {
    "id": "VARCHAR", "organizationId": "VARCHAR", "name": "VARCHAR", "offerId": "VARCHAR",
    "solutionType": "VARCHAR", "publishStatus": "VARCHAR", "coSellStatus": "VARCHAR",
    "updatedDateTime": "TIMESTAMPTZ",
}  # fmt: skip
TRAFFIC_COLUMNS = {
    "date": "DATE", "organizationId": "VARCHAR", "offerId": "VARCHAR",
    "pageViews": "BIGINT", "ctaClicks": "BIGINT",
}  # fmt: skip


def _struct(columns: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


def load(raw_dir: Path, database: Path) -> dict:
    database.unlink(missing_ok=True)
    con = duckdb.connect(str(database))
    con.execute("set TimeZone = 'UTC'")
    counts = {}
    for source, columns, pattern in (
        ("referrals", REFERRAL_COLUMNS, "referrals/*.jsonl*"),
        ("solutions", SOLUTION_COLUMNS, "solutions/*.jsonl*"),
    ):
        files = sorted(str(p) for p in raw_dir.glob(pattern))
        if not files:
            continue
        con.execute(
            f"create table {source} as select * from read_json(?, format = 'newline_delimited', "
            f"filename = true, ignore_errors = true, columns = {_struct(columns)})",
            [files],
        )
        counts[source] = con.execute(f"select count(*) from {source}").fetchone()[0]
    traffic = sorted(str(p) for p in raw_dir.glob("marketplace_traffic/*.csv"))
    if traffic:
        con.execute(
            f"create table traffic as select * from read_csv(?, header = true, filename = true, ignore_errors = true, "
            f"columns = {_struct(TRAFFIC_COLUMNS)})",
            [traffic],
        )
        counts["traffic"] = con.execute("select count(*) from traffic").fetchone()[0]
    con.execute("checkpoint")
    con.close()
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--raw-dir", type=Path, required=True)
    p.add_argument("--database", type=Path, required=True)
    args = p.parse_args(argv)
    started = time.perf_counter()
    counts = load(args.raw_dir, args.database)
    print(json.dumps({"records": counts, "seconds": round(time.perf_counter() - started, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
