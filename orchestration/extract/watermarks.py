"""Extraction watermarks in the warehouse (`ops.extract_watermarks`), one row per source,
advanced only after that source's snapshot file has been renamed into place."""

from __future__ import annotations

import datetime as dt

TABLE = "ops.extract_watermarks"


def ensure_table(con) -> None:
    con.execute("create schema if not exists ops")
    con.execute(
        f"""
        create table if not exists {TABLE} (
            source varchar primary key,   -- referrals | solutions | marketplace_traffic
            watermark varchar,            -- latest updatedDateTime (or traffic date) landed
            landed_file varchar,          -- relative path of the file it was landed in
            records bigint,               -- records that file received in that run
            extracted_at timestamp        -- UTC
        )
        """
    )


def read(con, source: str) -> str | None:
    ensure_table(con)
    row = con.execute(f"select watermark from {TABLE} where source = ?", [source]).fetchone()
    return row[0] if row else None


def advance(con, source: str, watermark: str, landed_file: str, records: int) -> None:
    ensure_table(con)
    con.execute(
        f"insert or replace into {TABLE} values (?, ?, ?, ?, ?)",
        [source, watermark, landed_file, records, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
    )
