"""Stream a landed file as Arrow batches of (line_number, raw bytes).

Lines are read in large chunks (`readlines(hint)` runs in C) and handed to DuckDB as one Arrow
batch each, so memory stays bounded by the chunk size and no Python code runs per record:
decoding, JSON parsing and validation all happen in DuckDB (see validation.py).
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Iterator
from pathlib import Path

import orjson
import pyarrow as pa

CHUNK_BYTES = 32 * 1024 * 1024
LINES_SCHEMA = pa.schema([("line_number", pa.int64()), ("raw", pa.binary())])


class UnreadableFile(Exception):
    """The file as a whole cannot be read (empty, not UTF-8 throughout, truncated gzip, ...)."""


def _open(path: Path) -> io.BufferedIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _guard(read):
    """Map low-level read errors to UnreadableFile with a reason a person understands."""
    try:
        return read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise UnreadableFile(f"compressed stream is corrupt or truncated ({exc})") from exc
    except OSError as exc:
        raise UnreadableFile(f"cannot read file ({exc})") from exc


def _check_encoding(head: bytes) -> None:
    if not head.strip():
        raise UnreadableFile("file is empty")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4096]:
        raise UnreadableFile("file is not UTF-8 (UTF-16 byte-order mark or NUL bytes)")


def _batch(first_line: int, lines: list[bytes]) -> pa.RecordBatch:
    numbers = pa.array(range(first_line, first_line + len(lines)), pa.int64())
    return pa.RecordBatch.from_arrays([numbers, pa.array(lines, pa.binary())], schema=LINES_SCHEMA)


def _is_list_form(first_line: bytes) -> bool:
    """The API's list form `{"value": [...]}`: one document, possibly pretty-printed."""
    stripped = first_line.strip()
    if stripped == b"{":
        return True
    try:
        doc = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return False
    return isinstance(doc, dict) and isinstance(doc.get("value"), list) and "id" not in doc


def iter_json_lines(path: Path) -> Iterator[pa.RecordBatch]:
    """Batches of (line_number, raw) for a JSONL file or a list-form document.

    In the list form each element of `value` is one record whose "line" is its 1-based index.
    List-form files are API pages (small), so that document is parsed whole.
    """
    with _open(path) as handle:
        head = _guard(lambda: handle.peek(65536) if hasattr(handle, "peek") else b"")
        _check_encoding(head)
        first_line = head.split(b"\n", 1)[0]
        if _is_list_form(first_line):
            yield from _list_form_batches(_guard(handle.read))
            return
        line_number = 1
        while True:
            lines = _guard(lambda: handle.readlines(CHUNK_BYTES))
            if not lines:
                return
            yield _batch(line_number, lines)
            line_number += len(lines)


def _list_form_batches(content: bytes) -> Iterator[pa.RecordBatch]:
    try:
        doc = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise UnreadableFile(f"list-form document is not valid JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("value"), list):
        raise UnreadableFile('JSON document is not of the list form {"value": [...]}')
    elements = [orjson.dumps(element) for element in doc["value"]]
    if elements:
        yield _batch(1, elements)


TRAFFIC_COLUMNS = ("date", "organizationId", "offerId", "pageViews", "ctaClicks")
TRAFFIC_SCHEMA = pa.schema(
    [
        ("line_number", pa.int64()),
        ("raw", pa.binary()),
        ("field_count", pa.int32()),
        ("header_width", pa.int32()),
    ]
    + [(name, pa.string()) for name in TRAFFIC_COLUMNS]
)


def iter_csv_rows(path: Path) -> Iterator[pa.RecordBatch]:
    """Batches of traffic rows with the five contract columns matched by header name.

    Each batch holds the raw line (for quarantine), the number of fields the CSV parser found
    and the header's width (a row with another count is not valid CSV) and the five fields as text;
    typing and validation happen in DuckDB. Multi-line quoted fields are not part of this format.
    """
    with _open(path) as handle:
        head = _guard(lambda: handle.peek(65536))
        _check_encoding(head)
        header_line = _guard(handle.readline)
        try:
            header = next(csv.reader([header_line.decode("utf-8")]))
        except (UnicodeDecodeError, StopIteration) as exc:
            raise UnreadableFile("header row is not valid UTF-8 CSV") from exc
        header = [name.strip().lstrip("\ufeff") for name in header]
        missing = [name for name in TRAFFIC_COLUMNS if name not in header]
        if missing:
            raise UnreadableFile(f"header lacks column(s) {', '.join(missing)}")
        positions = [header.index(name) for name in TRAFFIC_COLUMNS]
        line_number = 2
        while True:
            lines = _guard(lambda: handle.readlines(CHUNK_BYTES))
            if not lines:
                return
            yield _csv_batch(line_number, lines, positions, len(header))
            line_number += len(lines)


def _csv_batch(first_line: int, lines: list[bytes], positions: list[int], width: int):
    # One reader call per line keeps rows aligned with lines even when a quote is left open
    # (csv would otherwise swallow the following lines). Traffic files are small
    # (organizations x offers x days), so this per-row call is not a hot path.
    rows = [_split_csv_line(line.decode("utf-8", "replace")) for line in lines]
    columns = [[row[p] if len(row) == width else None for row in rows] for p in positions]
    arrays = [
        pa.array(range(first_line, first_line + len(lines)), pa.int64()),
        pa.array(lines, pa.binary()),
        pa.array([len(row) for row in rows], pa.int32()),
        pa.array([width] * len(rows), pa.int32()),
    ] + [pa.array(column, pa.string()) for column in columns]
    return pa.RecordBatch.from_arrays(arrays, schema=TRAFFIC_SCHEMA)


def _split_csv_line(text: str) -> list[str]:
    """Fields of one CSV line ([] when blank); a line the parser rejects becomes one field, so it
    fails the field-count check and is quarantined as invalid CSV."""
    try:
        return next(csv.reader([text], strict=True), [])
    except csv.Error:
        return [text]
