"""Stream a landed file as Arrow batches of records: (line_number, raw bytes, too_large).

Memory stays bounded whatever the file holds: blocks of BLOCK_BYTES are read (gzip inflated on
the fly), records are cut at newlines with numpy (no Python code per record) and handed to DuckDB
as zero-copy Arrow views of the block; a record longer than MAX_RECORD_BYTES is never assembled,
only its first bytes are kept for the quarantine. Decoding, JSON parsing and validation all
happen in DuckDB (validation.py).

Two layouts of a JSON snapshot are accepted (raw-contract.md section 1 and 4):
- JSON lines: one record per line; blank lines are not records; CRLF line ends are line ends;
- the API's list form `{"value": [...], "@odata.nextLink": ...}` of any size and layout: each
  element of `value` is one record whose "line" is its 1-based index.
A UTF-8 byte-order mark at the start is ignored in both.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import re
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa

from orchestration.contract import TRAFFIC_COLUMNS

# A record (one line, or one element of the list form) larger than this is bad as a whole.
MAX_RECORD_BYTES = 16 * 1024 * 1024
# Read size; below MAX_RECORD_BYTES so a line that fits in one block is never too large.
BLOCK_BYTES = 8 * 1024 * 1024
# How much of a too-large record the quarantine keeps.
TOO_LARGE_PREFIX = 1024
UTF8_BOM = b"\xef\xbb\xbf"

# `txt` is the record as text when its whole batch is valid UTF-8 (checked by Arrow, so DuckDB
# need not decode it), else NULL and `raw` holds the bytes. `numeric_hint` marks records whose text
# may hold a number a double cannot hold (1e400): cheaper to find here, with numpy over the
# block, than with a regular expression over every record.
LINES_SCHEMA = pa.schema(
    [
        ("line_number", pa.int64()),
        ("txt", pa.large_string()),
        ("raw", pa.large_binary()),
        ("too_large", pa.bool_()),
        ("numeric_hint", pa.bool_()),
    ]
)


class UnreadableFile(Exception):
    """The file as a whole cannot be read (empty, UTF-16, truncated gzip, ...)."""


def open_binary(path: Path) -> io.BufferedIOBase:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _guarded(read: Callable[[], bytes]) -> Callable[[], bytes]:
    """Map low-level read errors to UnreadableFile with a reason a person understands."""

    def call() -> bytes:
        try:
            return read()
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise UnreadableFile(f"compressed stream is corrupt or truncated ({exc})") from exc
        except OSError as exc:
            raise UnreadableFile(f"cannot read file ({exc})") from exc

    return call


class _Blocks:
    """The file's bytes as blocks, with the byte-order mark removed and the encoding checked."""

    def __init__(self, handle: io.BufferedIOBase):
        self._read = _guarded(lambda: handle.read(BLOCK_BYTES))
        first = self._read()
        if first.startswith(UTF8_BOM):
            first = first[len(UTF8_BOM) :]
        _check_encoding(first)
        self.first = first

    def __iter__(self) -> Iterator[bytes]:
        block = self.first
        while block:
            yield block
            block = self._read()


def _check_encoding(head: bytes) -> None:
    if not head.strip():
        raise UnreadableFile("file is empty")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableFile("file is not UTF-8 (UTF-16 byte-order mark)")
    sample = head[:4096]
    # UTF-16 without a byte-order mark: every other byte of ASCII text is NUL. A stray NUL byte
    # only makes its own line bad (raw-contract.md section 4).
    if len(sample) >= 8 and sample.count(0) * 3 >= len(sample):
        raise UnreadableFile("file is not UTF-8 (NUL bytes between characters: UTF-16?)")


_LIST_FORM = re.compile(rb'\s*\{\s*"(?:value|@odata\.[^"]*)"\s*:')


def is_list_form(head: bytes) -> bool:
    """The API's list form starts with its `value` key or one of its `@odata.*` keys; a JSON
    lines record (the body of one referral or solution) never does."""
    return _LIST_FORM.match(head) is not None


def iter_json_records(path: Path) -> Iterator[pa.RecordBatch]:
    """Record batches of a JSON snapshot in either layout."""
    with open_binary(path) as handle:
        blocks = _Blocks(handle)
        if is_list_form(blocks.first):
            yield from _list_form_batches(iter(blocks))
        else:
            yield from iter_line_batches(iter(blocks))


# ---------------------------------------------------------------------------------------------
# JSON lines (and CSV rows): cut at newlines


def _batch(numbers, raws: pa.Array, too_large, hints=None) -> pa.RecordBatch:
    count = len(raws)
    try:
        # the same buffers viewed as text: no copy; validate() checks every value is UTF-8
        txt = pa.LargeStringArray.from_buffers(count, raws.buffers()[1], raws.buffers()[2], None, 0, raws.offset)
        txt.validate(full=True)
        raw = pa.nulls(count, pa.large_binary())
    except pa.ArrowInvalid:
        txt, raw = pa.nulls(count, pa.large_string()), raws
    if hints is None:
        hints = np.zeros(count, dtype=bool)
    return pa.RecordBatch.from_arrays(
        [pa.array(numbers, pa.int64()), txt, raw, pa.array(too_large, pa.bool_()),
         pa.array(hints, pa.bool_())],
        schema=LINES_SCHEMA,
    )


_NUMBER_CHARS = set(b"0123456789.-+")
_NUMBER_CONTEXT = set(b":,[ \t\r\n")


def _numeric_hints(data: bytes, start: int, line_ends: np.ndarray) -> np.ndarray:
    """Per line of data[start:] (ending at start + line_ends, exclusive), whether it may hold a
    number with a 3-digit exponent outside a string (1e400: a double cannot hold it). NaN and
    Infinity are found by validation itself. Conservative: the exact rules judge marked lines."""
    hints = np.zeros(len(line_ends), dtype=bool)
    if len(line_ends) == 0:
        return hints
    end = start + int(line_ends[-1])
    a = np.frombuffer(data, np.uint8, count=end - start, offset=start)
    if len(a) < 5:
        return hints
    # an e/E right after a digit: whole-block passes, no per-byte Python
    digit = (a - 48) < 10
    e = np.flatnonzero(((a[1:-3] | 0x20) == 101) & digit[:-4]) + 1
    first = e + 1 + (a[e + 1] == 43)  # after an optional '+'
    keep = first + 2 < len(a)
    e, first = e[keep], first[keep]
    e = e[digit[first] & digit[first + 1] & digit[first + 2]]
    positions = []
    for pos in (e + start).tolist():  # few: mostly hex ids, ruled out by what precedes them
        begin = pos - 1
        while begin > start and data[begin - 1] in _NUMBER_CHARS:
            begin -= 1
        if begin == start or data[begin - 1] in _NUMBER_CONTEXT:
            positions.append(pos)
    if positions:
        hints[np.searchsorted(line_ends, np.array(positions) - start, side="right")] = True
    return hints


def _prefix(pieces: list[bytes]) -> bytes:
    """The first TOO_LARGE_PREFIX bytes of a line held as pieces (without joining them all)."""
    out = b""
    for piece in pieces:
        out += piece[: TOO_LARGE_PREFIX - len(out)]
        if len(out) >= TOO_LARGE_PREFIX:
            break
    return out


def iter_line_batches(blocks: Iterator[bytes], first_line: int = 1) -> Iterator[pa.RecordBatch]:
    """One batch per block: every line that ends in it (line terminator included; validation
    strips it). A line spanning blocks is carried over; one over MAX_RECORD_BYTES is dropped
    while read and stands in the batch as its first bytes with too_large set."""
    line_number = first_line
    carry: list[bytes] = []  # pieces of the line that started in an earlier block
    carried = 0
    oversize_prefix: bytes | None = None
    for block in blocks:
        newlines = np.flatnonzero(np.frombuffer(block, np.uint8) == 10)
        if len(newlines) == 0:
            carried += len(block)
            if oversize_prefix is None:
                if carried > MAX_RECORD_BYTES:  # drop the line's bytes, keep its start
                    oversize_prefix = _prefix(carry + [block])
                    carry = []
                else:
                    carry.append(block)
            continue
        head_end = int(newlines[0]) + 1
        # the line completed by this block's first newline
        if oversize_prefix is not None or carried + head_end > MAX_RECORD_BYTES:
            first = (oversize_prefix or _prefix(carry + [block]), True)
        else:
            first = (b"".join(carry) + block[:head_end], False)
        # the lines wholly inside the block: a zero-copy view with offsets at the newlines
        offsets = (newlines + 1).astype(np.int64)
        inner = pa.LargeBinaryArray.from_buffers(
            pa.large_binary(),
            len(offsets) - 1,
            [None, pa.py_buffer(offsets - head_end), pa.py_buffer(memoryview(block)[head_end:])],
        )
        raws = pa.concat_arrays([pa.array([first[0]], pa.large_binary()), inner])
        count = len(offsets)
        too_large = np.zeros(count, dtype=bool)
        too_large[0] = first[1]
        hints = np.zeros(count, dtype=bool)
        hints[1:] = _numeric_hints(block, head_end, offsets[1:] - head_end)
        hints[0] = not first[1] and _numeric_hints(first[0], 0, np.array([len(first[0])]))[0]
        yield _batch(np.arange(line_number, line_number + count), raws, too_large, hints)
        line_number += count
        tail = memoryview(block)[int(offsets[-1]) :]
        carry, carried, oversize_prefix = [bytes(tail)] if len(tail) else [], len(tail), None
    if carried:  # the last line has no terminator
        if oversize_prefix is not None or carried > MAX_RECORD_BYTES:
            last = (oversize_prefix or _prefix(carry), True)
        else:
            last = (b"".join(carry), False)
        hint = not last[1] and _numeric_hints(last[0], 0, np.array([len(last[0])]))[0]
        yield _batch([line_number], pa.array([last[0]], pa.large_binary()), [last[1]], [hint])


# ---------------------------------------------------------------------------------------------
# The list form: {"value": [ ... ], "@odata.nextLink": ...}

_WS = re.compile(r"[ \t\r\n]*")
_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"[ \t\r\n]*:[ \t\r\n]*', re.S)
_STRING_BODY = re.compile(r'(?:[^"\\]|\\.)*', re.S)
_PLAIN = re.compile(r'[^"\[\]{},]+')
_DECODER = json.JSONDecoder(parse_constant=lambda name: None)  # NaN etc.: DuckDB judges them


class _Text:
    """Incrementally decoded text of the document (invalid UTF-8 bytes kept as surrogates, so
    they make only their own element bad), with a cursor."""

    def __init__(self, blocks: Iterator[bytes]):
        self._blocks = blocks
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        self.buf, self.pos, self.eof = "", 0, False

    def more(self) -> bool:
        """Append the next block; False at the end of the file."""
        if self.eof:
            return False
        block = next(self._blocks, None)
        if block is None:
            self.eof = True
            self.buf = self.buf[self.pos :] + self._decoder.decode(b"", final=True)
        else:
            self.buf = self.buf[self.pos :] + self._decoder.decode(block)
        self.pos = 0
        return True

    def skip_ws(self) -> str:
        """The next non-blank character ('' at the end of the document)."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""


class _ValueEnd:
    """Finds where one JSON value ends, fed piece by piece, without holding the value: depth of
    brackets outside strings, string state carried between pieces."""

    def __init__(self):
        self.depth, self.in_string, self.escaped, self.seen = 0, False, False, False

    def feed(self, text: str, pos: int) -> int | None:
        """Index just past the value's end in `text`, or None when it goes on."""
        n = len(text)
        while pos < n:
            if self.in_string:
                if self.escaped:
                    pos, self.escaped = pos + 1, False
                    continue
                pos = _STRING_BODY.match(text, pos).end()
                if pos >= n:
                    return None
                if text[pos] == "\\":  # an escape cut by the end of the piece
                    pos, self.escaped = pos + 1, True
                    continue
                pos, self.in_string = pos + 1, False  # closing quote
                if self.depth == 0:
                    return pos
                continue
            char = text[pos]
            if char == '"':
                self.in_string, self.seen = True, True
                pos += 1
            elif char in "[{":
                self.depth, self.seen = self.depth + 1, True
                pos += 1
            elif char in "]}":
                if self.depth == 0:  # the enclosing array closes: a scalar value ended
                    return pos
                self.depth -= 1
                pos += 1
                if self.depth == 0:
                    return pos
            elif char == ",":
                if self.depth == 0 and self.seen:
                    return pos
                pos += 1
            else:
                pos = _PLAIN.match(text, pos).end()
                self.seen = True
        return None


def _list_form_batches(blocks: Iterator[bytes], batch_size: int = 4096) -> Iterator[pa.RecordBatch]:
    text = _Text(blocks)
    text.more()
    if text.skip_ws() != "{":
        raise UnreadableFile('list-form document does not start with "{"')
    text.pos += 1
    found_value = False
    while True:
        char = text.skip_ws()
        if char == "}":
            break
        if char == ",":
            text.pos += 1
            continue
        key = _read_key(text)
        if key == "value" and not found_value:
            if text.skip_ws() != "[":
                raise UnreadableFile('list-form document: "value" is not an array')
            text.pos += 1
            found_value = True
            yield from _elements(text, batch_size)
        else:
            _skip_value(text)  # @odata.* members: not records
    if not found_value:
        raise UnreadableFile('list-form document has no "value" array')


def _read_key(text: _Text) -> str:
    while True:
        match = _KEY.match(text.buf, text.pos)
        if match and match.end() < len(text.buf):
            text.pos = match.end()
            return match.group(1)
        if len(text.buf) - text.pos > MAX_RECORD_BYTES or not text.more():
            raise UnreadableFile("list-form document: expected a member name")


def _skip_value(text: _Text) -> None:
    scanner = _ValueEnd()
    while True:
        end = scanner.feed(text.buf, text.pos)
        if end is not None:
            text.pos = end
            return
        text.pos = len(text.buf)
        if not text.more():
            raise UnreadableFile("list-form document ends inside a member")


def _elements(text: _Text, batch_size: int) -> Iterator[pa.RecordBatch]:
    numbers: list[int] = []
    raws: list[bytes] = []
    flags: list[bool] = []
    index = 0
    while True:
        char = text.skip_ws()
        if char == "":
            raise UnreadableFile("list-form document ends inside the value array")
        if char == "]":
            text.pos += 1
            break
        if char == ",":
            text.pos += 1
            continue
        index += 1
        raw, too_large = _element(text)
        numbers.append(index)
        raws.append(raw)
        flags.append(too_large)
        if len(numbers) >= batch_size:
            yield _element_batch(numbers, raws, flags)
            numbers, raws, flags = [], [], []
    if numbers:
        yield _element_batch(numbers, raws, flags)


def _element_batch(numbers, raws, flags) -> pa.RecordBatch:
    hints = [
        not big and bool(_numeric_hints(raw, 0, np.array([len(raw)]))[0])
        for raw, big in zip(raws, flags, strict=True)
    ]
    return _batch(numbers, pa.array(raws, pa.large_binary()), flags, hints)


def _encode(piece: str) -> bytes:
    return piece.encode("utf-8", "surrogateescape")


def _element(text: _Text) -> tuple[bytes, bool]:
    """The next element's original text (bytes) and whether it was too large."""
    start = text.pos
    # Fast path: a well-formed element is parsed in C and its exact source text kept.
    while True:
        try:
            _, end = _DECODER.raw_decode(text.buf, start)
            if end - start > MAX_RECORD_BYTES:
                text.pos = end
                return _encode(text.buf[start : start + TOO_LARGE_PREFIX]), True
            if end < len(text.buf) or text.eof:
                text.pos = end
                return _encode(text.buf[start:end]), False
        except json.JSONDecodeError as exc:
            if exc.pos < len(text.buf) - 1 or text.eof:
                break  # malformed within what we have: find its end by structure
        if len(text.buf) - start > MAX_RECORD_BYTES:
            break
        text.buf, text.pos = text.buf[start:], 0
        start = 0
        text.more()
    # Slow path: malformed or huge element; its end is found without parsing it.
    scanner = _ValueEnd()
    kept: list[str] = []
    size = 0
    pos = start
    while True:
        end = scanner.feed(text.buf, pos)
        piece = text.buf[start : end if end is not None else len(text.buf)]
        size += len(piece)
        if size <= MAX_RECORD_BYTES:
            kept.append(piece)
        elif sum(map(len, kept)) < TOO_LARGE_PREFIX:
            kept.append(piece[:TOO_LARGE_PREFIX])
        if end is not None:
            text.pos = end
            break
        text.pos = len(text.buf)
        if not text.more():
            break  # the document ends inside it: what was read is the bad element
        start = pos = 0
    raw = "".join(kept)
    if size > MAX_RECORD_BYTES:
        return _encode(raw[:TOO_LARGE_PREFIX]), True
    return _encode(raw.rstrip(" \t\r\n")), False


# ---------------------------------------------------------------------------------------------
# Marketplace traffic CSV

TRAFFIC_SCHEMA = pa.schema(
    [
        ("line_number", pa.int64()),
        ("raw", pa.large_binary()),
        ("too_large", pa.bool_()),
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
    with open_binary(path) as handle:
        lines = iter_line_batches(iter(_Blocks(handle)))
        header: list[str] | None = None
        positions: list[int] = []
        for batch in lines:
            numbers = batch.column("line_number").to_pylist()
            raws = [
                raw if raw is not None else (txt or "").encode("utf-8")
                for txt, raw in zip(batch.column("txt").to_pylist(), batch.column("raw").to_pylist(), strict=True)
            ]
            too_large = batch.column("too_large").to_pylist()
            if header is None:
                header = _header(raws[0], too_large[0])
                missing = [name for name in TRAFFIC_COLUMNS if name not in header]
                if missing:
                    raise UnreadableFile(f"header lacks column(s) {', '.join(missing)}")
                positions = [header.index(name) for name in TRAFFIC_COLUMNS]
                numbers, raws, too_large = numbers[1:], raws[1:], too_large[1:]
                if not numbers:
                    continue
            yield _csv_batch(numbers, raws, too_large, positions, len(header))


def _header(raw: bytes, too_large: bool) -> list[str]:
    if too_large:
        raise UnreadableFile("header row is too large")
    try:
        fields = next(csv.reader([raw.decode("utf-8").rstrip("\r\n")]))
    except (UnicodeDecodeError, StopIteration) as exc:
        raise UnreadableFile("header row is not valid UTF-8 CSV") from exc
    return [name.strip() for name in fields]


def _csv_batch(numbers, raws, too_large, positions: list[int], width: int) -> pa.RecordBatch:
    # One reader call per line keeps rows aligned with lines even when a quote is left open
    # (csv would otherwise swallow the following lines). Traffic files are small
    # (organizations x offers x days), so this per-row call is not a hot path.
    rows = [
        [] if big else _split_csv_line(raw.decode("utf-8", "replace").rstrip("\r\n"))
        for raw, big in zip(raws, too_large, strict=True)
    ]
    columns = [[row[p] if len(row) == width else None for row in rows] for p in positions]
    arrays = [
        pa.array(numbers, pa.int64()),
        pa.array(raws, pa.large_binary()),
        pa.array(too_large, pa.bool_()),
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
