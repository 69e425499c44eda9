"""Load landed files into the raw schema, one transaction per file.

Loading a file replaces everything earlier loads of the same file name wrote (rows, quarantine
entries, manifest row), so re-running is idempotent and a re-landed file replaces its
predecessor. A run killed mid-file rolls back to the previous state of that file; the next run
sees it as not yet loaded (no manifest row with its fingerprint) and loads it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field

import duckdb
import pyarrow as pa

from orchestration.faults import pause_point
from orchestration.ingestion import readers, validation
from orchestration.ingestion.landing import LandedFile
from orchestration.ingestion.schema import ensure_raw_schema

# Only the referral models are incremental, so only referral loads can invalidate them.
INCREMENTAL_SOURCES = ("referrals",)
# raw tables each source writes (the quarantine and manifest are shared)
SOURCE_TABLES: dict[str, tuple[str, ...]] = {
    "referrals": ("referral_snapshots", "referral_registrations"),
    "solutions": ("solution_snapshots",),
    "marketplace_traffic": ("marketplace_traffic",),
}
MAX_REPORTED_ERRORS = 5


@dataclass
class FileResult:
    source: str
    file_name: str
    snapshot_date: dt.date
    status: str  # "loaded" | "failed"
    records_loaded: int = 0
    records_quarantined: int = 0
    error: str | None = None
    first_errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self) | {"snapshot_date": self.snapshot_date.isoformat()}


def loaded_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    ensure_raw_schema(con)
    rows = con.execute(
        "select file_name, file_size, file_mtime_ns from raw.ingested_files"
    ).fetchall()
    return {name: (size, mtime) for name, size, mtime in rows}


def changed_files(con: duckdb.DuckDBPyConnection, files: Iterable[LandedFile]) -> list[LandedFile]:
    """Files that are new or whose size/mtime differ from what was loaded."""
    known = loaded_fingerprints(con)
    return [f for f in files if known.get(f.file_name) != f.fingerprint]


def load_files(con: duckdb.DuckDBPyConnection, files: Iterable[LandedFile]) -> list[FileResult]:
    """Load files in snapshot-date order, flagging loads that invalidate incremental history."""
    ensure_raw_schema(con)
    results = []
    for landed in sorted(files, key=lambda f: (f.snapshot_date, f.file_name)):
        results.append(load_file(con, landed))
    return results


def request_full_refresh(
    con: duckdb.DuckDBPyConnection, source: str, file_name: str, reason: str, at: dt.datetime
) -> None:
    """Make the next complete dbt build a --full-refresh (defs/dbt.py clears the request once it
    succeeded)."""
    con.execute(
        "insert into raw.full_refresh_requests values (?, ?, ?, ?)",
        [source, file_name, reason, at],
    )


def _full_refresh_reason(con: duckdb.DuckDBPyConnection, landed: LandedFile) -> str | None:
    """Why loading this file changes already-built history, or None for a plain new snapshot."""
    replaced, newest = con.execute(
        """
        select bool_or(file_name = $file_name), max(snapshot_date)
        from raw.ingested_files where source = $source
        """,
        {"file_name": landed.file_name, "source": landed.source},
    ).fetchall()[0]
    if replaced:
        return "file re-landed"
    if newest is not None and landed.snapshot_date <= newest:
        return f"snapshot not newer than the latest loaded ({newest})"
    return None


def load_file(con: duckdb.DuckDBPyConnection, landed: LandedFile) -> FileResult:
    """Validate and load one file atomically; never raises for bad content."""
    con.execute("set TimeZone = 'UTC'")  # naive timestamps are read as UTC
    ingested_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    result = FileResult(landed.source, landed.file_name, landed.snapshot_date, "loaded")
    con.begin()
    try:
        # Decided before the file's manifest row is replaced and committed with the load, so a
        # crash never leaves a history-changing load without its full-refresh request.
        refresh_reason = (
            _full_refresh_reason(con, landed) if landed.source in INCREMENTAL_SOURCES else None
        )
        try:
            _delete_file(con, landed)
            loader = _LOADERS[landed.source]
            for batch in loader.batches(landed):
                _load_batch(con, loader, batch, landed, ingested_at, result)
                pause_point("ingest")  # rows written, transaction not committed
        except readers.UnreadableFile as exc:
            # Drop the partial load, keep the failure: the file's earlier rows go too, since
            # the landing zone no longer holds the file they came from.
            con.rollback()
            con.begin()
            _delete_file(con, landed)
            result = FileResult(
                landed.source, landed.file_name, landed.snapshot_date, "failed", error=str(exc)
            )
        if refresh_reason:
            request_full_refresh(con, landed.source, landed.file_name, refresh_reason, ingested_at)
        _record_manifest(con, landed, result, ingested_at)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return result


def _delete_file(con: duckdb.DuckDBPyConnection, landed: LandedFile) -> None:
    # A file's rows are only ever written in the transaction that writes its manifest row, so
    # without a manifest row there is nothing to delete: skip scanning the growing raw tables.
    [(known,)] = con.execute(
        "select count(*) from raw.ingested_files where file_name = ?", [landed.file_name]
    ).fetchall()
    if not known:
        return
    for table in SOURCE_TABLES[landed.source]:
        con.execute(f"delete from raw.{table} where source_file = ?", [landed.file_name])
    con.execute("delete from raw.quarantine where file_name = ?", [landed.file_name])
    con.execute("delete from raw.ingested_files where file_name = ?", [landed.file_name])


def _record_manifest(con, landed: LandedFile, result: FileResult, ingested_at) -> None:
    con.execute(
        "insert into raw.ingested_files values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            landed.source,
            landed.file_name,
            landed.snapshot_date,
            landed.size,
            landed.mtime_ns,
            result.status,
            result.records_loaded,
            result.records_quarantined,
            result.error,
            ingested_at,
        ],
    )


def _load_batch(con, loader, batch: pa.RecordBatch, landed, ingested_at, result) -> None:
    params = {
        "snapshot_date": landed.snapshot_date,
        "source_file": landed.file_name,
        "ingested_at": ingested_at,
        "snapshot_end": dt.datetime.combine(landed.snapshot_date + dt.timedelta(days=1), dt.time()),
    }
    con.register("_landed_batch", batch)
    try:
        con.execute(
            "create or replace temp table _validated as " + loader.validation_sql("_landed_batch"),
            {"snapshot_end": params["snapshot_end"]},
        )
        _escape_invalid_utf8(con, batch)
        loaded, quarantined = loader.insert(con, params)
        result.records_loaded += loaded
        result.records_quarantined += quarantined
        if len(result.first_errors) < MAX_REPORTED_ERRORS:
            result.first_errors += _first_errors(
                con, landed, MAX_REPORTED_ERRORS - len(result.first_errors)
            )
    finally:
        con.unregister("_landed_batch")


def _escape_invalid_utf8(con, batch: pa.RecordBatch) -> None:
    """Give lines that are not UTF-8 a readable raw_record (bad bytes as \\xNN). Such lines are
    rare, so only they are decoded in Python, after DuckDB found them."""
    bad = con.execute(
        "select line_number from _landed_batch where try(decode(raw)) is null"
    ).fetchall()
    if not bad:
        return
    numbers = {n for (n,) in bad}
    first = batch.column("line_number")[0].as_py()
    raws = batch.column("raw")
    fixed = [
        (raws[n - first].as_py().rstrip(b"\r\n").decode("utf-8", "backslashreplace"), n)
        for n in sorted(numbers)
    ]
    con.executemany("update _validated set raw_record = ? where line_number = ?", fixed)


def _first_errors(con, landed: LandedFile, limit: int) -> list[str]:
    rows = con.execute(
        "select line_number, field, reason from raw.quarantine where file_name = ? "
        "order by line_number limit ?",
        [landed.file_name, limit],
    ).fetchall()
    return [
        f"{landed.file_name} line {line} field {field or '(record)'}: {reason}"
        for line, field, reason in rows
    ]


def _quarantine(con, source: str, relation: str, params) -> int:
    """Move the rows of `relation` with a non-NULL `error` into raw.quarantine."""
    return con.execute(
        f"""
        insert into raw.quarantine
        select $source, $source_file, line_number, error.field, error.reason, raw_record, $ingested_at
        from {relation} where error is not null
        """,
        {
            "source": source,
            "source_file": params["source_file"],
            "ingested_at": params["ingested_at"],
        },
    ).fetchone()[0]


def _insert_valid(con, table: str, columns: tuple[str, ...], relation: str, params) -> int:
    column_list = ", ".join(columns)
    return con.execute(
        f"""
        insert into raw.{table} (snapshot_date, source_file, line_number, {column_list}, ingested_at)
        select $snapshot_date, $source_file, line_number, {column_list}, $ingested_at
        from {relation} where error is null
        """,
        {k: params[k] for k in ("snapshot_date", "source_file", "ingested_at")},
    ).fetchone()[0]


class _JsonSource:
    def __init__(self, source: str, table: str, fields: tuple[validation.Field, ...], sql_builder):
        self.source, self.table, self.fields, self._sql = source, table, fields, sql_builder

    def batches(self, landed: LandedFile) -> Iterator[pa.RecordBatch]:
        return readers.iter_json_lines(landed.path)

    def validation_sql(self, relation: str) -> str:
        return self._sql(relation)

    def insert(self, con, params) -> tuple[int, int]:
        columns = tuple(f.column for f in self.fields) + ("raw_record",)
        loaded = _insert_valid(con, self.table, columns, "_validated", params)
        return loaded, _quarantine(con, self.source, "_validated", params)


class _ReferralSource(_JsonSource):
    def __init__(self):
        super().__init__(
            "referrals",
            "referral_snapshots",
            validation.REFERRAL_FIELDS,
            validation.referral_validation_sql,
        )

    def insert(self, con, params) -> tuple[int, int]:
        # A bad registration makes its whole referral record bad: fold its error into the record
        # before splitting valid rows from quarantined ones.
        con.execute(
            "create or replace temp table _registrations as "
            + validation.registration_validation_sql("_validated"),
            {"snapshot_end": params["snapshot_end"]},
        )
        con.execute(
            """
            update _validated set error = r.error
            from (select line_number, arg_min(error, registration_index) as error
                  from _registrations where error is not null group by line_number) as r
            where _validated.line_number = r.line_number
            """
        )
        loaded, quarantined = super().insert(con, params)
        columns = ("referral_id", "referral_updated_date_time", "registration_index") + tuple(
            f.column for f in validation.REGISTRATION_FIELDS
        )
        con.execute(
            f"""
            insert into raw.referral_registrations
                (snapshot_date, source_file, line_number, {", ".join(columns)}, ingested_at)
            select $snapshot_date, $source_file, r.line_number, {", ".join("r." + c for c in columns)},
                $ingested_at
            from _registrations as r
            inner join _validated as v on v.line_number = r.line_number and v.error is null
            """,
            {k: params[k] for k in ("snapshot_date", "source_file", "ingested_at")},
        )
        return loaded, quarantined


class _TrafficSource:
    source, table = "marketplace_traffic", "marketplace_traffic"
    columns = ("date", "organization_id", "offer_id", "page_views", "cta_clicks", "raw_record")

    def batches(self, landed: LandedFile) -> Iterator[pa.RecordBatch]:
        return readers.iter_csv_rows(landed.path)

    def validation_sql(self, relation: str) -> str:
        return validation.traffic_validation_sql(relation)

    def insert(self, con, params) -> tuple[int, int]:
        loaded = _insert_valid(con, self.table, self.columns, "_validated", params)
        return loaded, _quarantine(con, self.source, "_validated", params)


_LOADERS = {
    "referrals": _ReferralSource(),
    "solutions": _JsonSource(
        "solutions",
        "solution_snapshots",
        validation.SOLUTION_FIELDS,
        validation.solution_validation_sql,
    ),
    "marketplace_traffic": _TrafficSource(),
}
