"""The raw layer as Parquet, for dbt on Apache Spark (issue 7).

DuckDB stays the ingestion database (validation, quarantine, one transaction per file) and dbt on
DuckDB keeps reading the `raw` tables there. dbt on Spark cannot read a DuckDB file, so after
ingestion the validated raw tables are mirrored as Hive-style Parquet under

    <raw parquet dir>/<table>/snapshot_date=YYYY-MM-DD/part-0.parquet   (data tables)
    <raw parquet dir>/<table>/part-0.parquet                            (quarantine, ingested_files)

and the dbt project's `on-run-start` hook registers them in Spark as the `raw.<table>` tables its
sources read (macros/raw_sources.sql). The raw parquet dir defaults to `<warehouse dir>/raw_parquet`
and is set by REFERRAL_INSIGHTS_RAW_PARQUET_DIR: a local path or a URI pyarrow can write
(`s3://bucket/prefix`, `gs://...`, `hdfs://...`), so a cluster can read it from object storage.

Export is incremental and idempotent: a snapshot-date partition is rewritten only when its rows
changed since the last export (row count and latest `ingested_at` differ from `_export_state.json`
in the table folder; a load always stamps its rows with a new `ingested_at`), a partition whose
date no longer has rows is removed, and each partition is one file replaced atomically (a rename
on a local disk, a single object PUT on object storage). The small bookkeeping tables have no
partitions and are rewritten whole.

Timestamps are written as UTC instants (Parquet `isAdjustedToUTC=true`): DuckDB holds them as
naive UTC TIMESTAMPs, and a reader must not take them for local wall-clock times.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import posixpath
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from orchestration import settings
from orchestration.ingestion.schema import ensure_raw_schema

log = logging.getLogger(__name__)

# Raw tables dbt reads as sources. The four data tables are partitioned by snapshot date;
# ingestion's bookkeeping tables are small and are rewritten whole.
PARTITIONED_TABLES = (
    "referral_snapshots",
    "referral_registrations",
    "solution_snapshots",
    "marketplace_traffic",
)
WHOLE_TABLES = ("quarantine", "ingested_files")
PARTITION_COLUMN = "snapshot_date"
STATE_FILE = "_export_state.json"  # leading underscore: Spark's file listing skips it
DATA_FILE = "part-0.parquet"


@dataclass
class ExportSummary:
    root: str
    partitions_written: dict[str, list[str]] = field(default_factory=dict)
    partitions_removed: dict[str, list[str]] = field(default_factory=dict)
    tables_rewritten: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(
            any(self.partitions_written.values())
            or any(self.partitions_removed.values())
            or self.tables_rewritten
        )


def export_raw_tables(con: duckdb.DuckDBPyConnection, root: str) -> ExportSummary:
    """Bring the Parquet mirror of the raw tables under `root` (a local path or a URI: s3://,
    gs://, hdfs://; settings.Settings.raw_parquet_location) up to date with the DuckDB
    warehouse."""
    ensure_raw_schema(con)
    con.execute("set TimeZone = 'UTC'")  # naive UTC timestamps -> UTC instants, whatever the host
    fs, base = _filesystem(root)
    summary = ExportSummary(root=root)
    for table in PARTITIONED_TABLES:
        written, removed = _export_partitioned(con, fs, posixpath.join(base, table), table)
        summary.partitions_written[table] = written
        summary.partitions_removed[table] = removed
    for table in WHOLE_TABLES:
        if _export_whole(con, fs, posixpath.join(base, table), table):
            summary.tables_rewritten.append(table)
    log.info(
        "raw parquet export to %s: %s",
        root,
        {t: len(p) for t, p in summary.partitions_written.items()},
    )
    return summary


def export_warehouse(warehouse: Path, root: str) -> ExportSummary:
    """Open the DuckDB warehouse (read-only) and export it."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return export_raw_tables(con, root)


# ------------------------------------------------------------------------------------------------


def _filesystem(root: str) -> tuple[pafs.FileSystem, str]:
    if "://" in root:
        return pafs.FileSystem.from_uri(root)
    return pafs.LocalFileSystem(), str(Path(root).resolve())


def _select_list(con: duckdb.DuckDBPyConnection, table: str, exclude: str | None) -> str:
    """The table's columns in order, timestamps as UTC instants (TIMESTAMPTZ)."""
    columns = con.execute(
        """
        select column_name, data_type from information_schema.columns
        where table_schema = 'raw' and table_name = ? order by ordinal_position
        """,
        [table],
    ).fetchall()
    parts = []
    for name, data_type in columns:
        if name == exclude:
            continue
        quoted = f'"{name}"'
        if data_type.upper() == "TIMESTAMP":
            parts.append(f"cast({quoted} as timestamptz) as {quoted}")
        else:
            parts.append(quoted)
    return ", ".join(parts)


def _fingerprint(count: int, latest: dt.datetime | None) -> list:
    return [count, latest.isoformat() if latest else None]


def _read_state(fs: pafs.FileSystem, folder: str) -> dict:
    path = posixpath.join(folder, STATE_FILE)
    if fs.get_file_info(path).type != pafs.FileType.File:
        return {}
    with fs.open_input_stream(path) as stream:
        return json.loads(stream.read().decode())


def _write_state(fs: pafs.FileSystem, folder: str, state: dict) -> None:
    _write_atomically(
        fs, posixpath.join(folder, STATE_FILE), lambda sink: sink.write(json.dumps(state).encode())
    )


def _write_atomically(fs: pafs.FileSystem, path: str, write) -> None:
    """Replace `path` as a whole: on a local disk write a hidden temporary file (Spark skips names
    starting with '.') and rename it over the target; an object store PUT is atomic by itself."""
    fs.create_dir(posixpath.dirname(path), recursive=True)
    if isinstance(fs, pafs.LocalFileSystem):
        temporary = posixpath.join(
            posixpath.dirname(path), f".{posixpath.basename(path)}.{uuid.uuid4().hex}.tmp"
        )
        try:
            with fs.open_output_stream(temporary) as sink:
                write(sink)
            os.replace(temporary, path)
        finally:
            if fs.get_file_info(temporary).type == pafs.FileType.File:
                fs.delete_file(temporary)
    else:
        with fs.open_output_stream(path) as sink:
            write(sink)


def _write_parquet(fs: pafs.FileSystem, path: str, table: pa.Table) -> None:
    _write_atomically(fs, path, lambda sink: pq.write_table(table, sink, compression="zstd"))


def _export_partitioned(con, fs, folder: str, table: str) -> tuple[list[str], list[str]]:
    current = {
        day.isoformat(): _fingerprint(count, latest)
        for day, count, latest in con.execute(
            f"select {PARTITION_COLUMN}, count(*), max(ingested_at) from raw.{table} group by 1"
        ).fetchall()
    }
    state = _read_state(fs, folder)
    exported = state.get("partitions", {})
    select_list = _select_list(con, table, exclude=PARTITION_COLUMN)
    written = []
    for day in sorted(current):
        if exported.get(day) == current[day]:
            continue
        rows = con.sql(
            f"select {select_list} from raw.{table} where {PARTITION_COLUMN} = ? "
            "order by source_file, line_number",
            params=[dt.date.fromisoformat(day)],
        ).to_arrow_table()
        _write_parquet(fs, posixpath.join(folder, f"{PARTITION_COLUMN}={day}", DATA_FILE), rows)
        exported[day] = current[day]
        written.append(day)
    removed = []
    prefix = f"{PARTITION_COLUMN}="
    if fs.get_file_info(folder).type == pafs.FileType.Directory:
        for info in fs.get_file_info(pafs.FileSelector(folder)):
            if info.type == pafs.FileType.Directory and info.base_name.startswith(prefix):
                day = info.base_name[len(prefix) :]
                if day not in current:
                    fs.delete_dir(info.path)
                    exported.pop(day, None)
                    removed.append(day)
    fs.create_dir(folder, recursive=True)  # an empty table is an empty folder, not a missing one
    if written or removed or state.get("partitions") != exported:
        _write_state(fs, folder, {"table": table, "partitions": exported})
    return written, removed


def _export_whole(con, fs, folder: str, table: str) -> bool:
    count, latest = con.execute(f"select count(*), max(ingested_at) from raw.{table}").fetchone()
    fingerprint = _fingerprint(count, latest)
    if _read_state(fs, folder).get("fingerprint") == fingerprint and (
        fs.get_file_info(posixpath.join(folder, DATA_FILE)).type == pafs.FileType.File
    ):
        return False
    rows = con.sql(
        f"select {_select_list(con, table, exclude=None)} from raw.{table} order by all"
    ).to_arrow_table()
    _write_parquet(fs, posixpath.join(folder, DATA_FILE), rows)
    _write_state(fs, folder, {"table": table, "fingerprint": fingerprint})
    return True


def main() -> None:
    """`python -m orchestration.spark.parquet_export`: export the warehouse now (e.g. after
    switching an existing DuckDB warehouse to the Spark target)."""
    logging.basicConfig(level=logging.INFO)
    config = settings.load()
    summary = export_warehouse(config.warehouse, config.raw_parquet_location)
    written = sum(len(p) for p in summary.partitions_written.values())
    removed = sum(len(p) for p in summary.partitions_removed.values())
    print(
        f"raw parquet at {summary.root}: {written} partition(s) written, {removed} removed, "
        f"rewritten: {', '.join(summary.tables_rewritten) or 'none'}"
    )


if __name__ == "__main__":
    main()
