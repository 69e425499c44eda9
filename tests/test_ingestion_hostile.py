"""Files shaped the way the world sends them (raw-contract.md section 4, as amended): API pages
in the list form of any size and layout, byte-order marks, CRLF, NUL bytes, huge records, numbers
JSON does not allow, out-of-range timestamps and counts, and files whose loading fails in ways
nobody anticipated. Each test builds the file and asserts exactly which records land and which
are quarantined with which field and reason."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import duckdb
import orjson
import pytest

from orchestration.ingestion import landing, loader, readers
from tests.conftest import referral, solution, write_csv, write_jsonl

SNAPSHOT = "2026-01-05"


def load_dir(raw_dir: Path, con: duckdb.DuckDBPyConnection | None = None):
    con = con or duckdb.connect()
    return con, loader.load_files(con, landing.discover(raw_dir).files)


def quarantined(con) -> list[tuple]:
    return con.execute(
        "select file_name, line_number, field, reason from raw.quarantine order by all"
    ).fetchall()


def loaded_ids(con) -> list[tuple]:
    return con.execute(
        "select id, line_number from raw.referral_snapshots order by line_number"
    ).fetchall()


def referral_path(raw_dir: Path, suffix: str = ".jsonl") -> Path:
    path = raw_dir / "referrals" / f"{SNAPSHOT}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# --- the list form -----------------------------------------------------------------------------


def _page(n: int, **extra) -> dict:
    return {"value": [referral(id=f"r{i}") for i in range(1, n + 1)], **extra}


def test_compact_api_page_of_100_referrals_loads_every_record(raw_dir):
    """One line of ~100 KB, far beyond any prefix a detector might read."""
    doc = {"@odata.count": 100, **_page(100), "@odata.nextLink": "https://api/next?$skip=100"}
    text = orjson.dumps(doc)
    assert len(text) > 65536 and b"\n" not in text
    referral_path(raw_dir).write_bytes(text)
    con, [result] = load_dir(raw_dir)
    assert (result.status, result.records_loaded, result.records_quarantined) == ("loaded", 100, 0)
    assert loaded_ids(con) == [(f"r{i}", i) for i in range(1, 101)]


@pytest.mark.parametrize(
    "layout",
    ["bom", "leading blank line", "one element per line", "pretty", "odata keys first", "gzip"],
)
def test_list_form_is_recognised_whatever_its_layout(raw_dir, layout):
    doc = _page(3, **{"@odata.nextLink": None})
    if layout == "one element per line":
        body = b'{"value": [\n' + b",\n".join(orjson.dumps(r) for r in doc["value"]) + b"\n]}\n"
    elif layout == "pretty":
        body = orjson.dumps(doc, option=orjson.OPT_INDENT_2)
    elif layout == "odata keys first":
        body = orjson.dumps({"@odata.context": "x", "@odata.count": 3, "value": doc["value"]})
    else:
        body = orjson.dumps(doc)
    if layout == "bom":
        body = readers.UTF8_BOM + body
    if layout == "leading blank line":
        body = b"\r\n  \n" + body
    path = referral_path(raw_dir, ".jsonl.gz" if layout == "gzip" else ".jsonl")
    path.write_bytes(gzip.compress(body) if layout == "gzip" else body)
    con, [result] = load_dir(raw_dir)
    assert quarantined(con) == []
    assert loaded_ids(con) == [("r1", 1), ("r2", 2), ("r3", 3)]


def test_bad_elements_of_a_list_form_are_quarantined_by_index(raw_dir):
    good = [orjson.dumps(referral(id=f"r{i}")).decode() for i in range(1, 4)]
    nan = orjson.dumps(referral(id="nan")).decode().replace('"dealValue":1000', '"dealValue":NaN')
    elements = [good[0], '{"id": "broken" "x"}', "5", nan, good[1], '"text"', good[2]]
    referral_path(raw_dir).write_text('{"value": [' + ", ".join(elements) + "]}")
    con, [result] = load_dir(raw_dir)
    name = f"referrals/{SNAPSHOT}.jsonl"
    assert quarantined(con) == [
        (name, 2, None, "not valid JSON"),
        (name, 3, None, "not a JSON object"),
        (name, 4, "details.dealValue", "number that JSON does not allow or a double cannot hold: NaN"),
        (name, 6, None, "not a JSON object"),
    ]
    assert loaded_ids(con) == [("r1", 1), ("r2", 5), ("r3", 7)]
    # the quarantine keeps each bad element's own text
    assert con.execute(
        "select raw_record from raw.quarantine where line_number = 2"
    ).fetchone() == ('{"id": "broken" "x"}',)


def test_too_large_list_element_is_one_bad_record(raw_dir):
    big = referral(id="big", name="x" * (readers.MAX_RECORD_BYTES + 10))
    doc = {"value": [referral(id="a"), big, referral(id="b")]}
    referral_path(raw_dir).write_bytes(orjson.dumps(doc))
    con, [result] = load_dir(raw_dir)
    assert [row[1:] for row in quarantined(con)] == [(2, None, "record too large (over 16 MiB)")]
    assert loaded_ids(con) == [("a", 1), ("b", 3)]
    # only the record's first bytes are kept
    [(raw,)] = con.execute("select raw_record from raw.quarantine").fetchall()
    assert raw.startswith('{"id":"big"') and len(raw) <= readers.TOO_LARGE_PREFIX


# --- JSON lines --------------------------------------------------------------------------------


def test_bom_and_crlf_jsonl(raw_dir):
    lines = [orjson.dumps(referral(id="a")), orjson.dumps(referral(id="b"))]
    referral_path(raw_dir).write_bytes(readers.UTF8_BOM + b"\r\n".join(lines) + b"\r\n")
    con, _ = load_dir(raw_dir)
    assert quarantined(con) == [] and loaded_ids(con) == [("a", 1), ("b", 2)]


def test_a_nul_byte_early_in_a_file_makes_only_its_line_bad(raw_dir):
    bad = orjson.dumps(referral(id="nul")).replace(b'"Contoso"', b'"Con\x00toso"')
    lines = [orjson.dumps(referral(id="a")), bad, orjson.dumps(referral(id="b"))]
    referral_path(raw_dir).write_bytes(b"\n".join(lines))
    con, [result] = load_dir(raw_dir)
    assert result.status == "loaded"
    assert [row[1:] for row in quarantined(con)] == [(2, None, "contains a NUL byte")]
    assert loaded_ids(con) == [("a", 1), ("b", 3)]


def test_gzip_inflating_to_one_huge_line_is_one_bad_record_in_bounded_memory(raw_dir):
    """40 MiB of one line (a gzip bomb in miniature): one 'record too large', the next line loads,
    and the reader never holds the line."""
    huge = b'{"id": "huge", "name": "' + b"a" * (40 * 1024 * 1024) + b'"}'
    body = huge + b"\n" + orjson.dumps(referral(id="after")) + b"\n"
    path = referral_path(raw_dir, ".jsonl.gz")
    path.write_bytes(gzip.compress(body, compresslevel=1))
    del huge, body
    tracemalloc.start()
    batches = list(readers.iter_json_records(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 3 * readers.MAX_RECORD_BYTES  # blocks and one record's worth, not 40 MiB+
    rows = [
        r for b in batches
        for r in zip(b.column("line_number").to_pylist(), b.column("too_large").to_pylist(), strict=True)
    ]
    assert rows == [(1, True), (2, False)]
    con, _ = load_dir(raw_dir)
    assert [row[1:] for row in quarantined(con)] == [(1, None, "record too large (over 16 MiB)")]
    assert loaded_ids(con) == [("after", 2)]


# --- numbers and timestamps --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, field, atom",
    [
        ('"dealValue":NaN', "details.dealValue", "NaN"),
        ('"dealValue":Infinity', "details.dealValue", "Infinity"),
        ('"dealValue":1e400', "details.dealValue", "1e400"),
        ('"dealValue":-Infinity', "details.dealValue", "-Infinity"),
    ],
)
def test_numbers_json_does_not_allow_or_a_double_cannot_hold(raw_dir, text, field, atom):
    bad = orjson.dumps(referral(id="bad")).decode().replace('"dealValue":1000', text)
    referral_path(raw_dir).write_text(
        "\n".join([orjson.dumps(referral(id="a")).decode(), bad])
    )
    con, _ = load_dir(raw_dir)
    [(_, line, got_field, reason)] = quarantined(con)
    assert (line, got_field) == (2, field) and reason.endswith(atom)
    assert loaded_ids(con) == [("a", 1)]


@pytest.mark.parametrize("atom", ["NaN", "Infinity", "1e400", "-2.5E+400", "[1, 1e999]"])
def test_a_number_out_of_range_in_a_field_the_pipeline_does_not_use_is_still_bad(raw_dir, atom):
    record = referral(id="bad", customerProfile={"address": {"country": "NL"}, "size": 1})
    bad = orjson.dumps(record).decode().replace('"size":1', f'"size":{atom}')
    good = orjson.dumps(referral(id="ok", name="NaN Corp 4e100 deal")).decode()  # text, not numbers
    referral_path(raw_dir).write_text(good + "\n" + bad + "\n")
    con, _ = load_dir(raw_dir)
    [(_, line, field, reason)] = quarantined(con)
    assert (line, field) == (2, "customerProfile.size" + ("[1]" if atom.startswith("[") else ""))
    assert reason.startswith("number that JSON does not allow or a double cannot hold")
    assert loaded_ids(con) == [("ok", 1)]


def test_large_but_finite_numbers_and_uuid_like_exponents_load(raw_dir):
    record = referral(id="4e400000-0000", details={"dealValue": 1.5e308, "currency": "USD"})
    referral_path(raw_dir).write_bytes(orjson.dumps(record))
    con, _ = load_dir(raw_dir)
    assert quarantined(con) == []
    assert con.execute("select id, deal_value from raw.referral_snapshots").fetchall() == [
        ("4e400000-0000", 1.5e308)
    ]


@pytest.mark.parametrize(
    "value, reason",
    [
        ("0000-01-01T00:00:00Z", "before 1970-01-01"),
        ("1969-12-31T23:59:59Z", "before 1970-01-01"),
        ("2026-01-02T09:00:00+15:00", "outside +-14:00"),
        ("2026-01-02T09:00:00-1430", "outside +-14:00"),
    ],
)
def test_timestamps_out_of_range_are_bad(raw_dir, value, reason):
    referral_path(raw_dir).write_bytes(orjson.dumps(referral(id="bad", createdDateTime=value)))
    con, _ = load_dir(raw_dir)
    [(_, _, field, got)] = quarantined(con)
    assert field == "createdDateTime" and reason in got


def test_timestamps_at_the_edges_of_the_range_load(raw_dir):
    record = referral(
        createdDateTime="1970-01-01T00:00:00Z",
        acceptedDateTime="2026-01-02T09:00:00+14:00",  # = 2026-01-01T19:00Z
        expirationDateTime="9999-12-31T23:59:59Z",  # a deadline may lie far ahead
    )
    referral_path(raw_dir).write_bytes(orjson.dumps(record))
    con, _ = load_dir(raw_dir)
    assert quarantined(con) == []
    assert con.execute(
        "select cast(created_date_time as varchar), cast(accepted_date_time as varchar) "
        "from raw.referral_snapshots"
    ).fetchone() == ("1970-01-01 00:00:00", "2026-01-01 19:00:00")


# --- CSV counts --------------------------------------------------------------------------------


def test_csv_counts_must_lie_below_2_pow_53(raw_dir):
    rows = [
        f"2026-01-03,org-a,offer-1,{2**53 - 1},0",
        "2026-01-03,org-a,offer-2,99999999999999999999,1",
        f"2026-01-03,org-a,offer-3,5,{2**53}",
        f"2026-01-03,org-a,offer-4,5,{'9' * 60}",
    ]
    path = write_csv(raw_dir / "marketplace_traffic" / f"{SNAPSHOT}.csv", rows)
    path.write_bytes(readers.UTF8_BOM + path.read_bytes().replace(b"\n", b"\r\n"))  # as Excel saves
    con, [result] = load_dir(raw_dir)
    assert result.status == "loaded"
    assert [(line, field) for _, line, field, _ in quarantined(con)] == [
        (3, "pageViews"), (4, "ctaClicks"), (5, "ctaClicks")
    ]
    assert all("too large" in reason for *_, reason in quarantined(con))
    assert con.execute("select offer_id, page_views from raw.marketplace_traffic").fetchall() == [
        ("offer-1", 2**53 - 1)
    ]


# --- the per-file error boundary ---------------------------------------------------------------


def _three_sources(raw_dir: Path) -> None:
    write_jsonl(raw_dir / "referrals" / f"{SNAPSHOT}.jsonl", [referral()])
    write_jsonl(raw_dir / "solutions" / f"{SNAPSHOT}.jsonl", [solution()])
    write_jsonl(raw_dir / "solutions" / "2026-01-12.jsonl", [solution(id="SOL-2")])
    write_csv(raw_dir / "marketplace_traffic" / f"{SNAPSHOT}.csv", ["2026-01-03,org-a,offer-1,10,1"])


def test_an_unanticipated_error_fails_only_its_file(raw_dir, monkeypatch):
    _three_sources(raw_dir)
    real = loader._LOADERS["solutions"].load

    def faulty(con, landed, params, result):
        if landed.file_name == "solutions/2026-01-12.jsonl":
            real(con, landed, params, result)  # rows written, then a bug strikes
            raise RuntimeError("injected fault")
        return real(con, landed, params, result)

    monkeypatch.setattr(loader._LOADERS["solutions"], "load", faulty)
    con, results = load_dir(raw_dir)
    status = {r.file_name: (r.status, r.error) for r in results}
    assert status["solutions/2026-01-12.jsonl"] == (
        "failed", "unexpected error while loading (RuntimeError: injected fault)"
    )
    assert {name for name, (s, _) in status.items() if s == "loaded"} == {
        f"referrals/{SNAPSHOT}.jsonl", f"solutions/{SNAPSHOT}.jsonl",
        f"marketplace_traffic/{SNAPSHOT}.csv",
    }
    # nothing of the failed file stays; the others' rows do
    assert con.execute("select id from raw.solution_snapshots").fetchall() == [("SOL-1-IPC",)]
    assert con.execute("select count(*) from raw.referral_snapshots").fetchone() == (1,)
    # the next load is not blocked: the fixed loader loads the file once it changes
    monkeypatch.undo()
    path = raw_dir / "solutions" / "2026-01-12.jsonl"
    path.write_bytes(path.read_bytes() + b"\n")
    changed = loader.changed_files(con, landing.discover(raw_dir).files)
    assert [f.file_name for f in changed] == ["solutions/2026-01-12.jsonl"]
    [again] = loader.load_files(con, changed)
    assert (again.status, again.records_loaded) == ("loaded", 1)


def test_permission_denied_fails_only_its_file(raw_dir, monkeypatch):
    """As root chmod cannot deny a read, so the open itself is made to fail as it would."""
    _three_sources(raw_dir)
    real_open = readers.open_binary

    def guarded(path):
        if path.name == "2026-01-12.jsonl":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path)

    monkeypatch.setattr(readers, "open_binary", guarded)
    con, results = load_dir(raw_dir)
    [failed] = [r for r in results if r.status == "failed"]
    assert failed.file_name == "solutions/2026-01-12.jsonl"
    assert "permission denied" in failed.error
    assert sum(r.records_loaded for r in results) == 3
