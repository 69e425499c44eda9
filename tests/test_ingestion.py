"""Landing zone → raw schema: every bad-record rule of raw-contract.md section 4, idempotence,
re-landing, unreadable files."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import duckdb
import orjson
import pytest

from orchestration.ingestion import landing, loader
from tests.conftest import referral, solution, write_csv, write_jsonl

SNAPSHOT = "2026-01-05"
D_START = __import__("datetime").date(2026, 1, 5)


def load_dir(raw_dir: Path, con: duckdb.DuckDBPyConnection | None = None):
    con = con or duckdb.connect()
    results = loader.load_files(con, landing.discover(raw_dir).files)
    return con, results


def quarantine(con) -> list[tuple]:
    return con.execute(
        "select source, file_name, line_number, field, reason from raw.quarantine order by all"
    ).fetchall()


def without(record: dict, *path: str) -> dict:
    target = record
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return record


def with_registration(**changes) -> dict:
    record = referral(id="ref-bad")
    record["registrations"][0].update(changes)
    return record


# (bad line, field named in quarantine, words in the reason)
REFERRAL_CASES = {
    "invalid json": (b'{"id": "ref-bad",', None, "not valid JSON"),
    "not an object": (b"[1, 2, 3]", None, "not a JSON object"),
    "invalid utf-8": (b'{"id": "ref-\xff"}', None, "not valid UTF-8"),
    "missing required": (without(referral(), "id"), "id", "required field missing"),
    "null required": (referral(id="ref-bad", organizationId=None), "organizationId", "missing or null"),
    "wrong type required": (referral(id="ref-bad", createdDateTime=20260102), "createdDateTime", "wrong type"),
    "enum outside list": (referral(id="ref-bad", status="Open"), "status", "not in"),
    "optional enum outside list": (with_registration(status="Granted"), "registrations[0].status", "not in"),
    "status/substatus mismatch": (referral(id="ref-bad", status="New", substatus="Won"), "substatus", "does not allow"),
    "timestamp does not parse": (referral(id="ref-bad", acceptedDateTime="next tuesday"), "acceptedDateTime", "does not parse"),
    "happened timestamp in the future": (
        referral(id="ref-bad", updatedDateTime="2026-01-06T00:00:00Z"), "updatedDateTime", "after the end of snapshot date 2026-01-05"),
    "future approval": (
        with_registration(statusHistory={"approvedDateTime": "2026-02-01T00:00:00Z"}),
        "registrations[0].statusHistory.approvedDateTime", "after the end"),
    "accepted before created": (
        referral(id="ref-bad", acceptedDateTime="2026-01-01T00:00:00Z"), "acceptedDateTime", "earlier than createdDateTime"),
    "closed before created": (
        referral(id="ref-bad", status="Closed", substatus="Lost", closedDateTime="2026-01-01T23:59:59Z"),
        "closedDateTime", "earlier than createdDateTime"),
    "negative deal value": (referral(id="ref-bad", details={"dealValue": -1, "currency": "USD"}), "details.dealValue", "negative"),
    "deal value not a number": (referral(id="ref-bad", details={"dealValue": "1000", "currency": "USD"}), "details.dealValue", "not a number"),
    "deal value without currency": (referral(id="ref-bad", details={"dealValue": 10}), "details.currency", "3-letter currency"),
}


@pytest.mark.parametrize("case", REFERRAL_CASES, ids=list(REFERRAL_CASES))
def test_bad_referral_is_quarantined_and_good_lines_load(raw_dir, case):
    bad, field, reason = REFERRAL_CASES[case]
    write_jsonl(raw_dir / "referrals" / f"{SNAPSHOT}.jsonl", [referral(id="ref-1"), bad, referral(id="ref-2")])
    con, [result] = load_dir(raw_dir)

    rows = quarantine(con)
    assert len(rows) == 1, rows
    source, file_name, line, got_field, got_reason = rows[0]
    assert (source, file_name, line, got_field) == ("referrals", f"referrals/{SNAPSHOT}.jsonl", 2, field)
    assert reason in got_reason
    ids = con.execute("select id, line_number from raw.referral_snapshots order by line_number").fetchall()
    assert ids == [("ref-1", 1), ("ref-2", 3)]
    assert (result.records_loaded, result.records_quarantined, result.status) == (2, 1, "loaded")
    # the quarantined record keeps its raw text (invalid UTF-8 bytes escaped as \\xNN)
    raw = con.execute("select raw_record from raw.quarantine").fetchone()[0]
    expected = bad if isinstance(bad, bytes) else orjson.dumps(bad)
    assert raw == expected.decode("utf-8", "backslashreplace")


def test_tolerated_values_load(raw_dir):
    """Deadlines may lie in the future, an optional field of the wrong type reads as absent,
    offsets are converted to UTC, blank lines are not records."""
    record = referral(
        organizationName=42,
        expirationDateTime="2026-03-01T00:00:00Z",
        createdDateTime="2026-01-02T10:00:00+02:00",
        acceptedDateTime="2026-01-02T08:00:00",  # naive = UTC
        details={"dealValue": 5.5, "currency": "GBP", "closingDateTime": "2027-01-01T00:00:00Z"},
    )
    write_jsonl(raw_dir / "referrals" / f"{SNAPSHOT}.jsonl", [record, "", "   "])
    con, [result] = load_dir(raw_dir)
    assert quarantine(con) == []
    row = con.execute(
        "select organization_name, cast(created_date_time as varchar), cast(accepted_date_time as varchar), "
        "deal_value, customer_country from raw.referral_snapshots"
    ).fetchone()
    assert row == (None, "2026-01-02 08:00:00", "2026-01-02 08:00:00", 5.5, "NL")
    reg = con.execute(
        "select referral_id, registration_index, status, contract_value, cast(approved_date_time as varchar) "
        "from raw.referral_registrations"
    ).fetchall()
    assert reg == [("ref-1", 0, "Approved", 500.0, "2026-01-04 10:00:00")]


def test_list_form_lines_are_element_indexes(raw_dir):
    path = raw_dir / "referrals" / f"{SNAPSHOT}.jsonl"
    path.parent.mkdir()
    doc = {"value": [referral(id="a"), referral(id="b", status="Bogus"), referral(id="c")], "@odata.nextLink": None}
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    con, [result] = load_dir(raw_dir)
    assert con.execute("select id, line_number from raw.referral_snapshots order by 2").fetchall() == [("a", 1), ("c", 3)]
    assert [(r[2], r[3]) for r in quarantine(con)] == [(2, "status")]


SOLUTION_CASES = {
    "optional enum outside list": (solution(id="bad", solutionType="Robot"), "solutionType", "not in"),
    "required enum missing": (without(solution(id="bad"), "publishStatus"), "publishStatus", "missing"),
    "future update": (solution(id="bad", updatedDateTime="2026-01-07T00:00:00Z"), "updatedDateTime", "after the end"),
}


@pytest.mark.parametrize("case", SOLUTION_CASES, ids=list(SOLUTION_CASES))
def test_bad_solution_is_quarantined(raw_dir, case):
    bad, field, reason = SOLUTION_CASES[case]
    write_jsonl(raw_dir / "solutions" / f"{SNAPSHOT}.jsonl", [solution(), bad])
    con, _ = load_dir(raw_dir)
    [(source, _, line, got_field, got_reason)] = quarantine(con)
    assert (source, line, got_field) == ("solutions", 2, field) and reason in got_reason
    assert con.execute("select count(*) from raw.solution_snapshots").fetchone()[0] == 1


TRAFFIC_CASES = {
    "negative count": ("2026-01-04,org-a,offer-1,-5,1", "pageViews", "negative"),
    "non-integer count": ("2026-01-04,org-a,offer-1,10,0.5", "ctaClicks", "not an integer"),
    "future date": ("2026-01-06,org-a,offer-1,10,1", "date", "after the snapshot date"),
    "date does not parse": ("04/01/2026,org-a,offer-1,10,1", "date", "does not parse"),
    "wrong field count": ("2026-01-04,org-a,10,1", None, "not valid CSV"),
    "missing organization": ("2026-01-04,,offer-1,10,1", "organizationId", "missing"),
}


@pytest.mark.parametrize("case", TRAFFIC_CASES, ids=list(TRAFFIC_CASES))
def test_bad_traffic_row_is_quarantined(raw_dir, case):
    bad, field, reason = TRAFFIC_CASES[case]
    write_csv(raw_dir / "marketplace_traffic" / f"{SNAPSHOT}.csv", ["2026-01-03,org-a,offer-1,10,1", bad])
    con, _ = load_dir(raw_dir)
    [(source, _, line, got_field, got_reason)] = quarantine(con)
    # line 1 is the header: the bad row is line 3
    assert (source, line, got_field) == ("marketplace_traffic", 3, field) and reason in got_reason
    assert con.execute("select page_views from raw.marketplace_traffic").fetchall() == [(10,)]


def test_traffic_columns_are_matched_by_header_name(raw_dir):
    write_csv(
        raw_dir / "marketplace_traffic" / f"{SNAPSHOT}.csv",
        ["7,offer-1,2026-01-03,org-a,70"],
        header="ctaClicks,offerId,date,organizationId,pageViews",
    )
    con, _ = load_dir(raw_dir)
    assert con.execute(
        "select cast(date as varchar), organization_id, offer_id, page_views, cta_clicks from raw.marketplace_traffic"
    ).fetchall() == [("2026-01-03", "org-a", "offer-1", 70, 7)]


def _tables(con) -> dict[str, list[tuple]]:
    out = {}
    for table in ("referral_snapshots", "referral_registrations", "solution_snapshots", "marketplace_traffic", "quarantine"):
        out[table] = con.execute(f"select * exclude (ingested_at) from raw.{table} order by all").fetchall()
    return out


def _landing(raw_dir: Path) -> None:
    write_jsonl(raw_dir / "referrals" / f"{SNAPSHOT}.jsonl", [referral(), referral(id="ref-2", status="Nope")])
    write_jsonl(raw_dir / "solutions" / f"{SNAPSHOT}.jsonl", [solution()])
    write_csv(raw_dir / "marketplace_traffic" / f"{SNAPSHOT}.csv", ["2026-01-03,org-a,offer-1,10,1"])


def test_reingesting_the_same_files_gives_identical_tables(raw_dir):
    _landing(raw_dir)
    con, _ = load_dir(raw_dir)
    first = _tables(con)
    # force a reload of every file (a backfill), then reload only what changed (nothing)
    loader.load_files(con, landing.discover(raw_dir).files)
    assert _tables(con) == first
    assert loader.changed_files(con, landing.discover(raw_dir).files) == []
    assert sum(len(rows) for rows in first.values()) == 5


def test_relanded_file_replaces_rows_and_quarantine(raw_dir):
    _landing(raw_dir)
    con, _ = load_dir(raw_dir)
    assert len(quarantine(con)) == 1
    path = write_jsonl(raw_dir / "referrals" / f"{SNAPSHOT}.jsonl", [referral(), referral(id="ref-2")])
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    changed = loader.changed_files(con, landing.discover(raw_dir).files)
    assert [f.file_name for f in changed] == [f"referrals/{SNAPSHOT}.jsonl"]
    loader.load_files(con, changed)
    assert quarantine(con) == []
    assert con.execute("select id from raw.referral_snapshots order by 1").fetchall() == [("ref-1",), ("ref-2",)]
    # a re-landed referral file invalidates incrementally built history
    assert con.execute("select file_name, reason from raw.full_refresh_requests").fetchall() == [
        (f"referrals/{SNAPSHOT}.jsonl", "file re-landed")
    ]


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("2026-01-06.jsonl", b"", "file is empty"),
        ("2026-01-06.jsonl.gz", gzip.compress(b'{"id": "x"}\n' * 100)[:30], "truncated"),
        ("2026-01-06.jsonl", '{"id": "x"}\n'.encode("utf-16"), "not UTF-8"),
    ],
    ids=["empty", "truncated gzip", "utf-16"],
)
def test_unreadable_file_is_reported_and_others_load(raw_dir, name, content, reason):
    _landing(raw_dir)
    (raw_dir / "referrals" / name).write_bytes(content)
    con, results = load_dir(raw_dir)
    failed = [r for r in results if r.status == "failed"]
    assert [(r.file_name, reason in r.error) for r in failed] == [(f"referrals/{name}", True)]
    assert con.execute("select count(*) from raw.referral_snapshots").fetchone()[0] == 1
    assert con.execute(
        "select status, error is not null from raw.ingested_files where file_name = ?", [f"referrals/{name}"]
    ).fetchone() == ("failed", True)


def test_gzip_snapshot_loads_like_plain(raw_dir):
    records = [referral(id=f"r{i}") for i in range(5)]
    path = raw_dir / "referrals" / f"{SNAPSHOT}.jsonl.gz"
    path.parent.mkdir()
    path.write_bytes(gzip.compress(b"\n".join(orjson.dumps(r) for r in records)))
    con, [result] = load_dir(raw_dir)
    assert result.records_loaded == 5


def test_landing_ignores_other_names_and_refuses_symlinks(raw_dir, tmp_path):
    _landing(raw_dir)
    (raw_dir / "referrals" / "notes.txt").write_text("hi")
    (raw_dir / "referrals" / "2026-02-30.jsonl").write_text("{}")
    outside = write_jsonl(tmp_path / "outside.jsonl", [referral(id="secret")])
    (raw_dir / "referrals" / "2026-01-07.jsonl").symlink_to(outside)
    found = landing.discover(raw_dir)
    assert sorted(f.file_name for f in found.files) == [
        "marketplace_traffic/2026-01-05.csv", "referrals/2026-01-05.jsonl", "solutions/2026-01-05.jsonl"
    ]
    assert any("notes.txt" in w and "ignored" in w for w in found.warnings)
    assert any("2026-02-30.jsonl" in w for w in found.warnings)
    assert any("2026-01-07.jsonl" in w and "symlink refused" in w for w in found.warnings)


def test_a_load_killed_mid_file_is_rolled_back_and_reloaded(raw_dir, tmp_path, monkeypatch):
    _landing(raw_dir)
    warehouse = str(tmp_path / "wh.duckdb")
    con, _ = load_dir(raw_dir, duckdb.connect(warehouse))
    before = _tables(con)
    path = write_jsonl(raw_dir / "referrals" / f"{SNAPSHOT}.jsonl", [referral(id="new-1"), referral(id="new-2")])
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    changed = loader.changed_files(con, landing.discover(raw_dir).files)
    assert [f.file_name for f in changed] == [f"referrals/{SNAPSHOT}.jsonl"]

    def killed(*args, **kwargs):  # dies after the new rows were written, before the commit
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(loader, "_record_manifest", killed)
    with pytest.raises(KeyboardInterrupt):
        loader.load_files(con, changed)
    con.close()
    monkeypatch.undo()

    con = duckdb.connect(warehouse)  # the next run
    assert _tables(con) == before  # nothing of the half-done load is visible
    changed = loader.changed_files(con, landing.discover(raw_dir).files)
    assert [f.file_name for f in changed] == [f"referrals/{SNAPSHOT}.jsonl"]
    loader.load_files(con, changed)
    assert con.execute("select id from raw.referral_snapshots order by 1").fetchall() == [("new-1",), ("new-2",)]


ROOT = Path(__file__).resolve().parent.parent


def _manifest_matches_quarantine(raw: Path, con) -> dict:
    manifest = orjson.loads((raw / "generation_report.json").read_bytes())
    expected = {(b["source"], b["file"], b["line"], b["field"]) for b in manifest["bad_records"]}
    got = {row[:4] for row in quarantine(con)}
    assert got == expected
    return manifest


def test_sample_ingests_with_exactly_its_bad_records_quarantined():
    con, results = load_dir(ROOT / "data" / "sample")
    assert all(r.status == "loaded" for r in results) and len(results) == 119
    manifest = _manifest_matches_quarantine(ROOT / "data" / "sample", con)
    summary = manifest["summary"]
    counts = con.execute(
        "select (select count(*) from raw.referral_snapshots), (select count(*) from raw.solution_snapshots), "
        "(select count(*) from raw.marketplace_traffic)"
    ).fetchone()
    assert counts == (summary["referral_records"], summary["solution_records"], summary["traffic_rows"])


def test_every_generated_bad_record_rule_is_caught(tmp_path):
    """The generator cycles through its bad-record rules; ingestion quarantines each one exactly
    where the generator put it, and nothing else."""
    from synthetic.bad_records import BAD_RULES
    from synthetic.generator import generate

    generate(tmp_path / "raw", organizations=1, referrals=300, start=D_START, days=56, seed=7,
             bad_records=len(BAD_RULES))
    con, results = load_dir(tmp_path / "raw")
    manifest = _manifest_matches_quarantine(tmp_path / "raw", con)
    assert len({(b["rule"], b["field"]) for b in manifest["bad_records"]}) == len(BAD_RULES)
    assert sum(r.records_loaded for r in results) == sum(
        manifest["summary"][k] for k in ("referral_records", "solution_records", "traffic_rows")
    )


def test_crlf_line_endings_and_whitespace_only_lines(raw_dir):
    path = raw_dir / "referrals" / f"{SNAPSHOT}.jsonl"
    path.parent.mkdir()
    bad = referral(id="c", status="Nope")
    lines = [orjson.dumps(referral(id="a")), b" \t ", b"  " + orjson.dumps(referral(id="b")), orjson.dumps(bad), b""]
    path.write_bytes(b"\r\n".join(lines))
    con, [result] = load_dir(raw_dir)
    assert [(r[2], r[3]) for r in quarantine(con)] == [(4, "status")]
    assert con.execute("select id, line_number from raw.referral_snapshots order by 2").fetchall() == [("a", 1), ("b", 3)]
    # the quarantined text has no line terminator left (valid records' text is not kept)
    assert con.execute("select raw_record from raw.quarantine").fetchall() == [(orjson.dumps(bad).decode(),)]
