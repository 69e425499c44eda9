"""Load landed files into the raw schema, one transaction per file.

Loading a file replaces everything earlier loads of the same file name wrote (rows, quarantine
entries, manifest row), so re-running is idempotent and a re-landed file replaces its
predecessor. A run killed mid-file rolls back to the previous state of that file; the next run
sees it as not yet loaded (no manifest row with its fingerprint) and loads it again.

Each file is one error boundary: any exception while reading or loading it (an unreadable file,
a permission error, a bug nobody anticipated) rolls back that file only, records it as `failed`
with the reason, and the run goes on with the next file.

Per file, DuckDB scans the reader's Arrow stream once (readers.py), validating and typing every
record in one set-based query (validation.py) into a temporary table; valid rows then go to the
raw tables and bad ones to raw.quarantine with their text. The text of valid records is not kept:
their file and line locate them in the landing zone (see docs, "What the warehouse keeps").
"""

from __future__ import annotations

import datetime as dt
import queue
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import duckdb
import pyarrow as pa

from orchestration.faults import InjectedFault, pause_point
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
# manifest statuses: loaded (possibly with quarantined records), failed (nothing of it loaded),
# waiting (dated after tomorrow UTC: not a snapshot yet)
LOADED, FAILED, WAITING = "loaded", "failed", "waiting"


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
    """Fingerprints of the files a load has read (loaded or failed; a waiting file was not)."""
    ensure_raw_schema(con)
    rows = con.execute(
        "select file_name, file_size, file_mtime_ns from raw.ingested_files where status <> ?",
        [WAITING],
    ).fetchall()
    return {name: (size, mtime) for name, size, mtime in rows}


def changed_files(con: duckdb.DuckDBPyConnection, files: Iterable[LandedFile]) -> list[LandedFile]:
    """Files that are new or whose size/mtime differ from what was loaded."""
    known = loaded_fingerprints(con)
    return [f for f in files if known.get(f.file_name) != f.fingerprint]


# Two workers load files at once, each on its own cursor: one's Python reading and commit leave a
# core idle that the other's parsing uses (DuckDB appends from concurrent transactions do not
# conflict; each file deletes only its own rows).
PARALLEL_FILES = 2
# Consecutive files are committed together, up to this much input: one commit of many files
# writes their rows once, where a commit per file writes them to the WAL and again at the next
# checkpoint (measured at 1M referrals). A chunk that meets any problem is rolled back and its
# files loaded again one transaction each, so every file stays its own error boundary.
# Many small chunks leave many part-filled row groups, which DuckDB rewrites at the next
# checkpoint: with 256 MiB chunks (4 weekly files at 1M referrals) closing the connection after
# ingestion took 1.5 s and rewrote a third of the data; with 1 GiB, 0.1 s, and the load itself
# was ~1 s faster (a transaction's rows go to disk as they fill row groups, so memory stays
# bounded: peak RSS 941 against 914 MB).
CHUNK_BYTES = 1024 * 1024 * 1024
CHUNK_FILES = 16


def load_files(
    con: duckdb.DuckDBPyConnection, files: Iterable[LandedFile], parallel: int = PARALLEL_FILES
) -> list[FileResult]:
    """Load files in snapshot-date order (at most `parallel` chunks at a time), flagging loads
    that invalidate incremental history."""
    ensure_raw_schema(con)
    ordered = sorted(files, key=lambda f: (f.snapshot_date, f.file_name))
    chunks = _chunks(ordered)
    if parallel <= 1 or len(chunks) <= 1:
        return [result for chunk in chunks for result in load_chunk(con, chunk)]
    cursors: queue.SimpleQueue = queue.SimpleQueue()
    for _ in range(min(parallel, len(chunks))):
        cursors.put(con.cursor())

    def load(chunk: list[LandedFile]) -> list[FileResult]:
        cursor = cursors.get()
        try:
            return load_chunk(cursor, chunk)
        finally:
            cursors.put(cursor)

    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="ingest") as pool:
        results = [r for chunk_results in pool.map(load, chunks) for r in chunk_results]
    while not cursors.empty():
        cursors.get().close()
    return results


def _chunks(files: list[LandedFile]) -> list[list[LandedFile]]:
    chunks: list[list[LandedFile]] = []
    size = 0
    for landed in files:
        if not chunks or len(chunks[-1]) >= CHUNK_FILES or size + landed.size > CHUNK_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(landed)
        size += landed.size
    return chunks


class _FileProblem(Exception):
    """Something about one file of a chunk: the chunk is loaded again file by file."""


def load_chunk(con: duckdb.DuckDBPyConnection, files: list[LandedFile]) -> list[FileResult]:
    """Load files in one transaction; on any problem with one of them, roll back and load each
    in its own transaction (load_file), so that only the problem file fails."""
    if len(files) == 1:
        return [load_file(con, files[0])]
    con.execute("set TimeZone = 'UTC'")
    con.begin()
    try:
        results = [_load_in_transaction(con, landed, boundary=False) for landed in files]
        con.commit()
        return results
    except _FileProblem:
        con.rollback()
    except BaseException:
        con.rollback()
        raise
    finally:
        _drop_temp_tables(con)
    return [load_file(con, landed) for landed in files]


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
        from raw.ingested_files where source = $source and status <> $waiting
        """,
        {"file_name": landed.file_name, "source": landed.source, "waiting": WAITING},
    ).fetchall()[0]
    if replaced:
        return "file re-landed"
    if newest is not None and landed.snapshot_date <= newest:
        return f"snapshot not newer than the latest loaded ({newest})"
    return None


def describe_error(exc: BaseException) -> str:
    """One line for the manifest and the summary: a reader's own words, else type and message."""
    if isinstance(exc, readers.UnreadableFile):
        return str(exc)
    if isinstance(exc, PermissionError):
        return f"cannot read file (permission denied: {exc.filename or exc})"
    if isinstance(exc, FileNotFoundError):
        return "file vanished while it was read"
    message = " ".join(str(exc).split())
    return f"unexpected error while loading ({type(exc).__name__}: {message[:500]})"


def load_file(con: duckdb.DuckDBPyConnection, landed: LandedFile) -> FileResult:
    """Validate and load one file atomically; never raises for anything about the file."""
    con.execute("set TimeZone = 'UTC'")  # naive timestamps are read as UTC
    con.begin()
    try:
        result = _load_in_transaction(con, landed, boundary=True)
        con.commit()
        return result
    except BaseException:
        con.rollback()
        raise
    finally:
        _drop_temp_tables(con)


def _load_in_transaction(con, landed: LandedFile, boundary: bool) -> FileResult:
    """Load one file inside the caller's transaction. With `boundary`, any exception about the
    file rolls the transaction back to the start and records the file as failed; without it,
    the problem is raised as _FileProblem for the caller to isolate."""
    ingested_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    result = FileResult(landed.source, landed.file_name, landed.snapshot_date, LOADED)
    # Decided before the file's manifest row is replaced and committed with the load, so a
    # crash never leaves a history-changing load without its full-refresh request.
    refresh_reason = (
        _full_refresh_reason(con, landed) if landed.source in INCREMENTAL_SOURCES else None
    )
    try:
        _delete_file(con, landed)
        _LOADERS[landed.source].load(con, landed, _params(landed, ingested_at), result)
        pause_point("ingest")  # rows written, transaction not committed
    except InjectedFault:
        raise  # a test's stand-in for the run itself dying here, not a problem of the file
    except Exception as exc:  # the per-file error boundary (module docstring)
        if not boundary:
            raise _FileProblem(landed.file_name) from exc
        # Drop the partial load, keep the failure: the file's earlier rows go too, since
        # the landing zone no longer holds the file they came from.
        con.rollback()
        con.begin()
        _delete_file(con, landed)
        result = FileResult(
            landed.source, landed.file_name, landed.snapshot_date, FAILED,
            error=describe_error(exc),
        )
    if refresh_reason:
        request_full_refresh(con, landed.source, landed.file_name, refresh_reason, ingested_at)
    _record_manifest(con, landed, result, ingested_at)
    return result


def _drop_temp_tables(con) -> None:
    for temp in ("_fast", "_validated", "_registrations", "_nonfinite"):
        con.execute(f"drop table if exists temp.{temp}")


def forget_file(con: duckdb.DuckDBPyConnection, file_name: str) -> dict[str, int] | None:
    """Remove one landed file's records, quarantine entries and manifest row, and ask the next
    build for a full refresh (what was built from the file must go too). None when the warehouse
    never loaded a file of that name."""
    ensure_raw_schema(con)
    row = con.execute(
        "select source from raw.ingested_files where file_name = ?", [file_name]
    ).fetchone()
    if row is None:
        return None
    (source,) = row
    con.begin()
    try:
        removed = {}
        for table in SOURCE_TABLES[source] + ("quarantine",):
            column = "file_name" if table == "quarantine" else "source_file"
            removed[table] = con.execute(
                f"delete from raw.{table} where {column} = ?", [file_name]
            ).fetchone()[0]
        con.execute("delete from raw.ingested_files where file_name = ?", [file_name])
        request_full_refresh(
            con, source, file_name, "forgotten by `referral-insights forget`",
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return removed


def _params(landed: LandedFile, ingested_at: dt.datetime) -> dict:
    return {
        "snapshot_date": landed.snapshot_date,
        "source_file": landed.file_name,
        "ingested_at": ingested_at,
        "snapshot_end": dt.datetime.combine(landed.snapshot_date + dt.timedelta(days=1), dt.time()),
    }


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


class _Stream:
    """The reader's batches as an Arrow stream for DuckDB, remembering the reader's own error:
    DuckDB reports an exception raised inside the stream in its own words."""

    def __init__(self, batches: Iterator[pa.RecordBatch], schema: pa.Schema):
        self.error: BaseException | None = None
        self._batches = batches
        self.reader = pa.RecordBatchReader.from_batches(schema, self._guarded())

    def _guarded(self):
        try:
            yield from self._batches
        except BaseException as exc:
            self.error = exc
            raise

    def validate_into(self, con, sql_builder, params: dict, table: str = "_validated") -> None:
        """create temp table <table> as <validation of the stream>; re-raises the reader's
        exception (not DuckDB's wrapper of it) when reading failed."""
        con.register("_records", self.reader)
        try:
            con.execute(
                f"create or replace temp table {table} as " + sql_builder("_records"),
                {"snapshot_end": params["snapshot_end"]},
            )
        except Exception:
            if self.error is not None:
                raise self.error from None
            raise
        con.unregister("_records")  # (after a failure the next file's register replaces it)


def _render_bytes(con) -> None:
    """Give records that are not (all) UTF-8 text, or too large to keep, a readable raw_record
    (bad bytes as \\xNN). Such records are rare, so only they are decoded in Python."""
    rows = con.execute(
        "select line_number, raw_bytes from _validated where raw_bytes is not null"
    ).fetchall()
    fixed = [
        (raw.rstrip(b"\r\n").decode("utf-8", "backslashreplace"), line) for line, raw in rows
    ]
    if fixed:
        con.executemany("update _validated set txt = ? where line_number = ?", fixed)


def _flag_nonfinite_numbers(con) -> None:
    """NaN, Infinity, 1e400 anywhere in a record make it bad (raw-contract.md section 4); only
    records whose text hints at one are walked."""
    [(hinted,)] = con.execute("select count(*) from _validated where maybe_nonfinite").fetchall()
    if not hinted:
        return
    con.execute(
        "create or replace temp table _nonfinite as "
        + validation.nonfinite_numbers_sql("_validated")
    )
    con.execute(
        """
        update _validated set error = n.error from _nonfinite as n
        where _validated.line_number = n.line_number
        """
    )


def _first_errors(con, landed: LandedFile, limit: int) -> list[str]:
    rows = con.execute(
        "select line_number, error.field, error.reason from _validated where error is not null "
        "order by line_number limit ?",
        [limit],
    ).fetchall()
    return [
        f"{landed.file_name} line {line} field {field or '(record)'}: {reason}"
        for line, field, reason in rows
    ]


def _quarantine(con, source: str, params) -> int:
    """Move the rows of _validated with a non-NULL `error` into raw.quarantine."""
    return con.execute(
        """
        insert into raw.quarantine
        select $source, $source_file, line_number, error.field, error.reason, txt, $ingested_at
        from _validated where error is not null
        """,
        {
            "source": source,
            "source_file": params["source_file"],
            "ingested_at": params["ingested_at"],
        },
    ).fetchone()[0]


def _insert_valid(
    con, table: str, columns: tuple[str, ...], params, fast: bool = False, exact: bool = True
) -> int:
    column_list = ", ".join(columns)
    # the records the fast tier vouched for, and those the exact rules passed
    parts = (["select line_number, {c} from _fast where clean"] if fast else []) + (
        ["select line_number, {c} from _validated where error is null"] if exact else []
    )
    rows = " union all ".join(parts)
    return con.execute(
        f"""
        insert into raw.{table} (snapshot_date, source_file, line_number, {column_list}, ingested_at)
        select $snapshot_date, $source_file, line_number, {column_list}, $ingested_at
        from ({rows.format(c=column_list)})
        """,
        {k: params[k] for k in ("snapshot_date", "source_file", "ingested_at")},
    ).fetchone()[0]


class _JsonSource:
    def __init__(self, source: str, table: str, fields: tuple[validation.Field, ...], sql_builder):
        self.source, self.table, self.fields, self._sql = source, table, fields, sql_builder

    def load(self, con, landed: LandedFile, params: dict, result: FileResult) -> None:
        stream = _Stream(readers.iter_json_records(landed.path), readers.LINES_SCHEMA)
        # Fast tier over every record, exact rules over the few it cannot vouch for
        # (validation.fast_sql).
        stream.validate_into(
            con, lambda rel: validation.fast_sql(rel, self.source), params, table="_fast"
        )
        [(unclean,)] = con.execute("select count(*) from _fast where not clean").fetchall()
        # The exact rules are a large query: planning it costs ~25 ms, worth skipping for the
        # many files with nothing for it to do.
        exact = unclean > 0
        if exact:
            con.execute(
                "create or replace temp table _validated as "
                + self._sql(
                    "(select line_number, txt, raw, too_large, numeric_hint from _fast where not clean)"
                ),
                {"snapshot_end": params["snapshot_end"]},
            )
            _render_bytes(con)
            _flag_nonfinite_numbers(con)
            self.before_insert(con, params)
        columns = tuple(f.column for f in self.fields)
        result.records_loaded = _insert_valid(con, self.table, columns, params, fast=True, exact=exact)
        if exact:
            result.records_quarantined = _quarantine(con, self.source, params)
            result.first_errors = _first_errors(con, landed, MAX_REPORTED_ERRORS)
        self.after_insert(con, params, exact)

    def before_insert(self, con, params) -> None:
        pass

    def after_insert(self, con, params, exact: bool) -> None:
        pass


class _ReferralSource(_JsonSource):
    def __init__(self):
        super().__init__(
            "referrals",
            "referral_snapshots",
            validation.REFERRAL_FIELDS,
            validation.referral_validation_sql,
        )

    def before_insert(self, con, params) -> None:
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

    def after_insert(self, con, params, exact: bool) -> None:
        fields = tuple(f.column for f in validation.REGISTRATION_FIELDS)
        columns = ("referral_id", "referral_updated_date_time", "registration_index") + fields
        # registrations of clean records, typed by the fast tier; then those of the records the
        # exact rules passed
        con.execute(
            f"""
            insert into raw.referral_registrations
                (snapshot_date, source_file, line_number, {", ".join(columns)}, ingested_at)
            select $snapshot_date, $source_file, line_number, id, updated_date_time,
                idx - 1, {", ".join("g." + c for c in fields)}, $ingested_at
            from (
                select line_number, id, updated_date_time,
                    unnest(generate_series(1, len(registrations))) as idx,
                    unnest(registrations) as g
                from _fast where clean and len(registrations) > 0
            )
            """
            + (
                f"""
            union all
            select $snapshot_date, $source_file, r.line_number, {", ".join("r." + c for c in columns)},
                $ingested_at
            from _registrations as r
            inner join _validated as v on v.line_number = r.line_number and v.error is null
            """
                if exact
                else ""
            ),
            {k: params[k] for k in ("snapshot_date", "source_file", "ingested_at")},
        )


class _TrafficSource:
    source, table = "marketplace_traffic", "marketplace_traffic"
    columns = ("date", "organization_id", "offer_id", "page_views", "cta_clicks")

    def load(self, con, landed: LandedFile, params: dict, result: FileResult) -> None:
        # Traffic files are small (organizations x offers x days) and the validation query reads
        # its input twice, so the rows are collected first.
        rows = pa.Table.from_batches(list(readers.iter_csv_rows(landed.path)), readers.TRAFFIC_SCHEMA)
        con.register("_records", rows)
        con.execute(
            "create or replace temp table _validated as "
            + validation.traffic_validation_sql("_records"),
            {"snapshot_end": params["snapshot_end"]},
        )
        con.unregister("_records")
        _render_bytes(con)
        result.records_loaded = _insert_valid(con, self.table, self.columns, params)
        result.records_quarantined = _quarantine(con, self.source, params)
        result.first_errors = _first_errors(con, landed, MAX_REPORTED_ERRORS)


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
